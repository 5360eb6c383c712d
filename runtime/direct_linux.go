package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"polc/backends/bwrap"
	"polc/diag"
)

// The direct launch: when the plan has at most bwrap.MaxDirectMasks
// masks, bwrap does everything the inner stage would (masks as its own
// mount operations, --cap-drop ALL, --seccomp; bwrap always sets
// no_new_privs) and runs the command itself, so a launch costs one
// process of polc instead of two. bwrap's own pid 1 reaps orphans; the
// command is its only child, pid 2 of the sandbox, and polc forwards
// signals to it on the host.
//
// The command's stderr is the caller's, so bwrap's own messages reach it
// directly. polc tells its failures apart without reading them:
//   - --json-status-fd writes {"exit-code": N} only once the command was
//     executed: its absence means bwrap failed before;
//   - --block-fd reads one byte polc wrote in advance once every mount
//     is made: a byte left unread means the setup failed (exit 125),
//     a byte read means exec did (exit 127, as the inner stage exits
//     when the command cannot be found).
//
// polc takes the direct launch only when it knows, from the plan, that
// the working directory and the command are there for the sandbox, so
// the inner stage's answers for a missing, hidden or non-executable
// command (127, 126 and its message) and an invisible working directory
// (125) stay exact: anything else goes through the inner stage.

// Descriptors of a direct launch, as bwrap sees them.
const (
	dfdArgs    = 3 // --args
	dfdSeccomp = 4 // --seccomp: the filter as struct sock_filter bytes
	dfdStatus  = 5 // --json-status-fd: child-pid, then exit-code once the command ran
	dfdBlock   = 6 // --block-fd: holds one byte; bwrap reads it when its mounts are made
	dfdMasks   = 7 // first of the empty files of --ro-bind-data masks
)

// StageEnv forces the inner stage when set to "inner" (tests run the
// conformance cases through both launches).
const StageEnv = "POLC_EXEC_STAGE"

// directLaunch decides whether a plan can be launched directly, and
// returns the working directory to give bwrap; why says otherwise.
func directLaunch(plan *bwrap.HostPlan, argv []string, dir string, environ []string) (chdir string, why string) {
	if os.Getenv(StageEnv) == "inner" {
		return "", StageEnv + "=inner"
	}
	if n := len(plan.Masks); n > bwrap.MaxDirectMasks {
		return "", fmt.Sprintf("%d masks (more than %d)", n, bwrap.MaxDirectMasks)
	}
	real := plan.Resolve(dir)
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() || !plan.Readable(real) {
		return "", "the working directory is not readable in the sandbox"
	}
	if !commandVisible(plan, argv[0], real, lookupEnv(environ, "PATH")) {
		return "", "the command is not plainly executable in the sandbox"
	}
	return real, ""
}

func lookupEnv(environ []string, key string) *string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return &v
		}
	}
	return nil
}

// commandVisible reports whether the command name resolves, as execvp
// resolves it inside the sandbox, to an executable regular file the
// sandbox sees as on the host. A candidate missing on the host is
// missing in the sandbox too (the sandbox shows host files or empty
// directories); any other doubt answers false.
func commandVisible(plan *bwrap.HostPlan, name, dir string, path *string) bool {
	var cands []string
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		cands = []string{name}
	} else {
		if path == nil || name == "" {
			return false // execvp's default path and Go's refusal differ
		}
		for _, d := range filepath.SplitList(*path) {
			if !filepath.IsAbs(d) {
				return false // "" and relative entries mean the working directory
			}
			cands = append(cands, filepath.Join(d, name))
		}
	}
	for _, c := range cands {
		var st unix.Stat_t
		if err := unix.Stat(c, &st); err != nil {
			if err == unix.ENOENT || err == unix.ENOTDIR {
				continue
			}
			return false
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG || !mayExec(&st) {
			return false
		}
		var fs unix.Statfs_t
		if err := unix.Statfs(c, &fs); err != nil || fs.Flags&unix.ST_NOEXEC != 0 {
			return false
		}
		return plan.Readable(plan.Resolve(c))
	}
	return false
}

