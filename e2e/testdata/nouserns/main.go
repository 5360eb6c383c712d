//go:build linux

// Command nouserns runs a command under a seccomp filter that refuses
// user namespaces as a container runtime's default profile does
// (Docker's, without CAP_SYS_ADMIN): unshare and clone with
// CLONE_NEWUSER fail with EPERM, clone3 with ENOSYS (so that callers
// fall back to clone). Everything else is allowed. The e2e tests start
// polc under it to make "a container's seccomp profile blocks user
// namespaces" happen on this machine:
//
//	nouserns polc exec -- CMD
package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: nouserns CMD [ARG...]")
		os.Exit(2)
	}
	path, err := exec.LookPath(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "nouserns:", err)
		os.Exit(127)
	}
	var arch uint32
	switch runtime.GOARCH {
	case "amd64":
		arch = unix.AUDIT_ARCH_X86_64
	case "arm64":
		arch = unix.AUDIT_ARCH_AARCH64
	default:
		fmt.Fprintln(os.Stderr, "nouserns: unsupported architecture", runtime.GOARCH)
		os.Exit(2)
	}
	const (
		offNr   = 0
		offArch = 4
		offArg0 = 16 // the low half of args[0] (little-endian)
	)
	errno := func(e syscall.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e) }
	ld := func(off uint32) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}
	}
	jeq := func(k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: k, Jt: jt, Jf: jf}
	}
	ret := func(k uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k} }
	prog := []unix.SockFilter{
		/* 0 */ ld(offArch),
		/* 1 */ jeq(arch, 0, 9), // another ABI: allow
		/* 2 */ ld(offNr),
		/* 3 */ jeq(unix.SYS_UNSHARE, 5, 0), // -> 9
		/* 4 */ jeq(unix.SYS_CLONE3, 5, 0), // -> 10
		/* 5 */ jeq(unix.SYS_CLONE, 0, 5), // else -> 11
		/* 6 */ ld(offArg0),
		/* 7 */ {Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, K: unix.CLONE_NEWUSER, Jt: 1, Jf: 0},
		/* 8 */ ret(unix.SECCOMP_RET_ALLOW),
		/* 9 */ ret(errno(syscall.EPERM)),
		/* 10 */ ret(errno(syscall.ENOSYS)),
		/* 11 */ ret(unix.SECCOMP_RET_ALLOW),
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "nouserns: no_new_privs:", err)
		os.Exit(1)
	}
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fp))); e != 0 {
		fmt.Fprintln(os.Stderr, "nouserns: seccomp:", e)
		os.Exit(1)
	}
	err = syscall.Exec(path, os.Args[1:], os.Environ())
	fmt.Fprintln(os.Stderr, "nouserns:", err)
	os.Exit(127)
}
