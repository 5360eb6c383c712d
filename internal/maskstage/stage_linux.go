package maskstage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"polc/internal/sockexec"
)

// A polc started as the stage is the stage from its first package
// initialisation on (see the package doc): it never returns to the rest.
func init() {
	if len(os.Args) > 1 && os.Args[1] == Arg {
		Main()
	}
}

// maskSourceDir is where the stage mounts, while it masks, a small
// tmpfs holding maskSource: the one empty mode-000 file bound over
// denied files. The tmpfs is read-only, nosuid, nodev and noexec by the
// time anything is bound from it, and a bind mount takes its source
// mount's flags: each file mask is one mount call. It lives in the
// sandbox's own /dev tmpfs and is unmounted and removed before the
// command runs (the masks stay: a bind mount does not depend on the
// mount it was made from).
const (
	maskSourceDir = "/dev/.polc-mask"
	maskSource    = maskSourceDir + "/empty"
)

// maskFlags are every mask's mount flags (with MS_RDONLY): nothing on a
// mask can be set-id, a device or executed.
const maskFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// Main is the mask stage. It never returns: it exits with the
// command's status (128+N when a signal N killed it), 125 with a message
// on its status descriptor when it could not make the sandbox, or 126
// or 127, as a shell, when the command cannot be run.
func Main() {
	// The mount namespace, the bounding set and the capabilities the
	// command inherits are this thread's: it mounts and forks.
	runtime.LockOSThread()
	status := os.NewFile(FdStatus, "status")
	stderr := os.Stderr
	fail := func(format string, args ...any) {
		fmt.Fprintf(status, "err "+format+"\n", args...)
		os.Exit(125)
	}
	for _, fd := range []int{FdExe, FdSpec, FdStatus, FdGo, FdBridge} {
		unix.CloseOnExec(fd)
	}
	raw, err := io.ReadAll(os.NewFile(FdSpec, "spec"))
	if err != nil {
		fail("mask stage: reading its plan: %v", err)
	}
	var spec Spec
	if err := json.Unmarshal(raw, &spec); err != nil || len(spec.Argv) == 0 || len(spec.Dirs) == 0 {
		fail("mask stage: bad plan (%v)", err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		fail("mask stage: new mount namespace: %v", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fail("mask stage: private mounts: %v", err)
	}
	if err := applyMasks(spec.Masks); err != nil {
		fail("%v", err)
	}
	if spec.Check {
		// polc checks the masks through /proc/PID/root, which is the
		// main thread's view: this must be it.
		if unix.Gettid() != unix.Getpid() {
			fail("mask stage: not on its main thread")
		}
		status.WriteString("masked\n")
		var b [1]byte
		if n, _ := os.NewFile(FdGo, "go").Read(b[:]); n != 1 {
			os.Exit(125) // polc found the tree changed: it says so
		}
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fail("mask stage: making pid 1 undumpable: %v", err)
	}
	if err := dropCaps(); err != nil {
		fail("%v", err)
	}
	if spec.Bridge != nil {
		// The proxy's sockets, made in the sandbox's network namespace,
		// go to polc, which listens on them; the command starts once it
		// does (netbridge_linux.go).
		if err := sockexec.Send(FdBridge, spec.Bridge.Sockets); err != nil {
			fail("proxy: %v", err)
		}
		unix.Close(FdBridge)
	}
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
	status.WriteString("ok\n")
	status.Close()
	path, err := exec.LookPath(spec.Argv[0])
	if err != nil {
		fmt.Fprintf(stderr, "polc: %s: %v\n", spec.Argv[0], err)
		if errors.Is(err, fs.ErrPermission) { // found but not executable, as a shell says
			os.Exit(126)
		}
		os.Exit(127)
	}
	os.Setenv("PWD", dir)
	attr := &syscall.ProcAttr{Dir: dir, Env: os.Environ(), Files: []uintptr{0, 1, 2}}
	pid, err := syscall.ForkExec(path, spec.Argv, attr)
	if err == syscall.ENOEXEC {
		// A file the kernel cannot run (a script without #!) runs under
		// /bin/sh, as POSIX execvp does, and as bwrap runs it in the
		// direct launch.
		pid, err = syscall.ForkExec("/bin/sh", append([]string{"/bin/sh", path}, spec.Argv[1:]...), attr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "polc: %s: %v\n", spec.Argv[0], err)
		if err == syscall.EACCES {
			os.Exit(126)
		}
		os.Exit(127)
	}
	// As pid 1, reap every orphan; leave when the command itself exits
	// (the pid namespace, and everything left in it, goes with us).
	// polc forwards signals to the command from the host.
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
// calls, one a mask: an empty mode-000 file bound over a file from a
// read-only mount (the mask is read-only, nosuid, nodev and noexec as
// that mount is), an empty mode-000 tmpfs mounted read-only over a
// directory. A path gone since the scan has nothing left to hide.
func applyMasks(masks []Mask) error {
	if len(masks) == 0 {
		return nil
	}
	haveSource, bound := false, ""
	defer func() {
		if haveSource {
			unix.Unmount(maskSourceDir, unix.MNT_DETACH)
			os.Remove(maskSourceDir)
		}
	}()
	for _, m := range masks {
		var err error
		if m.Dir {
			err = unix.Mount("tmpfs", m.Path, "tmpfs", maskFlags|unix.MS_RDONLY, "mode=000,size=4k")
		} else {
			if !haveSource {
				if err := makeMaskSource(); err != nil {
					return err
				}
				haveSource = true
			}
			err = unix.Mount(maskSource, m.Path, "", unix.MS_BIND, "")
		}
		if err == unix.ENOENT {
			continue // gone since the scan: nothing left to hide
		}
		if err != nil {
			return fmt.Errorf("masking %s: %v", m.Path, err)
		}
		if !m.Dir && bound == "" {
			bound = m.Path
		}
	}
	if bound != "" {
		// What was bound must have kept the source's flags (one tells:
		// every file mask is a bind of the same mount): a mask the
		// command could chmod or write would not be a mask.
		var st unix.Statfs_t
		if err := unix.Statfs(bound, &st); err != nil || st.Flags&unix.ST_RDONLY == 0 {
			return fmt.Errorf("the mask on %s is not read-only (%v)", bound, err)
		}
	}
	return nil
}

// makeMaskSource mounts the tmpfs at maskSourceDir, creates maskSource
// in it with mode 000, and makes the mount read-only.
func makeMaskSource() error {
	if err := os.Mkdir(maskSourceDir, 0o700); err != nil {
		return fmt.Errorf("creating the mask file: %v", err)
	}
	if err := unix.Mount("tmpfs", maskSourceDir, "tmpfs", maskFlags, "mode=700,size=4k"); err != nil {
		return fmt.Errorf("creating the mask file: %v", err)
	}
	fd, err := unix.Open(maskSource, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("creating the mask file: %v", err)
	}
	unix.Close(fd)
	if err := unix.Mount("", maskSourceDir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|maskFlags, ""); err != nil {
		return fmt.Errorf("making the mask file read-only: %v", err)
	}
	return nil
}

// dropCaps leaves the stage without any capability before the command
// is forked: the bounding set of this thread (which forks; so that
// root's exec cannot regain one), then the ambient, inheritable,
// permitted and effective sets of every thread of the process, and
// checks that none is left. bwrap set no_new_privs, so the command's
// exec cannot gain any.
func dropCaps() error {
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("dropping capability %d from the bounding set: %v", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clearing ambient capabilities: %v", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	// This thread forks the command: its sets are the ones it inherits.
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("dropping capabilities: %v", err)
	}
	// The other threads of the Go runtime: pid 1 is undumpable, so the
	// command reaches none of them, but drop theirs too where the runtime
	// can (a build with cgo cannot: ENOTSUP).
	hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); errno != 0 && errno != syscall.ENOTSUP {
		return fmt.Errorf("dropping capabilities of every thread: %v", errno)
	}
	hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
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