// mayExec applies the owner, group or other execute bit for this
// process, without capabilities (the sandbox has none, root included).
func mayExec(st *unix.Stat_t) bool {
	switch {
	case st.Uid == uint32(os.Geteuid()):
		return st.Mode&0o100 != 0
	case inGroup(st.Gid):
		return st.Mode&0o010 != 0
	}
	return st.Mode&0o001 != 0
}

func inGroup(gid uint32) bool {
	if gid == uint32(os.Getegid()) {
		return true
	}
	groups, _ := os.Getgroups()
	for _, g := range groups {
		if uint32(g) == gid {
			return true
		}
	}
	return false
}

// runBwrapDirect runs the command as bwrap's own child (see above).
func runBwrapDirect(l *Launch, bin string, plan *bwrap.HostPlan, chdir string, environ []string) (int, error) {
	art := plan.Artifact
	filter, err := art.Seccomp.Bytes(goruntime.GOARCH)
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	args := bwrap.DirectNamespaceArgs(art)
	args = append(args, plan.Args...)
	maskArgs, nFiles := plan.MaskArgs(dfdMasks)
	args = append(args, maskArgs...)
	args = append(args,
		"--seccomp", strconv.Itoa(dfdSeccomp),
		"--json-status-fd", strconv.Itoa(dfdStatus),
		"--block-fd", strconv.Itoa(dfdBlock),
		"--chdir", chdir)
	debug := os.Getenv("POLC_DEBUG_BWRAP") != ""
	if debug {
		fmt.Fprintf(os.Stderr, "polc: direct launch: %s %s\n", bin, strings.Join(args, " "))
	}
	var buf bytes.Buffer
	for _, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return 0, failf(diag.LinuxSandboxSetup, "NUL byte in a sandbox argument %q", a)
		}
		buf.WriteString(a)
		buf.WriteByte(0)
	}
	// Every descriptor bwrap gets is closed here once it runs: the
	// deferred closes cover the failure paths.
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	argsFile, err := memfd("polc-bwrap-args", buf.Bytes())
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "creating the argument file: %v", err)
	}
	files = append(files, argsFile)
	filterFile, err := memfd("polc-seccomp", filter)
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "creating the seccomp file: %v", err)
	}
	files = append(files, filterFile)
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	defer statusR.Close()
	files = append(files, statusW)
	blockR, blockW, err := os.Pipe()
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	defer blockR.Close()
	_, err = blockW.Write([]byte{0})
	blockW.Close()
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	files = append(files, blockR)
	for i := 0; i < nFiles; i++ {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return 0, failf(diag.LinuxSandboxSetup, "opening %s for a mask: %v", os.DevNull, err)
		}
		files = append(files, f)
	}

	cmd := l.command(bin, append([]string{"--args", strconv.Itoa(dfdArgs), "--"}, l.Argv...), "", environ)
	cmd.Args[0] = "bwrap"
	cmd.ExtraFiles = files
	// bwrap gets its own process group, so that a terminal's ^C reaches
	// polc only, which forwards it to the command; and it dies with polc.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	sigs, release := catchSignals()
	defer release()
	err = cmd.Start()
	for _, f := range files {
		if f != blockR { // polc reads what is left in it
			f.Close()
		}
	}
	files = nil
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "starting %s: %v", bin, err)
	}

	type status struct {
		ran bool
	}
	pidCh := make(chan int, 1)
	statusCh := make(chan status, 1)
	go func() {
		// One JSON document a line: {"child-pid": N, ...namespaces},
		// then {"exit-code": N} once the command has run.
		var st status
		sc := bufio.NewScanner(statusR)
		first := true
		for sc.Scan() {
			if pid, ok := jsonInt(sc.Text(), "child-pid"); ok && first {
				first = false
				pidCh <- pid
			}
			if _, ok := jsonInt(sc.Text(), "exit-code"); ok {
				st.ran = true
			}
		}
		statusCh <- st
	}()
	waitCh := make(chan error, 1)
	go func() { waitCh <- cmd.Wait() }()

	// Signals go to the command itself, bwrap's pid 1's first child. One
	// that arrives before the command exists waits for it.
	// The command is held by a pidfd once found, so that a signal never
	// reaches another process that took its pid after it exited.
	init, pid, target := 0, 0, -1
	defer func() {
		if target >= 0 {
			unix.Close(target)
		}
	}()
	delivered := false
	var pending []syscall.Signal
	var retry <-chan time.Time
	deliver := func() {
		if target < 0 && pid == 0 && init > 0 {
			if pid = firstChild(init); pid > 0 {
				if fd, err := unix.PidfdOpen(pid, 0); err == nil {
					target = fd
				} else if err == unix.ESRCH {
					pid = 0 // gone already
				} // else no pidfds (Linux < 5.3): kill by pid
			}
		}
		if pid == 0 {
			retry = time.After(time.Millisecond)
			return
		}
		for _, s := range pending {
			if target >= 0 {
				unix.PidfdSendSignal(target, unix.Signal(s), nil, 0)
			} else {
				syscall.Kill(pid, s)
			}
			delivered = true
		}
		pending, retry = nil, nil
	}
	var werr error
