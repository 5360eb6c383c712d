package shim

// Landlock mode: where bubblewrap cannot run, polc exec --landlock (or
// features.use_legacy_landlock) runs the command under a Landlock
// ruleset and the seccomp filter, applied by a child of polc to itself
// just before it execs the command. backends/landlock has decided that
// the pair enforces the policy exactly; this file only applies it.
//
// The child (polc's own executable with LandlockArg) reads its spec on
// descriptor 3 and reports a failure of its own on descriptor 4 (closed
// on exec), so that the parent tells polc's failure (exit 125, one line)
// from the command's status. On one locked thread it: enters the working
// directory; builds the ruleset; drops every capability (bounding,
// ambient, effective, permitted, inheritable), so that a command run as
// root gets none back at exec; sets no_new_privs; restricts itself with
// Landlock; installs the seccomp filter; and execs the command (126 or
// 127, as a shell, when it cannot be run).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	ll "github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"

	"polc/backends/landlock"
	"polc/diag"
	"polc/ir"
)

// LandlockArg is argv[1] of the child that applies Landlock and execs
// the command.
const LandlockArg = "__polc-landlock-stage"

// landlockSpec is what the parent sends the child.
type landlockSpec struct {
	Payload []byte   `json:"payload"`
	Filter  []byte   `json:"filter"`
	Argv    []string `json:"argv"`
	Dir     string   `json:"dir"`
	Environ []string `json:"environ"`
}

// LandlockABI is this kernel's Landlock ABI version (0: none).
func LandlockABI() int {
	v, err := llsys.LandlockGetABIVersion()
	if err != nil {
		return 0
	}
	return v
}

// CheckLandlockABI refuses a payload whose grants need more than abi
// offers, naming the grant and where it was written.
func CheckLandlockABI(p *landlock.Payload, abi int) error {
	if p.Unrestricted {
		return nil
	}
	if abi == 0 {
		return failf(diag.LandlockABI, "Landlock is not available on this kernel (it needs Linux 5.13 or later with landlock in the lsm= boot parameter); run under bubblewrap instead")
	}
	if abi < p.MinABI {
		return failf(diag.LandlockABI, "%s; this kernel's Landlock ABI is %d: run under bubblewrap, or on a newer kernel", p.Need, abi)
	}
	return nil
}

