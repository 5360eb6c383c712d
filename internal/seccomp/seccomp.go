// Package seccomp builds the seccomp-BPF filter of the Linux sandbox;
// bubblewrap loads it (--seccomp) before anything of polc's or the
// command's runs inside.
//
// The filter is a deny list with a default of allow, like the reference's
// (Codex linux-sandbox seccomp.rs), but it is built here for one
// architecture at a time from the syscall tables of
// the kernel (tables.go, checked against
// github.com/elastic/go-seccomp-bpf/arch in the tests) and assembled with
// golang.org/x/net/bpf, so that the program for x86_64 and for arm64 can
// both be built and checked on any host.
//
// Deliberate differences from the reference:
//   - A syscall made through another ABI than the filter's (i386 int 0x80
//     on x86_64, AArch32 on arm64, the x32 ABI) fails with ENOSYS. The
//     reference's library lets a foreign-ABI call through, which would
//     bypass the whole list.
//   - Socket families are compared on the low 32 bits of the argument, as
//     the kernel reads an int, so high garbage bits cannot dodge a match.
//   - With the network off, AF_UNIX stays, but only between peers the
//     command already holds. The reference denies connect, accept,
//     accept4, bind, listen, getpeername, getsockname, shutdown, sendto,
//     sendmmsg, recvmmsg, getsockopt and setsockopt for every family,
//     which breaks Unix messaging inside the sandbox: asyncio's
//     socketpair self-pipe, Python multiprocessing, Chromium's
//     SOCK_SEQPACKET socketpairs (Codex issues #33793, #47452, #39140).
//     polc denies exactly what names or accepts an address (UnixPeersOnly):
//     connect, bind, listen, accept and accept4 fail, sendto fails when
//     it names a destination, and socket and socketpair create AF_UNIX
//     sockets of type SOCK_STREAM or SOCK_SEQPACKET only. A datagram
//     socket (SOCK_DGRAM, and SOCK_RAW, which AF_UNIX turns into one)
//     reaches any datagram socket of the host through sendmsg's msg_name
//     (journald, /dev/log), a socketpair's too, and seccomp cannot read
//     a msghdr, so datagram sockets are not created at all; a stream or
//     seqpacket socket ignores or refuses a destination. What keeps
//     working: socketpair, send, recv, sendmsg and recvmsg (with fd
//     passing), shutdown, getsockopt and setsockopt, getsockname and
//     getpeername, and descriptors inherited from outside.
//
// Host Unix sockets are not protected by the filesystem policy: a
// connect(2) to a path socket needs only that the command can see it
// (and write permission on the socket inode, which a read-only mount
// does not take away), and under :workspace /tmp and the project are
// writable and hold sockets of host processes: the command could reach
// the tmux, X11, ssh-agent, Docker or session bus socket of the user
// (`tmux -S SOCK run-shell CMD` runs CMD outside the sandbox). A new
// network namespace isolates abstract sockets, but not path sockets. So, with the network off, reaching a host socket is
// an explicit opt-in ([permissions.P.network] unix_sockets or
// dangerously_allow_all_unix_sockets); seccomp cannot filter by path, so
// the opt-in turns UnixPeersOnly off for the whole sandbox, and the
// Linux backend says so (POL079 for a per-socket allow, refused unless
// --allow-unenforceable). With the network on the command can connect
// to every path socket it can see and, sharing the host's network
// namespace, to every abstract socket, as with the reference.
//
// What the filter cannot see: a datagram socket handed to the command
// by its caller (as its stdin, say) can still send to any datagram
// socket with sendmsg; polc itself passes only the caller's standard
// descriptors.
//
// What this costs inside the sandbox, with the network off: a program
// cannot listen on a Unix socket of its own and connect to it (Python
// multiprocessing's Manager and Listener, the forkserver start method,
// which Python 3.14 makes the default on Linux, a local language
// server), and syslog(3) cannot reach /dev/log. Seccomp cannot tell a
// socket the command bound from a host's, so these fail closed.
package seccomp

import (
	"encoding/binary"
	"fmt"
	"sort"

	"golang.org/x/net/bpf"
)

