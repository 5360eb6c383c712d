package shim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"polc/backends/bwrap"
	"polc/diag"
	"polc/internal/hugeheap"
	"polc/internal/hugetext"
	"polc/internal/maskstage"
	"polc/internal/memfd"
	"polc/internal/sockexec"
)

// One launch under bubblewrap, in two steps: prepare builds bwrap's
// arguments and descriptors, supervise runs it, forwards signals and
// decodes how it ended. Both launches share them; they differ in who
// applies the masks:
//
//   - the direct launch: bwrap makes every mount, masks included
//     (--ro-bind-data, --tmpfs), and runs the command itself;
//   - the mask stage (package maskstage): bwrap runs polc's own executable
//     as pid 1 with CAP_SYS_ADMIN, which masks with direct mount calls
//     (cheap where bwrap's are dear), makes itself undumpable, drops
//     every capability and forks the command.
//
// Either way pid 1 (bwrap's, or the stage) reaps orphans and the command
// is its first child (pid 2): bwrap loads the seccomp filter (--seccomp)
// into both, the command has no capability (--cap-drop ALL), no_new_privs
// is set, and polc forwards signals to the command on the host.
//
// polc tells its failures apart without reading bwrap's messages (the
// command's stderr is the caller's, so they reach it directly):
//   - --json-status-fd writes {"exit-code": N} only once bwrap's child
//     was executed: its absence means bwrap failed before;
//   - --block-fd reads one byte polc wrote in advance once every mount
//     is made: a byte left unread means the setup failed (exit 125),
//     a byte read means exec did (exit 127, as a shell says when the
//     command cannot be found);
//   - the mask stage says "ok" on its own status descriptor just before
//     it looks the command up and forks it, or "err MSG" when it could
//     not make the sandbox.

// Descriptors every launch gives bwrap (exec.Cmd.ExtraFiles start at 3).
const (
	fdArgs    = 3                 // --args
	fdSeccomp = 4                 // --seccomp: the filter as struct sock_filter bytes
	fdStatus  = 5                 // --json-status-fd: child-pid, then exit-code once the command ran
	fdBlock   = 6                 // --block-fd: holds one byte; bwrap reads it when its mounts are made
	fdFirst   = maskstage.FdFirst // the direct launch's sync and mask files, or the mask stage's descriptors
)

// The direct launch's check point: bwrap's last setup operation is
// --file fdSync /dev/null, which reads fdSync to its end (and writes it
// to the sandbox's /dev/null: nothing). polc puts one byte in a pipe of
// one buffer, so that the pipe is full, and polls it for room: there is
// room once bwrap has read the byte, every mount before it made, and
// bwrap then waits for the end of the data, which polc gives (closing
// the pipe) once the guards are checked (guard_linux.go).
const fdSync = fdFirst

// bwrapLaunch is one prepared run of bubblewrap.
type bwrapLaunch struct {
	cmd *exec.Cmd
	// files are bwrap's descriptors; closed here once it runs.
	files []*os.File
	// statusR reads --json-status-fd; blockR is --block-fd's read end
	// (polc looks at what is left in it); innerR reads the mask stage's
	// status (nil in a direct launch).
	statusR, blockR, innerR *os.File
	// release lets the setup go on once the guards are checked: the
	// direct launch's sync pipe, or the mask stage's go pipe (nil when
	// the plan has no guard).
	release *os.File
	plan    *bwrap.HostPlan
	// route is the proxy-only network's egress proxy (nil otherwise).
	route   *netRoute
	started time.Time // when the launch was prepared
	stage   bool
	debug   io.Writer
	// prime starts primeNow once the command runs (primeText); primed
	// carries its result.
	prime   sync.Once
	priming bool
	primed  chan primeResult
}

// close releases every descriptor polc still holds.
func (b *bwrapLaunch) close() {
	for _, f := range append(b.files, b.statusR, b.blockR, b.innerR, b.release) {
		if f != nil {
			f.Close()
		}
	}
	b.files = nil
	b.route.close()
	b.route = nil
}