// RunLandlock runs l.Argv under the Landlock payload (backends/landlock)
// and returns the command's status; l.Linux is the Linux artifact,
// which gives the command's environment. An error is polc's own failure.
func RunLandlock(l *Launch, payload []byte) (int, error) {
	PrepareLaunch()
	p, err := landlock.Decode(payload)
	if err != nil {
		return 0, failf(diag.LandlockSetup, "%v", err)
	}
	_, dir, environ, err := l.start()
	if err != nil {
		return 0, err
	}
	if p.Unrestricted {
		l.ready()
		return runDirect(l, dir, environ)
	}
	if err := CheckLandlockABI(p, LandlockABI()); err != nil {
		return 0, err
	}
	if v := landlock.NewEvaluator(p, nil).Decide(dir, ir.OpRead); !v.Allowed {
		return 0, failf(diag.LandlockSetup, "working directory %s is not readable under the profile (%s); grant it read access or choose another -C", dir, v.Reason)
	}
	filter, err := p.Seccomp.Bytes(runtime.GOARCH)
	if err != nil {
		return 0, failf(diag.LinuxUnsupportedArch, "%v", err)
	}
	spec, err := json.Marshal(landlockSpec{Payload: payload, Filter: filter, Argv: l.Argv, Dir: dir, Environ: environ})
	if err != nil {
		return 0, failf(diag.LandlockSetup, "%v", err)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, failf(diag.LandlockSetup, "finding polc's executable: %v", err)
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		return 0, failf(diag.LandlockSetup, "%v", err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		specR.Close()
		specW.Close()
		return 0, failf(diag.LandlockSetup, "%v", err)
	}
	defer statusR.Close()
	cmd := l.command(self, []string{LandlockArg}, dir, []string{"PATH=" + os.Getenv("PATH")})
	cmd.Args[0] = "polc"
	cmd.ExtraFiles = []*os.File{specR, statusW}
	// The command dies with polc (as bubblewrap's --die-with-parent): the
	// parent-death signal follows the thread that started the child, so
	// that thread stays locked to this goroutine until the child is gone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sigs, release := catchSignals()
	defer release()
	l.ready()
	err = cmd.Start()
	specR.Close()
	statusW.Close()
	if err != nil {
		specW.Close()
		return 0, failf(diag.LandlockSetup, "starting the Landlock stage: %v", err)
	}
	go func() {
		specW.Write(spec)
		specW.Close()
	}()
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	msg, _ := io.ReadAll(io.LimitReader(statusR, 4<<10))
	err = cmd.Wait()
	if len(msg) > 0 {
		// The child's refusal, a diagnostic in JSON (its text when it is
		// not one).
		var d diag.Diagnostic
		if json.Unmarshal(msg, &d) != nil || d.Code == "" {
			return 0, failf(diag.LandlockSetup, "%s", strings.TrimSpace(string(msg)))
		}
		return 0, &d
	}
	if code, _, ok := exitCode(err); ok {
		return code, nil
	}
	return 0, failf(diag.LandlockSetup, "%v", err)
}

// LandlockMain is the child: it applies the spec on fd 3 and execs the
// command. It never returns.
func LandlockMain() {
	runtime.LockOSThread()
	status := os.NewFile(4, "status")
	unix.CloseOnExec(4)
	fail := func(format string, args ...any) {
		b, _ := json.Marshal(failf(diag.LandlockSetup, format, args...))
		status.Write(b)
		os.Exit(125)
	}
	var spec landlockSpec
	b, err := io.ReadAll(os.NewFile(3, "spec"))
	if err != nil {
		fail("reading the launch: %v", err)
	}
	unix.Close(3)
	if err := json.Unmarshal(b, &spec); err != nil || len(spec.Argv) == 0 {
		fail("reading the launch: %v", err)
	}
	p, err := landlock.Decode(spec.Payload)
	if err != nil {
		fail("%v", err)
	}
	if err := os.Chdir(spec.Dir); err != nil {
		fail("entering %s: %v", spec.Dir, err)
	}
	rulesetFD, flags, err := landlockRuleset(p)
	if err != nil {
		fail("building the Landlock ruleset: %v", err)
	}
	if err := dropCapabilities(); err != nil {
		fail("dropping capabilities: %v", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail("prctl(PR_SET_NO_NEW_PRIVS): %v", err)
	}
	if err := llsys.LandlockRestrictSelf(rulesetFD, flags); err != nil {
		fail("landlock_restrict_self: %v", err)
	}
	unix.Close(rulesetFD)
	if err := installFilter(spec.Filter); err != nil {
		fail("installing the seccomp filter: %v", err)
	}
	// From here on the command's rules apply: the lookup sees what the
	// command would.
	os.Setenv("PATH", landlockEnv(spec.Environ, "PATH"))
	path, err := exec.LookPath(spec.Argv[0])
	if err != nil {
		status.Close()
		fmt.Fprintf(os.Stderr, "polc: %s: %v\n", spec.Argv[0], err)
		if errors.Is(err, os.ErrPermission) {
			os.Exit(126)
		}
		os.Exit(127)
	}
	err = syscall.Exec(path, spec.Argv, spec.Environ)
	if err == syscall.ENOEXEC {
		// A file the kernel cannot run (a script without #!) runs under
		// /bin/sh, as POSIX execvp does.
		err = syscall.Exec("/bin/sh", append([]string{"/bin/sh", path}, spec.Argv[1:]...), spec.Environ)
	}
	status.Close()
	fmt.Fprintf(os.Stderr, "polc: %s: %v\n", spec.Argv[0], err)
	if err == syscall.EACCES || err == syscall.EPERM {
		os.Exit(126)
	}
	os.Exit(127)
}

func landlockEnv(environ []string, key string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// Landlock rights a grant gives (before intersecting with what the
// kernel handles).
const (
	llRead      = llsys.AccessFSExecute | llsys.AccessFSReadFile | llsys.AccessFSReadDir
	llFileRead  = llsys.AccessFSExecute | llsys.AccessFSReadFile
	llFileWrite = llFileRead | llsys.AccessFSWriteFile | llsys.AccessFSTruncate | llsys.AccessFSIoctlDev
)

// landlockConfig is the ruleset's configuration on this kernel: every
// filesystem right it knows, TCP with the network off, and the signal
// and abstract-socket scopes, as far as the ABI has them.
func landlockConfig(p *landlock.Payload, abi int) ll.Config {
	versions := []ll.Config{ll.V1, ll.V2, ll.V3, ll.V4, ll.V5, ll.V6, ll.V7}
	cfg := versions[min(abi, len(versions))-1]
	if p.Network != ir.NetworkNone {
		cfg.HandledAccessNet = 0
	}
	return cfg
}

// landlockRuleset builds the payload's ruleset for this kernel. The ABI
// was checked against the payload's needs (CheckLandlockABI); what a
// newer ABI adds beyond them (ioctl on devices, TCP, scopes) is used
// where the kernel has it.
func landlockRuleset(p *landlock.Payload) (int, uint32, error) {
	abi := LandlockABI()
	if err := CheckLandlockABI(p, abi); err != nil {
		return -1, 0, err
	}
	cfg := landlockConfig(p, abi)
	handled := uint64(cfg.HandledAccessFS)
	var rules []ll.Rule
	add := func(path string, dirRights, fileRights uint64) {
		fi, err := os.Stat(path)
		if err != nil {
			return // a grant on a missing path grants nothing
		}
		rights := fileRights
		if fi.IsDir() {
			rights = dirRights
		}
		rules = append(rules, ll.PathAccess(ll.AccessFSSet(rights&handled), path))
	}
	for _, g := range p.Grants {
		if g.Access == ir.Write {
			add(g.Path, handled, llFileWrite)
		} else {
			add(g.Path, llRead, llFileRead)
		}
	}
	for _, d := range landlock.Devices {
		add(d, 0, llFileWrite)
	}
	// The config comes from this kernel's ABI; go-landlock's own errata
	// check may still lower it (the signal scope's fix), which drops
	// only the scopes: BestEffort lets it.
	fd, flags, err := cfg.BestEffort().NewRulesetFD(rules...)
	if err != nil {
		return -1, 0, err
	}
	if fd < 0 {
		return -1, 0, fmt.Errorf("no ruleset was created")
	}
	return fd, flags, nil
}

// dropCapabilities empties every capability set of this thread: the
// bounding and ambient sets first, then effective, permitted and
// inheritable, so that exec gives a command run as root none back.
func dropCapabilities() error {
	last := 40
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	for c := 0; c <= last; c++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err != nil || in == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if errors.Is(err, unix.EPERM) && !hasCapabilities() {
				// Without CAP_SETPCAP the bounding set cannot be
				// dropped; with no capability at all there is nothing
				// for exec to give back but a setuid binary, which
				// no_new_privs disarms.
				break
			}
			return fmt.Errorf("prctl(PR_CAPBSET_DROP, %d): %v", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clearing ambient capabilities: %v", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %v", err)
	}
	if os.Getuid() == 0 {
		// root's exec gives back the bounding set: it must be empty.
		for c := 0; c <= last; c++ {
			if in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err == nil && in != 0 {
				return fmt.Errorf("capability %d is still in the bounding set", c)
			}
		}
	}
	return nil
}

// hasCapabilities reports whether this thread holds any capability.
func hasCapabilities() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true
	}
	for _, d := range data {
		if d.Effective|d.Permitted|d.Inheritable != 0 {
			return true
		}
	}
	return false
}

// installFilter loads a seccomp filter given as struct sock_filter bytes
// (seccomp.Spec.Bytes) on this thread; no_new_privs is already set.
func installFilter(b []byte) error {
	const insn = int(unsafe.Sizeof(unix.SockFilter{}))
	if len(b) == 0 || len(b)%insn != 0 {
		return fmt.Errorf("bad filter length %d", len(b))
	}
	prog := make([]unix.SockFilter, len(b)/insn)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(b)), b)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		return errno
	}
	runtime.KeepAlive(prog)
	return nil
}
