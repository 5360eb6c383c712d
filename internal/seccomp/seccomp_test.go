package seccomp

import (
	"encoding/binary"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
)

// run evaluates a filter on one syscall with x/net/bpf's VM. The VM loads
// words big-endian, so each 32-bit field of struct seccomp_data is laid
// out big-endian: the VM then sees the native value the kernel would.
func run(t *testing.T, s Spec, a *ArchInfo, auditArch uint32, nr uint32, args ...uint64) uint32 {
	t.Helper()
	raw, err := s.Program(a)
	if err != nil {
		t.Fatal(err)
	}
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("program does not disassemble")
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 64)
	binary.BigEndian.PutUint32(data[0:], nr)
	binary.BigEndian.PutUint32(data[4:], auditArch)
	for i, v := range args {
		binary.BigEndian.PutUint32(data[16+8*i:], uint32(v))
		binary.BigEndian.PutUint32(data[20+8*i:], uint32(v>>32))
	}
	out, err := vm.Run(data)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(out)
}

const (
	allow  = retAllow
	eperm  = retErrno | ePERM
	enosys = retErrno | eNOSYS
	afInet = 2

	sockDgram = 2
	sockRaw   = 3
)

func TestFilterBothArches(t *testing.T) {
	lib := map[*ArchInfo]*arch.Info{X86_64: arch.X86_64, AArch64: arch.AARCH64}
	for _, a := range []*ArchInfo{X86_64, AArch64} {
		// Syscalls the filter does not name come from the full tables.
		nr := func(n string) uint32 {
			if v, ok := a.Syscalls[n]; ok {
				return v
			}
			v, ok := lib[a].SyscallNames[n]
			if !ok {
				t.Fatalf("%s: no syscall %s", a.Name, n)
			}
			return uint32(v)
		}
		off, on := ForNetwork(false), ForNetwork(true)
		hostSockets := ForNetwork(false)
		hostSockets.UnixPeersOnly = false
		proxy := ForProxy()
		id := a.ID
		cases := []struct {
			name string
			spec Spec
			nr   uint32
			args []uint64
			want uint32
		}{
			{"read", off, nr("read"), nil, allow},
			{"ptrace", off, nr("ptrace"), nil, eperm},
			{"ptrace with network", on, nr("ptrace"), nil, eperm},
			{"process_vm_writev", off, nr("process_vm_writev"), nil, eperm},
			{"io_uring_setup", on, nr("io_uring_setup"), nil, eperm},
			{"keyctl", off, nr("keyctl"), nil, eperm},
			{"socket AF_UNIX, network off", off, nr("socket"), []uint64{AFUnix, sockStream}, allow},
			{"socket AF_INET, network off", off, nr("socket"), []uint64{afInet}, eperm},
			{"socket AF_INET with high garbage", off, nr("socket"), []uint64{1<<32 | afInet}, eperm},
			{"socketpair AF_INET, network off", off, nr("socketpair"), []uint64{afInet}, eperm},
			{"socket AF_INET, network on", on, nr("socket"), []uint64{afInet}, allow},
			{"socket AF_VSOCK, network on", on, nr("socket"), []uint64{AFVsock}, eperm},
			{"socket AF_VSOCK with high garbage, network on", on, nr("socket"), []uint64{1<<40 | AFVsock}, eperm},
			{"connect, network off", off, nr("connect"), nil, eperm},
			{"bind, network off", off, nr("bind"), nil, eperm},
			{"listen, network off", off, nr("listen"), nil, eperm},
			{"accept, network off", off, nr("accept"), nil, eperm},
			{"accept4, network off", off, nr("accept4"), nil, eperm},
			{"connect, network on", on, nr("connect"), nil, allow},
			{"connect, host sockets allowed", hostSockets, nr("connect"), nil, allow},
			{"send (sendto without destination)", off, nr("sendto"), []uint64{3, 0x1000, 5, 0, 0, 0}, allow},
			{"sendto with a destination", off, nr("sendto"), []uint64{3, 0x1000, 5, 0, 0x7ffc0000, 110}, eperm},
			{"sendto with a destination above 4 GiB only", off, nr("sendto"), []uint64{3, 0x1000, 5, 0, 1 << 32, 110}, eperm},
			{"sendto with a destination, host sockets allowed", hostSockets, nr("sendto"), []uint64{3, 0x1000, 5, 0, 0x7ffc0000, 110}, allow},
			{"socket AF_UNIX SOCK_STREAM", off, nr("socket"), []uint64{AFUnix, sockStream}, allow},
			{"socket AF_UNIX SOCK_SEQPACKET|SOCK_CLOEXEC", off, nr("socket"), []uint64{AFUnix, sockSeqpacket | 0o2000000}, allow},
			{"socket AF_UNIX SOCK_DGRAM", off, nr("socket"), []uint64{AFUnix, sockDgram}, eperm},
			{"socket AF_UNIX SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC", off, nr("socket"), []uint64{AFUnix, sockDgram | 0o4000 | 0o2000000}, eperm},
			{"socket AF_UNIX SOCK_RAW", off, nr("socket"), []uint64{AFUnix, sockRaw}, eperm},
			{"socketpair AF_UNIX SOCK_DGRAM", off, nr("socketpair"), []uint64{AFUnix, sockDgram}, eperm},
			{"socketpair AF_UNIX SOCK_RAW|SOCK_CLOEXEC", off, nr("socketpair"), []uint64{AFUnix, sockRaw | 0o2000000}, eperm},
			{"socketpair AF_UNIX SOCK_STREAM|SOCK_CLOEXEC", off, nr("socketpair"), []uint64{AFUnix, sockStream | 0o2000000}, allow},
			{"socketpair AF_UNIX SOCK_SEQPACKET", off, nr("socketpair"), []uint64{AFUnix, sockSeqpacket}, allow},
			{"socketpair AF_UNIX SOCK_DGRAM, host sockets allowed", hostSockets, nr("socketpair"), []uint64{AFUnix, sockDgram}, allow},
			{"socket AF_INET, host sockets allowed", hostSockets, nr("socket"), []uint64{afInet, sockStream}, eperm},
			{"socket AF_UNIX SOCK_DGRAM, network on", on, nr("socket"), []uint64{AFUnix, sockDgram}, allow},
			{"recvfrom stays allowed", off, nr("recvfrom"), nil, allow},
			{"sendmsg stays allowed", off, nr("sendmsg"), nil, allow},
			// Proxy-only network: inet in the sandbox's own loopback, no
			// AF_UNIX socket but connected pairs.
			{"socket AF_INET, proxy", proxy, nr("socket"), []uint64{afInet, sockStream}, allow},
			{"socket AF_INET6, proxy", proxy, nr("socket"), []uint64{AFInet6, sockStream}, allow},
			{"socket AF_UNIX SOCK_STREAM, proxy", proxy, nr("socket"), []uint64{AFUnix, sockStream}, eperm},
			{"socket AF_UNIX with high garbage, proxy", proxy, nr("socket"), []uint64{1<<32 | AFUnix, sockStream}, eperm},
			{"socket AF_UNIX SOCK_SEQPACKET, proxy", proxy, nr("socket"), []uint64{AFUnix, sockSeqpacket}, eperm},
			{"socket AF_NETLINK, proxy", proxy, nr("socket"), []uint64{16, sockRaw}, eperm},
			{"socket AF_VSOCK, proxy", proxy, nr("socket"), []uint64{AFVsock, sockStream}, eperm},
			{"socketpair AF_UNIX SOCK_STREAM, proxy", proxy, nr("socketpair"), []uint64{AFUnix, sockStream | 0o2000000}, allow},
			{"socketpair AF_UNIX SOCK_DGRAM, proxy", proxy, nr("socketpair"), []uint64{AFUnix, sockDgram}, eperm},
			{"connect, proxy", proxy, nr("connect"), nil, allow},
			{"listen, proxy", proxy, nr("listen"), nil, allow},
			{"ptrace, proxy", proxy, nr("ptrace"), nil, eperm},
			{"ioctl TIOCSTI", off, nr("ioctl"), []uint64{0, tiocsti}, eperm},
			{"ioctl TCGETS", off, nr("ioctl"), []uint64{0, 0x5401}, allow},
		}
		for _, c := range cases {
			if got := run(t, c.spec, a, id, c.nr, c.args...); got != c.want {
				t.Errorf("%s: %s = %#x, want %#x", a.Name, c.name, got, c.want)
			}
		}
		// Another ABI's syscalls never reach the list: fail them all.
		if got := run(t, off, a, auditArchI386, 1); got != enosys {
			t.Errorf("%s: foreign-ABI syscall = %#x, want ENOSYS", a.Name, got)
		}
	}
	if got := run(t, ForNetwork(false), X86_64, X86_64.ID, x32Bit|41, AFUnix); got != enosys {
		t.Errorf("x32 syscall = %#x, want ENOSYS", got)
	}
}