// launch runs l under the plan. With stage unset bwrap applies the
// masks and runs l.Argv in chdir; with stage set the mask stage does,
// in the first of dirs that the sandbox shows.
func launch(l *Launch, bin string, plan *bwrap.HostPlan, stage bool, chdir string, dirs []string, environ []string) (int, error) {
	b, err := prepare(l, bin, plan, stage, chdir, dirs, environ)
	if b != nil {
		defer b.close()
	}
	if err != nil {
		return 0, err
	}
	return b.supervise()
}

// prepare builds bwrap's command: its arguments (through --args), the
// seccomp filter, the status and block descriptors, and the masks (the
// direct launch) or the mask stage's executable, plan and status.
func prepare(l *Launch, bin string, plan *bwrap.HostPlan, stage bool, chdir string, dirs []string, environ []string) (*bwrapLaunch, error) {
	art := plan.Artifact
	b := &bwrapLaunch{debug: l.Debug, plan: plan, stage: stage, started: time.Now()}
	check := plan.NeedsCheck()
	filter, err := art.Seccomp.Bytes(runtime.GOARCH)
	if err != nil {
		return b, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	first := fdFirst
	if check && !stage {
		first = fdSync + 1
	}
	args, nMaskFiles := plan.LaunchArgs(stage, first)
	if check && !stage {
		if !art.Dev {
			return b, failf(diag.LinuxSandboxSetup, "cannot check the sandbox's masks before the command starts: the plan has no /dev")
		}
		args = append(args, "--file", strconv.Itoa(fdSync), "/dev/null")
	}
	args = append(args,
		"--seccomp", strconv.Itoa(fdSeccomp),
		"--json-status-fd", strconv.Itoa(fdStatus),
		"--block-fd", strconv.Itoa(fdBlock))
	if chdir != "" {
		args = append(args, "--chdir", chdir)
	}
	if b.debug != nil {
		if stage {
			fmt.Fprintf(b.debug, "polc: mask stage: %s %s (%d masks)\n", bin, strings.Join(args, " "), len(plan.Masks))
			for _, m := range plan.Masks {
				fmt.Fprintf(b.debug, "polc: mask %s\n", m.Path)
			}
		} else {
			fmt.Fprintf(b.debug, "polc: direct launch: %s %s\n", bin, strings.Join(args, " "))
		}
	}
	var buf bytes.Buffer
	for _, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return b, failf(diag.LinuxSandboxSetup, "NUL byte in a sandbox argument %q", a)
		}
		buf.WriteString(a)
		buf.WriteByte(0)
	}
	argsFile, err := memfd.Sealed("polc-bwrap-args", buf.Bytes(), false)
	if err != nil {
		return b, failf(diag.LinuxSandboxSetup, "creating the argument file: %v", err)
	}
	b.files = append(b.files, argsFile)
	filterFile, err := memfd.Sealed("polc-seccomp", filter, false)
	if err != nil {
		return b, failf(diag.LinuxSandboxSetup, "creating the seccomp file: %v", err)
	}
	b.files = append(b.files, filterFile)
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return b, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	b.statusR = statusR
	b.files = append(b.files, statusW)
	blockR, blockW, err := os.Pipe()
	if err != nil {
		return b, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	b.blockR = blockR
	_, err = blockW.Write([]byte{0})
	blockW.Close()
	if err != nil {
		return b, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	// bwrap gets a descriptor of its own for the block pipe: polc keeps
	// blockR to look at what is left in it.
	blockDup, err := dupFile(blockR)
	if err != nil {
		return b, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	b.files = append(b.files, blockDup)
	argv := l.Argv
	if stage {
		exe, err := os.Open("/proc/self/exe")
		if err != nil {
			return b, failf(diag.LinuxSandboxSetup, "opening polc's own executable: %v", err)
		}
		b.files = append(b.files, exe)
		is := maskstage.Spec{Masks: plan.Masks, Dirs: dirs, Argv: l.Argv, Check: check}
		if art.Proxy != nil {
			is.Bridge = &maskstage.Bridge{Sockets: proxySockets(art.Proxy)}
		}
		spec, err := json.Marshal(is)
		if err != nil {
			return b, failf(diag.LinuxSandboxSetup, "%v", err)
		}
		specFile, err := memfd.Sealed("polc-mask-plan", spec, false)
		if err != nil {
			return b, failf(diag.LinuxSandboxSetup, "creating the mask plan: %v", err)
		}
		b.files = append(b.files, specFile)
		innerR, innerW, err := os.Pipe()
		if err != nil {
			return b, failf(diag.LinuxSandboxSetup, "%v", err)
		}
		b.innerR = innerR
		b.files = append(b.files, innerW)
		goR, goW, err := os.Pipe()
		if err != nil {
			return b, failf(diag.LinuxSandboxSetup, "%v", err)
		}
		b.files = append(b.files, goR)
		if check {
			b.release = goW
		} else {
			goW.Write([]byte{1})
			goW.Close()
		}
		if art.Proxy != nil {
			// Last: maskstage.FdBridge. The proxy starts before the sandbox: if
			// it cannot, nothing runs.
			if b.route, err = startNetRoute(art, l.Network, l.Stderr, l.NetLog); err != nil {
				return b, err
			}
			b.files = append(b.files, b.route.child)
			b.route.child = nil
		}
		argv = []string{fmt.Sprintf("/proc/self/fd/%d", maskstage.FdExe), maskstage.Arg}
	} else {
		if check {
			syncR, syncW, err := os.Pipe()
			if err != nil {
				return b, failf(diag.LinuxSandboxSetup, "%v", err)
			}
			b.files = append(b.files, syncR)
			b.release = syncW
			// Through Control, not Fd: the pipe stays non-blocking, so
			// that waiting for bwrap takes the runtime's poller, not a
			// thread of its own.
			var serr error
			if rc, err := syncW.SyscallConn(); err != nil {
				serr = err
			} else if err := rc.Control(func(fd uintptr) {
				_, serr = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, os.Getpagesize())
			}); err != nil {
				serr = err
			}
			if serr != nil {
				return b, failf(diag.LinuxSandboxSetup, "sizing the sync pipe: %v", serr)
			}
			if _, err := syncW.Write([]byte{0}); err != nil {
				return b, failf(diag.LinuxSandboxSetup, "%v", err)
			}
		}
		for i := 0; i < nMaskFiles; i++ {
			// A plain descriptor: os.Open would try the poller with each.
			fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return b, failf(diag.LinuxSandboxSetup, "opening %s for a mask: %v", os.DevNull, err)
			}
			b.files = append(b.files, os.NewFile(uintptr(fd), os.DevNull))
		}
		if art.Proxy != nil {
			// Last: sockexec's program and its end of the socketpair.
			if argv, err = b.sockexecArgv(l, chdir, environ); err != nil {
				return b, err
			}
		}
	}
	b.cmd = l.command(bin, append([]string{"--args", strconv.Itoa(fdArgs), "--"}, argv...), "", environ)
	b.cmd.Args[0] = "bwrap"
	if stage && len(dirs) > 0 {
		// bwrap starts in its own working directory where the sandbox
		// shows it; the stage then enters the first of dirs.
		b.cmd.Dir = dirs[0]
	}
	b.cmd.ExtraFiles = b.files
	// bwrap gets its own process group, so that a terminal's ^C reaches
	// polc only, which forwards it to the command; and it dies with polc.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return b, nil
}

