package shim

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"polc/internal/globwalk"
)

// WatchArg is argv[1] of a polc that is the watcher of a glob cache
// file, argv[2] (globwalk.ServeWatch): a launch on a large tree starts
// one, and the launches after it stat only the directories it names as
// changed instead of every directory of the tree.
const WatchArg = "__polc-watch"

// ServeWatch runs the watcher of the glob cache file, a file of polc's
// glob cache directory, until it stops; it returns polc's exit status.
// POLC_DEBUG_BWRAP set, it says why it stopped.
func ServeWatch(file string) int {
	s := loadHostState(nil)
	err := errors.New("no state key")
	if s.key != nil {
		err = globwalk.ServeWatch(s.globs, file, s.key)
	}
	if os.Getenv("POLC_DEBUG_BWRAP") != "" {
		fmt.Fprintf(os.Stderr, "polc: watcher of %s: %v\n", file, err)
	}
	return 1
}

// startWatcher starts the watcher of the glob cache file, which the
// plan's walk wants (bwrap.HostPlan.WatchDue) once the launch's check
// has passed, unless one was started or failed too recently
// (globwalk.ClaimWatch). It outlives polc by design: in a session of
// its own, with no descriptor of polc's (its output goes nowhere, so
// that a caller reading polc's output is not kept waiting), from /.
func (b *bwrapLaunch) startWatcher(file string) {
	if !globwalk.ClaimWatch(file) {
		return
	}
	cmd := exec.Command("/proc/self/exe", WatchArg, file)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Start()
	if b.debug != nil {
		if err != nil {
			fmt.Fprintf(b.debug, "polc: no watcher for %s: %v\n", file, err)
		} else {
			fmt.Fprintf(b.debug, "polc: watcher %d started for %s\n", cmd.Process.Pid, file)
		}
	}
	if err == nil {
		cmd.Process.Release()
	}
}