// Reason explains, for reviewers of an artifact, why each syscall is
// always denied. Every key is denied on every supported architecture.
var Reason = map[string]string{
	// ptrace can rewrite a syscall after the filter has checked it (before
	// Linux 4.8) and reads or writes the memory of other sandboxed
	// processes, including polc's mask stage as pid 1.
	"ptrace": "can tamper with other sandboxed processes and, on old kernels, bypass seccomp",
	// process_vm_* read and write another process's memory without ptrace.
	"process_vm_readv":  "reads another process's memory",
	"process_vm_writev": "writes another process's memory",
	// io_uring performs operations (socket creation, opens, ...) without
	// passing through this filter.
	"io_uring_setup":    "io_uring runs operations the filter never sees (sockets included)",
	"io_uring_enter":    "io_uring runs operations the filter never sees (sockets included)",
	"io_uring_register": "io_uring runs operations the filter never sees (sockets included)",
	// The kernel keyrings are not namespaced: keys of the user's session
	// (Kerberos tickets, fscrypt keys) would be readable.
	"keyctl":      "kernel keyrings are shared with the host session",
	"add_key":     "kernel keyrings are shared with the host session",
	"request_key": "kernel keyrings are shared with the host session",
	// Large kernel attack surfaces that sandboxed tools do not need.
	"bpf":             "eBPF is a large kernel attack surface",
	"perf_event_open": "leaks kernel and host activity; large attack surface",
	"userfaultfd":     "a common primitive for kernel exploits",
	// Reading the kernel log leaks host addresses and activity.
	"syslog": "reads the host's kernel log",
	// The "shocker" container escape: opens host files by handle,
	// bypassing the mount namespace.
	"open_by_handle_at": "opens files by handle, bypassing the mount namespace",
	// Kernel replacement and modules: never legitimate in a sandbox.
	"kexec_load":      "replaces the running kernel",
	"kexec_file_load": "replaces the running kernel",
	"init_module":     "loads kernel code",
	"finit_module":    "loads kernel code",
	"delete_module":   "unloads kernel code",
}

// Address families (linux/socket.h).
const (
	AFUnix  = 1
	AFInet  = 2
	AFInet6 = 10
	AFVsock = 40
)

// ioctl requests denied on every fd: they inject input into (or take
// over) the terminal the sandbox was started from.
const (
	tiocsti   = 0x5412 // TIOCSTI: push characters into the tty's input queue
	tioclinux = 0x541C // TIOCLINUX: console selection paste, same effect
)

// Spec is what the filter denies; it travels in the artifact.
type Spec struct {
	// Deny are syscalls that fail with EPERM (see Reason).
	Deny []string `json:"deny"`
	// AllowSocketFamilies, when set, is the only families socket and
	// socketpair may create (network off: AF_UNIX).
	AllowSocketFamilies []int `json:"allow_socket_families,omitempty"`
	// DenySocketFamilies are families socket and socketpair may not
	// create (network on: AF_VSOCK, which reaches host services and, on
	// WSL2, launches Windows programs).
	DenySocketFamilies []int `json:"deny_socket_families,omitempty"`
	// DenyIoctls are ioctl requests that fail with EPERM.
	DenyIoctls []uint32 `json:"deny_ioctls,omitempty"`
	// UnixPeersOnly (network off, no host Unix socket allowed) keeps
	// AF_UNIX to peers the command already holds: connect, bind, listen,
	// accept and accept4 fail with EPERM, sendto fails when it names a
	// destination, and socket and socketpair create only SOCK_STREAM
	// and SOCK_SEQPACKET AF_UNIX sockets (see the package comment).
	UnixPeersOnly bool `json:"unix_peers_only,omitempty"`
	// UnixSocketpairOnly (proxy-only network) lets AF_UNIX exist only as
	// socketpairs: socket(AF_UNIX) fails with EPERM, and socketpair
	// creates only SOCK_STREAM and SOCK_SEQPACKET pairs. connect, bind,
	// listen and accept stay allowed for the other families, which reach
	// only the sandbox's own loopback (see ForProxy).
	UnixSocketpairOnly bool `json:"unix_socketpair_only,omitempty"`
}

// Socket types (linux/net.h); the kernel reads type & sockTypeMask and
// accepts only SOCK_CLOEXEC and SOCK_NONBLOCK in the other bits.
const (
	sockStream    = 1
	sockSeqpacket = 5
	sockTypeMask  = 0xf
)

// addressCalls fail under UnixPeersOnly: each names or accepts a peer
// by address. sendto is handled apart (denied only with a destination).
var addressCalls = []string{"connect", "bind", "listen", "accept", "accept4"}