loop:
	for {
		select {
		case init = <-pidCh:
			if len(pending) > 0 {
				deliver()
			}
		case s := <-sigs:
			pending = append(pending, s.(syscall.Signal))
			deliver()
		case <-retry:
			deliver()
		case werr = <-waitCh:
			break loop
		}
	}
	st := <-statusCh
	code := 0
	if werr != nil {
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			return 0, failf(diag.LinuxSandboxSetup, "waiting for bwrap: %v", werr)
		}
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			// bwrap itself was killed (by the OOM killer, say): report
			// it as a shell would, whatever the command had done.
			return 128 + int(ws.Signal()), nil
		}
		code = ws.ExitStatus()
	}
	if st.ran || (delivered && code > 128) {
		// A signal polc passed on may have reached the command's
		// process a moment before its exec: it died of it all the same.
		return code, nil
	}
	if n, err := unix.IoctlGetInt(int(blockR.Fd()), unix.TIOCINQ); err == nil && n == 0 {
		// Every mount was made: exec failed (bwrap said why above), as
		// when the ELF interpreter or a script's is not in the sandbox.
		return 127, nil
	}
	return 0, directSetupFailure(code)
}

// jsonInt finds "key": N in one of bwrap's status lines (flat objects
// of numbers it writes itself; encoding/json would cost its reflection
// in a cold process for two integers).
func jsonInt(line, key string) (int, bool) {
	i := strings.Index(line, `"`+key+`"`)
	if i < 0 {
		return 0, false
	}
	rest := strings.TrimLeft(line[i+len(key)+2:], " \t")
	rest, ok := strings.CutPrefix(rest, ":")
	if !ok {
		return 0, false
	}
	rest = strings.TrimLeft(rest, " \t")
	end := 0
	for end < len(rest) && (rest[end] == '-' || rest[end] >= '0' && rest[end] <= '9') {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	return n, err == nil
}

// firstChild is the oldest child of a host process (bwrap's pid 1 forks
// the command first; orphans it adopts come after), or 0.
func firstChild(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	n, _ := strconv.Atoi(f)
	return n
}

// directSetupFailure is the line for a direct launch whose bwrap failed
// before its mounts were made. bwrap's own message is already on the
// caller's stderr; polc adds its code and, when this host restricts
// unprivileged user namespaces, the fix.
func directSetupFailure(code int) error {
	for _, s := range []struct{ file, bad string }{
		{"/proc/sys/kernel/unprivileged_userns_clone", "0"},
		{"/proc/sys/user/max_user_namespaces", "0"},
		{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"},
	} {
		if b, err := os.ReadFile(s.file); err == nil && strings.TrimSpace(string(b)) == s.bad {
			return failf(diag.LinuxNoUserNS, "bubblewrap cannot create the sandbox's namespaces (%s is %s); enable unprivileged user namespaces: sysctl -w kernel.unprivileged_userns_clone=1 and user.max_user_namespaces=15000, or on Ubuntu 24.04+ sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or give bwrap an AppArmor profile)", s.file, s.bad)
		}
	}
	return failf(diag.LinuxSandboxSetup, "sandbox setup failed: bwrap exited %d before the command started (its message is above)", code)
}
