package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	goruntime "runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"polc/backends/bwrap"
	"polc/seccomp"
)

// InnerArg is argv[1] of polc's inner stage: the process bwrap runs as
// pid 1 of the sandbox. cmd/polc checks for it before anything else.
const InnerArg = "__polc-sandbox-init"

// Descriptors the outer shim hands to bwrap and, through it, to the
// inner stage (exec.Cmd.ExtraFiles start at 3).
const (
	fdArgs   = 3 // bwrap --args
	fdExe    = 4 // polc's own executable, run as /proc/self/fd/4
	fdSpec   = 5 // innerSpec as JSON
	fdStatus = 6 // inner → outer: "ok" once the command is started, else an error line
	fdStderr = 7 // the caller's stderr, for the command (bwrap's goes to a pipe)
	fdInfo   = 8 // bwrap --info-fd: the sandbox's pid on the host
)

// innerSpec is what the inner stage does before the command runs.
type innerSpec struct {
	Masks   []bwrap.Mask `json:"masks"`
	Seccomp seccomp.Spec `json:"seccomp"`
	Dirs    []string     `json:"dirs"` // working directory candidates, in order
	Argv    []string     `json:"argv"`
}

// maskSource is the empty mode-000 file bound over denied files. It lives
// in the sandbox's own /dev tmpfs and is unlinked before the command runs.
const maskSource = "/dev/.polc-mask"

// InnerMain is the inner stage. It never returns.
func InnerMain() {
	// Capabilities, no_new_privs and seccomp are per thread: do them all
	// on this one and fork the command from it.
	goruntime.LockOSThread()
	t0 := time.Now()
	debug := os.Getenv("POLC_DEBUG_BWRAP") != ""
	mark := func(what string) {
		if debug {
			fmt.Fprintf(os.NewFile(fdStderr, "stderr"), "polc: inner %s at %v\n", what, time.Since(t0))
		}
	}
	status := os.NewFile(fdStatus, "status")
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		fmt.Fprintf(status, "err %s\n", msg)
		os.Exit(125)
	}
	for _, fd := range []int{fdArgs, fdExe, fdSpec, fdStatus, fdStderr, fdInfo} {
		unix.CloseOnExec(fd)
	}
	raw, err := io.ReadAll(os.NewFile(fdSpec, "spec"))
	if err != nil {
		fail("inner stage: reading its plan: %v", err)
	}
	var spec innerSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		fail("inner stage: decoding its plan: %v", err)
	}
	mark("spec read")
	if err := applyMasks(spec.Masks); err != nil {
		fail("%v", err)
	}
	mark("masked")
	if err := dropCaps(); err != nil {
		fail("%v", err)
	}
	if err := seccomp.InstallOnThread(spec.Seccomp); err != nil {
		fail("%v", err)
	}
	mark("seccomp")
	dir := ""
	for _, d := range spec.Dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dir = d
			break
		}
	}
	if dir == "" {
		fail("working directory %s is not visible inside the sandbox; grant it read access or choose another -C", spec.Dirs[0])
	}
	// A relative command (./build.sh) is relative to the working
	// directory, as in a shell started there.
	if err := os.Chdir(dir); err != nil {
		fail("entering %s: %v", dir, err)
	}
	path := spec.Argv[0]
	if lp, err := exec.LookPath(path); err == nil {
		path = lp
	} else {
		fmt.Fprintf(os.NewFile(fdStderr, "stderr"), "polc: %s: %v\n", spec.Argv[0], err)
		status.WriteString("ok\n")
		if errors.Is(err, fs.ErrPermission) { // found but not executable, as a shell says
			os.Exit(126)
		}
		os.Exit(127)
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCONT)
	attr := &syscall.ProcAttr{Dir: dir, Env: os.Environ(), Files: []uintptr{0, 1, fdStderr}}
	pid, err := syscall.ForkExec(path, spec.Argv, attr)
	if err == syscall.ENOEXEC {
		// A file the kernel cannot run (a script without #!) runs under
		// /bin/sh, as POSIX execvp does, and as bwrap runs it in the
		// direct launch.
		pid, err = syscall.ForkExec("/bin/sh", append([]string{"/bin/sh", path}, spec.Argv[1:]...), attr)
	}
	if err != nil {
		fmt.Fprintf(os.NewFile(fdStderr, "stderr"), "polc: %s: %v\n", spec.Argv[0], err)
		status.WriteString("ok\n")
		if err == syscall.EACCES {
			os.Exit(126)
		}
		os.Exit(127)
	}
	mark("forked")
	status.WriteString("ok\n")
	status.Close()
	go func() {
		for s := range sigs {
			syscall.Kill(pid, s.(syscall.Signal))
		}
	}()
	// As pid 1, reap every orphan; leave when the command itself exits
	// (the pid namespace, and everything left in it, goes with us).
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			os.Exit(125)
		}
		if got != pid {
			continue
		}
		switch {
		case ws.Exited():
			os.Exit(ws.ExitStatus())
		case ws.Signaled():
			os.Exit(128 + int(ws.Signal()))
		}
	}
}

// applyMasks hides denied files and deny-glob matches with direct mount
// calls: an empty mode-000 file bound read-only over a file, an empty
// mode-000 tmpfs remounted read-only over a directory.
func applyMasks(masks []bwrap.Mask) error {
	if len(masks) == 0 {
		return nil
	}
	const ro = unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	haveSource := false
	defer func() {
		if haveSource {
			os.Remove(maskSource)
		}
	}()
	for _, m := range masks {
		var st unix.Stat_t
		if err := unix.Lstat(m.Path, &st); err != nil {
			if err == unix.ENOENT {
				continue // gone since the scan: nothing left to hide
			}
			return fmt.Errorf("masking %s: %v", m.Path, err)
		}
		if m.Dir {
			if err := unix.Mount("tmpfs", m.Path, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=000,size=4k"); err != nil {
				return fmt.Errorf("masking directory %s: %v", m.Path, err)
			}
		} else {
			if !haveSource {
				f, err := os.OpenFile(maskSource, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0)
				if err != nil {
					return fmt.Errorf("creating the mask file: %v", err)
				}
				f.Close()
				if err := os.Chmod(maskSource, 0); err != nil {
					return fmt.Errorf("creating the mask file: %v", err)
				}
				haveSource = true
			}
			if err := unix.Mount(maskSource, m.Path, "", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("masking %s: %v", m.Path, err)
			}
		}
		if err := unix.Mount("", m.Path, "", ro, ""); err != nil {
			return fmt.Errorf("making the mask on %s read-only: %v", m.Path, err)
		}
	}
	return nil
}

// dropCaps clears every capability of this thread (ambient included),
// then checks that none is left, as the reference's inner stage does.
func dropCaps() error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clearing ambient capabilities: %v", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("dropping capabilities: %v", err)
	}
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("checking capabilities: %v", err)
	}
	for _, d := range data {
		if d.Effective != 0 || d.Permitted != 0 || d.Inheritable != 0 {
			return fmt.Errorf("sandbox kept capabilities after dropping them")
		}
	}
	return nil
}