// ForNetwork is the filter for a sandbox with the network on or off.
func ForNetwork(network bool) Spec {
	s := Spec{DenyIoctls: []uint32{tiocsti, tioclinux}}
	for name := range Reason {
		s.Deny = append(s.Deny, name)
	}
	sort.Strings(s.Deny)
	if network {
		s.DenySocketFamilies = []int{AFVsock}
	} else {
		s.AllowSocketFamilies = []int{AFUnix}
		s.UnixPeersOnly = true
	}
	return s
}

// ForProxy is the filter for a sandbox whose network is polc's proxy
// only. The sandbox has a network namespace of its own holding nothing
// but loopback, where polc's bridge listens for the command's proxy
// connections: TCP and UDP sockets are allowed, and whatever they
// connect to stays inside that namespace. What a network namespace does
// not isolate are host Unix path sockets, and seccomp cannot see the
// family of the socket connect(2) is given; so no AF_UNIX socket can be
// created except as a connected socketpair (UnixSocketpairOnly), and a
// connect, bind or sendto on any socket the command can create can only
// reach the sandbox's loopback. AF_NETLINK and the other families stay
// refused, as without the network.
func ForProxy() Spec {
	s := ForNetwork(false)
	s.UnixPeersOnly = false
	s.UnixSocketpairOnly = true
	s.AllowSocketFamilies = []int{AFUnix, AFInet, AFInet6}
	return s
}

// Validate checks a spec read from an artifact.
func (s Spec) Validate() error {
	if len(s.AllowSocketFamilies) > 0 && len(s.DenySocketFamilies) > 0 {
		return fmt.Errorf("seccomp: both allowed and denied socket families")
	}
	if s.UnixPeersOnly && len(s.AllowSocketFamilies) == 0 {
		// With every family allowed, a connect that fails is no
		// protection: an allow list of families must come with it.
		return fmt.Errorf("seccomp: unix_peers_only needs allow_socket_families")
	}
	if s.UnixSocketpairOnly {
		// Like unix_peers_only, it means something only with an allow
		// list of families; and the two are different network modes.
		if len(s.AllowSocketFamilies) == 0 || s.UnixPeersOnly {
			return fmt.Errorf("seccomp: unix_socketpair_only needs allow_socket_families and excludes unix_peers_only")
		}
	}
	for _, a := range []*ArchInfo{X86_64, AArch64} {
		for _, n := range s.Deny {
			if _, ok := a.Syscalls[n]; !ok {
				return fmt.Errorf("seccomp: unknown syscall %q on %s", n, a.Name)
			}
		}
	}
	for _, f := range append(append([]int(nil), s.AllowSocketFamilies...), s.DenySocketFamilies...) {
		if f < 0 || f > 255 {
			return fmt.Errorf("seccomp: bad socket family %d", f)
		}
	}
	return nil
}

// Arch returns the syscall table for a GOARCH (amd64 or arm64).
func Arch(goarch string) (*ArchInfo, error) {
	switch goarch {
	case "amd64":
		return X86_64, nil
	case "arm64":
		return AArch64, nil
	}
	return nil, fmt.Errorf("seccomp: architecture %s is not supported (x86_64 and arm64 are)", goarch)
}

const (
	retAllow = 0x7fff0000 // SECCOMP_RET_ALLOW
	retErrno = 0x00050000 // SECCOMP_RET_ERRNO | errno
	ePERM    = 1
	eNOSYS   = 38
	x32Bit   = 0x40000000

	offNr   = 0
	offArch = 4
	offArg0 = 16 // low 32 bits of args[0] (little-endian)
	offArg1 = 24 // low 32 bits of args[1]
	offArg4 = 48 // low 32 bits of args[4]; the high half follows
)