// proxySockets is how many listeners a proxy route has: HTTP, and
// SOCKS5 when it is on.
func proxySockets(r *bwrap.ProxyRoute) int {
	if r.SOCKSPort != 0 {
		return 2
	}
	return 1
}

// sockexecArgv starts the proxy of a direct launch and returns what bwrap
// runs: sockexec's program, which makes the proxy's sockets in the
// sandbox, hands them to polc and execs the command where bwrap itself
// would (directLaunch checked that the command is plainly there).
func (b *bwrapLaunch) sockexecArgv(l *Launch, chdir string, environ []string) ([]string, error) {
	art := b.plan.Artifact
	path, ok := commandPath(b.plan, l.Argv[0], chdir, lookupEnv(environ, "PATH"))
	if !ok {
		return nil, failf(diag.LinuxSandboxSetup, "%s: not plainly executable in the sandbox", l.Argv[0])
	}
	self := 3 + len(b.files)
	prog, err := sockexec.Program(runtime.GOARCH, proxySockets(art.Proxy), self+1, self)
	if err != nil {
		return nil, failf(diag.LinuxNetworkRoute, "%v", err)
	}
	exe, err := memfd.Sealed("polc-sockexec", prog, true)
	if err != nil {
		return nil, failf(diag.LinuxNetworkRoute, "the proxy's first process: %v", err)
	}
	b.files = append(b.files, exe)
	// The proxy starts before the sandbox: if it cannot, nothing runs.
	if b.route, err = startNetRoute(art, l.Network, l.Stderr, l.NetLog); err != nil {
		return nil, err
	}
	b.files = append(b.files, b.route.child)
	b.route.child = nil
	return append([]string{fmt.Sprintf("/proc/self/fd/%d", self), path}, l.Argv...), nil
}

