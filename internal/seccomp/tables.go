package seccomp

// ArchInfo is what the filter needs to know of an architecture: its
// audit ID (seccomp_data.arch) and the numbers of the syscalls the
// filter names.
//
// The tables are small constants rather than a full syscall table
// (github.com/elastic/go-seccomp-bpf/arch builds maps of every syscall
// of every architecture at init, which every polc exec paid for at
// startup); TestTablesMatchTheLibrary checks each number against that
// library's tables, which follow the kernel's.
type ArchInfo struct {
	Name     string
	ID       uint32
	Syscalls map[string]uint32
}

// Audit architecture IDs (linux/audit.h).
const (
	auditArchX86_64  = 0xc000003e
	auditArchAArch64 = 0xc00000b7
	auditArchI386    = 0x40000003
)

// X86_64 and AArch64 are the supported architectures.
var (
	X86_64 = &ArchInfo{Name: "x86_64", ID: auditArchX86_64, Syscalls: map[string]uint32{
		"ioctl":             16,
		"socket":            41,
		"connect":           42,
		"accept":            43,
		"sendto":            44,
		"bind":              49,
		"listen":            50,
		"socketpair":        53,
		"ptrace":            101,
		"syslog":            103,
		"init_module":       175,
		"delete_module":     176,
		"kexec_load":        246,
		"add_key":           248,
		"request_key":       249,
		"keyctl":            250,
		"perf_event_open":   298,
		"open_by_handle_at": 304,
		"process_vm_readv":  310,
		"process_vm_writev": 311,
		"finit_module":      313,
		"kexec_file_load":   320,
		"bpf":               321,
		"userfaultfd":       323,
		"accept4":           288,
		"io_uring_setup":    425,
		"io_uring_enter":    426,
		"io_uring_register": 427,
	}}
	AArch64 = &ArchInfo{Name: "aarch64", ID: auditArchAArch64, Syscalls: map[string]uint32{
		"ioctl":             29,
		"kexec_load":        104,
		"init_module":       105,
		"delete_module":     106,
		"syslog":            116,
		"ptrace":            117,
		"socket":            198,
		"socketpair":        199,
		"bind":              200,
		"listen":            201,
		"accept":            202,
		"connect":           203,
		"sendto":            206,
		"add_key":           217,
		"request_key":       218,
		"keyctl":            219,
		"perf_event_open":   241,
		"accept4":           242,
		"open_by_handle_at": 265,
		"process_vm_readv":  270,
		"process_vm_writev": 271,
		"finit_module":      273,
		"bpf":               280,
		"userfaultfd":       282,
		"kexec_file_load":   294,
		"io_uring_setup":    425,
		"io_uring_enter":    426,
		"io_uring_register": 427,
	}}
)