// Program assembles the filter for an architecture.
func (s Spec) Program(a *ArchInfo) ([]bpf.RawInstruction, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	deny := bpf.RetConstant{Val: retErrno | ePERM}
	allow := bpf.RetConstant{Val: retAllow}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: a.ID, SkipTrue: 1},
		bpf.RetConstant{Val: retErrno | eNOSYS},
		bpf.LoadAbsolute{Off: offNr, Size: 4},
	}
	if a == X86_64 {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32Bit, SkipFalse: 1},
			bpf.RetConstant{Val: retErrno | eNOSYS})
	}
	nr := func(name string) uint32 { return a.Syscalls[name] }
	for _, name := range s.Deny {
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr(name), SkipFalse: 1}, deny)
	}
	// socket and socketpair: a block each that returns on every path.
	for _, call := range []string{"socket", "socketpair"} {
		block := s.familyBlock(call == "socketpair")
		if block != nil {
			prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr(call), SkipFalse: uint8(len(block))})
			prog = append(prog, block...)
		}
	}
	if s.UnixPeersOnly {
		for _, name := range addressCalls {
			prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr(name), SkipFalse: 1}, deny)
		}
		// sendto(fd, buf, len, flags, dest_addr, addrlen): send(2) is
		// sendto with a NULL dest_addr (glibc on x86_64), so deny only a
		// destination, on all 64 bits of the pointer.
		sb := []bpf.Instruction{
			bpf.LoadAbsolute{Off: offArg4, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipFalse: 3},
			bpf.LoadAbsolute{Off: offArg4 + 4, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipFalse: 1},
			allow,
			deny,
		}
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr("sendto"), SkipFalse: uint8(len(sb))})
		prog = append(prog, sb...)
	}
	if len(s.DenyIoctls) > 0 {
		ib := []bpf.Instruction{bpf.LoadAbsolute{Off: offArg1, Size: 4}}
		for _, req := range s.DenyIoctls {
			ib = append(ib, bpf.JumpIf{Cond: bpf.JumpEqual, Val: req, SkipFalse: 1}, deny)
		}
		ib = append(ib, allow)
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr("ioctl"), SkipFalse: uint8(len(ib))})
		prog = append(prog, ib...)
	}
	prog = append(prog, allow)
	if len(prog) > 4096 {
		return nil, fmt.Errorf("seccomp: program too long (%d instructions)", len(prog))
	}
	return bpf.Assemble(prog)
}

// Bytes is the filter for a GOARCH as the kernel's struct sock_filter
// array (8 bytes an instruction: u16 code, u8 jt, u8 jf, u32 k, in the
// target's byte order, little-endian on amd64 and arm64): what
// bubblewrap's --seccomp FD reads and hands to prctl(PR_SET_SECCOMP).
func (s Spec) Bytes(goarch string) ([]byte, error) {
	a, err := Arch(goarch)
	if err != nil {
		return nil, err
	}
	raw, err := s.Program(a)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 8*len(raw))
	for _, ins := range raw {
		out = binary.LittleEndian.AppendUint16(out, ins.Op)
		out = append(out, ins.Jt, ins.Jf)
		out = binary.LittleEndian.AppendUint32(out, ins.K)
	}
	return out, nil
}

// familyBlock is the check of socket(2) (socketpair(2) with pair set) on
// the family and type arguments; nil when the spec leaves them alone.
func (s Spec) familyBlock(pair bool) []bpf.Instruction {
	deny := bpf.RetConstant{Val: retErrno | ePERM}
	allow := bpf.RetConstant{Val: retAllow}
	var block []bpf.Instruction
	switch {
	case len(s.AllowSocketFamilies) > 0:
		block = append(block, bpf.LoadAbsolute{Off: offArg0, Size: 4})
		for _, f := range s.AllowSocketFamilies {
			if f == AFUnix && s.UnixSocketpairOnly && !pair {
				block = append(block, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(f), SkipFalse: 1}, deny)
				continue
			}
			if f == AFUnix && (s.UnixPeersOnly || s.UnixSocketpairOnly) {
				// Stream and seqpacket only, whatever the flag bits.
				types := []bpf.Instruction{
					bpf.LoadAbsolute{Off: offArg1, Size: 4},
					bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: sockTypeMask},
					bpf.JumpIf{Cond: bpf.JumpEqual, Val: sockStream, SkipFalse: 1}, allow,
					bpf.JumpIf{Cond: bpf.JumpEqual, Val: sockSeqpacket, SkipFalse: 1}, allow,
					deny,
				}
				block = append(block, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(f), SkipFalse: uint8(len(types))})
				block = append(block, types...)
				continue
			}
			block = append(block, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(f), SkipFalse: 1}, allow)
		}
		block = append(block, deny)
	case len(s.DenySocketFamilies) > 0:
		block = append(block, bpf.LoadAbsolute{Off: offArg0, Size: 4})
		for _, f := range s.DenySocketFamilies {
			block = append(block, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(f), SkipFalse: 1}, deny)
		}
		block = append(block, allow)
	}
	return block
}