// dupFile is a second descriptor of f, close-on-exec in polc.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// supervise runs the prepared bwrap, forwards signals to the command,
// and returns its exit status, or polc's failure to run it.
func (b *bwrapLaunch) supervise() (int, error) {
	sigs, release := catchSignals()
	defer release()
	err := b.cmd.Start()
	for _, f := range b.files {
		f.Close()
	}
	b.files = nil
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "starting %s: %v", b.cmd.Path, err)
	}
	b.primed = make(chan primeResult, 1)
	// ready fires once the sandbox's mounts are made and its setup
	// waits for polc to check the guards.
	ready := make(chan bool, 1)
	inner := make(chan string, 1)
	switch {
	case b.innerR != nil:
		go func() {
			// "masked" (when the plan has guards), then "ok" or "err MSG".
			r := bufio.NewReader(b.innerR)
			line, _ := r.ReadString('\n')
			if line == "masked\n" {
				ready <- true
				line = ""
			}
			rest, _ := io.ReadAll(r)
			inner <- line + string(rest)
			b.primeText() // the stage, a polc, has run the command or ended
		}()
	case b.release != nil:
		inner <- ""
		go func() { ready <- waitRoom(b.release) }()
	default:
		inner <- ""
		b.primeText()
	}
	pidCh := make(chan int, 1)
	ranCh := make(chan bool, 1)
	go func() {
		// One JSON document a line: {"child-pid": N, ...namespaces},
		// then {"exit-code": N} once the command has run.
		ran, first := false, true
		sc := bufio.NewScanner(b.statusR)
		for sc.Scan() {
			if pid, ok := jsonInt(sc.Text(), "child-pid"); ok && first {
				first = false
				pidCh <- pid
			}
			if _, ok := jsonInt(sc.Text(), "exit-code"); ok {
				ran = true
			}
		}
		ranCh <- ran
	}()
	waitCh := make(chan error, 1)
	go func() {
		waitExit(b.cmd.Process.Pid)
		waitCh <- b.cmd.Wait()
	}()

	fw := forwarder{target: -1}
	defer fw.close()
	var werr error
	var race error
	verified := false // the plan's check passed
