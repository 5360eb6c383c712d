package hostprobe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ChildArg is argv[1] of the children the trials start from polc's own
// executable (/proc/self/exe).
const ChildArg = "__polc-probe"

// children is set by CatchChild: this executable answers ChildArg, so
// the trials may start it. Elsewhere (a test binary of another
// package) they refuse to, rather than run that binary's main.
var children bool

// errNoChildren is a trial's answer in a program that did not call
// CatchChild.
var errNoChildren = fmt.Errorf("%w: this program does not answer polc's probe children (hostprobe.CatchChild)", ErrNotTried)

// CatchChild must be called first thing by a program that uses System
// (cmd/polc does, in an init function): when the program was started
// as a probe child it runs ChildMain and never returns; otherwise it
// lets the trials start such children.
func CatchChild() {
	if len(os.Args) > 1 && os.Args[1] == ChildArg {
		ChildMain()
	}
	children = true
}

// trialTimeout bounds each trial: a wedged child is a failed trial.
const trialTimeout = 10 * time.Second

func (system) FindBwrap(skip []string) (Bwrap, error) {
	var cands []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if filepath.IsAbs(d) {
			cands = append(cands, filepath.Join(d, "bwrap"))
		}
	}
	cands = append(cands, "/usr/bin/bwrap")
	for _, c := range cands {
		fi, err := os.Stat(c)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			continue
		}
		if real, err := filepath.EvalSymlinks(c); err == nil {
			c = real
		}
		if under(c, skip) {
			continue
		}
		b := Bwrap{Path: c, Setuid: fi.Mode()&os.ModeSetuid != 0 && fi.Sys().(*syscall.Stat_t).Uid == 0}
		ctx, cancel := context.WithTimeout(context.Background(), trialTimeout)
		out, err := exec.CommandContext(ctx, c, "--version").Output()
		cancel()
		if err == nil {
			b.Version = strings.TrimSpace(string(out))
		}
		return b, nil
	}
	return Bwrap{}, ErrNoBwrap
}

// child is a command that runs polc's own executable as a probe child.
func child(ctx context.Context, what string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/proc/self/exe", ChildArg, what)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// startErr is the errno of a child that could not start, or err.
func startErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (system) TryUserNS() error {
	if !children {
		return errNoChildren
	}
	ctx, cancel := context.WithTimeout(context.Background(), trialTimeout)
	defer cancel()
	cmd := child(ctx, "exit")
	cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER
	cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
	cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	if err := cmd.Start(); err != nil {
		return startErr(err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("the child in a new user namespace failed: %v", err)
	}
	return nil
}

func (system) TrySandbox(bwrap string, args []string, filter []byte) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), trialTimeout)
	defer cancel()
	all := append([]string(nil), args...)
	var files []*os.File
	if filter != nil {
		fd, err := unix.MemfdCreate("polc-probe-seccomp", unix.MFD_CLOEXEC)
		if err != nil {
			return "", err
		}
		f := os.NewFile(uintptr(fd), "seccomp")
		defer f.Close()
		if _, err := f.Write(filter); err != nil {
			return "", err
		}
		if _, err := f.Seek(0, 0); err != nil {
			return "", err
		}
		files = append(files, f)
		all = append(all, "--seccomp", "3")
	}
	// The tiny command: bwrap's own --version, which it answers before
	// anything else (whatever its privileges).
	all = append(all, "--", bwrap, "--version")
	cmd := exec.CommandContext(ctx, bwrap, all...)
	cmd.ExtraFiles = files
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &limited{w: &stderr, n: 64 << 10}
	err := cmd.Run()
	return stderr.String(), err
}

func (system) TrySeccomp() error {
	if !children {
		return errNoChildren
	}
	ctx, cancel := context.WithTimeout(context.Background(), trialTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := child(ctx, "seccomp")
	cmd.Stderr = &limited{w: &stderr, n: 4 << 10}
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return errors.New(msg)
		}
		return err
	}
	return nil
}

func (system) LandlockABI() int {
	const createRulesetVersion = 1 // LANDLOCK_CREATE_RULESET_VERSION
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, createRulesetVersion)
	if errno != 0 {
		return 0
	}
	return int(abi)
}

// ChildMain is a probe child: "exit" exits 0 (its parent tried the
// namespaces in creating it); "seccomp" installs a filter that allows
// everything, as bwrap installs the profile's. It never returns.
func ChildMain() {
	what := ""
	if len(os.Args) > 2 {
		what = os.Args[2]
	}
	switch what {
	case "exit":
		os.Exit(0)
	case "seccomp":
		runtime.LockOSThread()
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fmt.Fprintf(os.Stderr, "prctl(PR_SET_NO_NEW_PRIVS): %v\n", err)
			os.Exit(1)
		}
		allow := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
		prog := unix.SockFprog{Len: uint16(len(allow)), Filter: &allow[0]}
		if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); errno != 0 {
			fmt.Fprintf(os.Stderr, "seccomp(SECCOMP_SET_MODE_FILTER): %v\n", errno)
			os.Exit(1)
		}
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "polc: unknown probe %q\n", what)
	os.Exit(2)
}

// limited keeps the first n bytes written to it.
type limited struct {
	w interface{ Write([]byte) (int, error) }
	n int
}

func (l *limited) Write(b []byte) (int, error) {
	if l.n > 0 {
		k := min(len(b), l.n)
		l.w.Write(b[:k])
		l.n -= k
	}
	return len(b), nil
}

// under reports whether p is one of dirs or lies below one.
func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if real, err := filepath.EvalSymlinks(d); err == nil {
			d = real
		}
		if rel, err := filepath.Rel(d, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	return false
}