func TestEveryDeniedSyscallHasAReason(t *testing.T) {
	s := ForNetwork(false)
	if len(s.Deny) != len(Reason) {
		t.Fatalf("deny list has %d syscalls, reasons %d", len(s.Deny), len(Reason))
	}
	for _, n := range s.Deny {
		if Reason[n] == "" {
			t.Errorf("%s: no reason", n)
		}
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejects(t *testing.T) {
	bad := []Spec{
		{Deny: []string{"no_such_call"}},
		{AllowSocketFamilies: []int{1}, DenySocketFamilies: []int{40}},
		{DenySocketFamilies: []int{-1}},
		{UnixPeersOnly: true},
		{UnixPeersOnly: true, DenySocketFamilies: []int{40}},
		{UnixSocketpairOnly: true},
		{UnixSocketpairOnly: true, UnixPeersOnly: true, AllowSocketFamilies: []int{1}},
	}
	for _, s := range bad {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v: want an error", s)
		}
	}
	if _, err := Arch("riscv64"); err == nil {
		t.Error("riscv64: want unsupported")
	}
}

// TestBytesIsTheProgram: the serialized filter bwrap loads is the same
// program, instruction for instruction, in the kernel's layout.
func TestBytesIsTheProgram(t *testing.T) {
	for _, goarch := range []string{"amd64", "arm64"} {
		s := ForNetwork(false)
		a, _ := Arch(goarch)
		raw, err := s.Program(a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Bytes(goarch)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 8*len(raw) {
			t.Fatalf("%s: %d bytes for %d instructions", goarch, len(b), len(raw))
		}
		for i, ins := range raw {
			got := bpf.RawInstruction{Op: binary.LittleEndian.Uint16(b[8*i:]), Jt: b[8*i+2], Jf: b[8*i+3], K: binary.LittleEndian.Uint32(b[8*i+4:])}
			if got != ins {
				t.Fatalf("%s: instruction %d = %+v, want %+v", goarch, i, got, ins)
			}
		}
	}
	if _, err := ForNetwork(true).Bytes("riscv64"); err == nil {
		t.Error("riscv64: want unsupported")
	}
}

// TestTablesMatchTheLibrary: every syscall number and audit ID polc
// knows is the one of go-seccomp-bpf's full tables (which follow the
// kernel's), and the filter names no syscall the tables lack.
func TestTablesMatchTheLibrary(t *testing.T) {
	for _, c := range []struct {
		ours *ArchInfo
		lib  *arch.Info
	}{{X86_64, arch.X86_64}, {AArch64, arch.AARCH64}} {
		if c.ours.ID != uint32(c.lib.ID) {
			t.Errorf("%s: audit ID %#x, library %#x", c.ours.Name, c.ours.ID, uint32(c.lib.ID))
		}
		for name, nr := range c.ours.Syscalls {
			if want, ok := c.lib.SyscallNames[name]; !ok || uint32(want) != nr {
				t.Errorf("%s: %s = %d, library %d (known %v)", c.ours.Name, name, nr, want, ok)
			}
		}
		for _, name := range append(append(ForNetwork(false).Deny, addressCalls...), "socket", "socketpair", "ioctl", "sendto") {
			if _, ok := c.ours.Syscalls[name]; !ok {
				t.Errorf("%s: no number for %s", c.ours.Name, name)
			}
		}
	}
	if auditArchI386 != uint32(arch.I386.ID) {
		t.Errorf("i386 audit ID %#x, library %#x", auditArchI386, uint32(arch.I386.ID))
	}
}