loop:
	for {
		select {
		case fw.init = <-pidCh:
			if len(fw.pending) > 0 {
				fw.deliver()
			}
		case ok := <-ready:
			if !ok {
				continue // bwrap closed the pipe: it failed, and its exit says how
			}
			if fw.init == 0 {
				fw.init = <-pidCh
			}
			if race = b.check(fw.init); race != nil {
				syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
				continue
			}
			if b.stage {
				b.release.Write([]byte{1})
			}
			b.release.Close()
			b.release = nil
			verified = true
			if b.innerR == nil {
				b.primeText()
			}
		case s := <-sigs:
			fw.pending = append(fw.pending, s.(syscall.Signal))
			fw.deliver()
		case <-fw.retry:
			fw.deliver()
		case werr = <-waitCh:
			break loop
		}
	}
	ran := <-ranCh
	said := <-inner
	b.prime.Do(func() {}) // when it has not started, it will not now
	watch, wantWatch := "", false
	if verified {
		watch, wantWatch = b.plan.WatchDue()
	}
	if b.priming && (b.debug != nil || b.stage || wantWatch) {
		r := <-b.primed
		if b.stage && errors.Is(r.err, hugetext.ErrShared) {
			// The stage, a polc, mapped the executable while the
			// command ran; with bwrap gone, so is it.
			r = primeNow()
		}
		if b.debug != nil {
			fmt.Fprintln(b.debug, r)
			fmt.Fprintln(b.debug, heapReport())
		}
		if wantWatch && r.err == nil {
			// The primer needs polc's executable mapped by no one
			// when it starts; a watcher would map it for as long as it
			// runs. A later launch starts the watcher.
			wantWatch = false
		}
	}
	if wantWatch {
		b.startWatcher(watch)
	}
	if race != nil {
		removeCreated(b.plan.Guards, b.started)
		return 0, race
	}
	code, signaled, ok := exitCode(werr)
	if !ok {
		return 0, failf(diag.LinuxSandboxSetup, "waiting for bwrap: %v", werr)
	}
	if signaled {
		// bwrap itself was killed (by the OOM killer, say): report it as
		// a shell would, whatever the command had done.
		return code, nil
	}
	if b.route != nil {
		// The command starts only once polc listens in the sandbox.
		rerr, ended := b.route.failure()
		switch {
		case rerr != nil && !ended:
			return 0, failf(diag.LinuxNetworkRoute, "the proxy's listeners in the sandbox: %v", rerr)
		case rerr != nil && b.innerR == nil && ran && !(fw.delivered && code > 128):
			return 0, failf(diag.LinuxNetworkRoute, "the sandbox's first process ended (exit %d) before it made the proxy's sockets", code)
		}
	}
	if msg, failed := strings.CutPrefix(strings.TrimSpace(said), "err "); failed {
		return 0, failf(diag.LinuxSandboxSetup, "%s", msg)
	}
	if b.innerR != nil {
		switch {
		case strings.HasPrefix(said, "ok"):
			return code, nil // the command's status, or 126/127 from the lookup
		case fw.delivered && code > 128:
			return code, nil // a forwarded signal ended the stage before the command
		case ran:
			return 0, failf(diag.LinuxSandboxSetup, "sandbox setup failed: polc's mask stage exited %d without a word", code)
		}
		return 0, directSetupFailure(b.plan.Artifact, b.cmd.Path, code)
	}
	if ran || (fw.delivered && code > 128) {
		// A signal polc passed on may have reached the command's process
		// a moment before its exec: it died of it all the same.
		return code, nil
	}
	if n, err := unix.IoctlGetInt(int(b.blockR.Fd()), unix.TIOCINQ); err == nil && n == 0 {
		// Every mount was made: exec failed (bwrap said why above), as
		// when the ELF interpreter or a script's is not in the sandbox.
		return 127, nil
	}
	return 0, directSetupFailure(b.plan.Artifact, b.cmd.Path, code)
}

// waitExit waits, on the runtime's poller, until the child pid (not yet
// reaped, so the pid is still its) has exited; Wait then returns at
// once, where it would hold a thread in waitid the whole launch. On any
// error it returns at once, and Wait waits as usual.
func waitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd") // non-blocking: the poller watches it
	defer f.Close()
	pollWait(f, unix.POLLIN)
}

// waitRoom waits until the pipe f (its write end) has room, which is
// bwrap reading the byte that filled it, and reports whether it has, not
// an error or the read end's close.
func waitRoom(f *os.File) bool {
	revents, err := pollWait(f, unix.POLLOUT)
	return err == nil && revents&unix.POLLOUT != 0 && revents&(unix.POLLERR|unix.POLLHUP) == 0
}

// pollWait waits until f's descriptor reports events (or an error or a
// hang-up), on the runtime's poller rather than in poll(2) on a thread
// of its own (f must be non-blocking), and returns what poll(2) said.
func pollWait(f *os.File, events int16) (int16, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	wait := rc.Read
	if events&unix.POLLOUT != 0 {
		wait = rc.Write
	}
	var revents int16
	err = wait(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR || (err == nil && n == 0) {
			return false // not yet: wait for the poller
		}
		revents = fds[0].Revents
		if err != nil {
			revents = unix.POLLERR
		}
		return true
	})
	return revents, err
}

// primeText starts, once, the check of how polc's own executable is
// mapped and, when the page cache holds it in small folios, the primer
// that reads it back in huge ones once polc has exited (package
// hugetext). It runs while the command does; a direct launch never
// waits for it. In a launch through the mask stage, which is a polc
// mapping the executable until bwrap exits, supervise checks again then.
func (b *bwrapLaunch) primeText() {
	b.prime.Do(func() {
		b.priming = true
		go func() { b.primed <- primeNow() }()
	})
}

