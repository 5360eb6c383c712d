package seccomp

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// InstallOnThread sets no_new_privs and loads the filter on the calling
// OS thread only. The caller must hold runtime.LockOSThread: children
// forked from this thread inherit the filter, the rest of the Go process
// does not (polc's pid-1 helper keeps reaping and forwarding signals).
func InstallOnThread(s Spec) error {
	a, err := Arch(runtime.GOARCH)
	if err != nil {
		return err
	}
	raw, err := s.Program(a)
	if err != nil {
		return err
	}
	return load(raw)
}

func load(raw []bpf.RawInstruction) error {
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: no_new_privs: %w", err)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("seccomp: loading the filter: %w", e)
	}
	runtime.KeepAlive(filter)
	return nil
}