// primeResult is what primeNow found and did.
type primeResult struct {
	s   hugetext.State
	pid int // the primer's, or 0
	err error
}

// primeNow starts the primer if it is due (hugetext.Due).
func primeNow() primeResult {
	r := primeResult{}
	r.s, r.err = hugetext.Due(cacheDir("hugetext"))
	if r.err == nil {
		r.pid, r.err = startPrimer(r.s)
	}
	return r
}

// startPrimer starts hugetext's primer for polc's executable, whose
// State is s, and returns its pid. polc does not wait for it: it
// outlives polc by design.
func startPrimer(s hugetext.State) (int, error) {
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	defer exe.Close()
	// polc keeps the primer's pipe open until it exits, which is the
	// primer's signal to start.
	p, _, err := hugetext.Start(exe, s.Size, s.Offsets(hugetext.MaxRanges))
	if err != nil {
		return 0, err
	}
	return p.Pid, nil
}

func (r primeResult) String() string {
	switch {
	case hugetext.IsDone(r.err):
		return fmt.Sprintf("polc: own code: %v", r.s)
	case r.err != nil:
		return fmt.Sprintf("polc: own code: %v; no primer: %v", r.s, r.err)
	}
	return fmt.Sprintf("polc: own code: %v; primer %d starts when polc exits", r.s, r.pid)
}

// heapReport says whether polc's heap started on a huge page (package
// hugeheap).
func heapReport() string {
	switch tried, errno := hugeheap.Result(); {
	case !tried:
		return "polc: heap: on 4 KiB pages: not tried"
	case errno != 0:
		return "polc: heap: on 4 KiB pages: " + syscall.Errno(errno).Error()
	}
	return "polc: heap: on a huge page"
}

// check checks the guards once the setup process (pid, on the host)
// waits: the mask stage's root is the sandbox's; bwrap's own setup runs
// with the sandbox's root at /newroot under its own.
func (b *bwrapLaunch) check(pid int) error {
	root := fmt.Sprintf("/proc/%d/root", pid)
	if !b.stage {
		root += "/newroot"
	}
	t0 := time.Now()
	err := checkPlan(b.plan, root)
	if b.debug != nil {
		fmt.Fprintf(b.debug, "polc: checked %d guards in %s in %v: %v\n", len(b.plan.Guards), root, time.Since(t0), err)
		if w := b.plan.WalkWatch(); w.Served {
			fmt.Fprintf(b.debug, "polc: change feed: %d directories changed, %d stat-ed\n", w.Dirty, w.Checked)
		} else if w.Note != "" {
			fmt.Fprintf(b.debug, "polc: change feed not used: %s\n", w.Note)
		}
	}
	return err
}

// forwarder passes signals to the command: bwrap's pid 1's first child.
// One that arrives before the command exists waits for it. The command
// is held by a pidfd once found, so that a signal never reaches another
// process that took its pid after it exited.
type forwarder struct {
	init, pid, target int // bwrap's child on the host, the command, its pidfd (-1: none)
	pending           []syscall.Signal
	delivered         bool
	retry             <-chan time.Time
}

func (f *forwarder) deliver() {
	if f.target < 0 && f.pid == 0 && f.init > 0 {
		if f.pid = firstChild(f.init); f.pid > 0 {
			if fd, err := unix.PidfdOpen(f.pid, 0); err == nil {
				f.target = fd
			} else if err == unix.ESRCH {
				f.pid = 0 // gone already
			} // else no pidfds (Linux < 5.3): kill by pid
		}
	}
	if f.pid == 0 {
		f.retry = time.After(time.Millisecond)
		return
	}
	for _, s := range f.pending {
		if f.target >= 0 {
			unix.PidfdSendSignal(f.target, unix.Signal(s), nil, 0)
		} else {
			syscall.Kill(f.pid, s)
		}
		f.delivered = true
	}
	f.pending, f.retry = nil, nil
}

func (f *forwarder) close() {
	if f.target >= 0 {
		unix.Close(f.target)
	}
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
