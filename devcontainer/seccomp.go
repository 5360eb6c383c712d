package devcontainer

import "polc/canonjson"

// Docker's default seccomp profile refuses unshare, mount, pivot_root and
// clone with namespace flags to a container without CAP_SYS_ADMIN, which
// is exactly what bubblewrap needs to build polc's inner sandbox (in a
// user namespace, where those calls give no power over the host). This
// profile allows every system call but the ones that reach the host
// kernel's global state or other processes' memory and are never needed
// to build or run a sandboxed command: a denylist, kept short and
// explicit so that a reviewer can read it. The container's capabilities
// (Docker drops CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_TIME and the like)
// still refuse most of them; the profile is the second lock.
var deniedSyscalls = []string{
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
	"delete_module", "finit_module", "get_kernel_syms", "get_mempolicy", "init_module",
	"ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl",
	"lookup_dcookie", "mbind", "move_pages", "name_to_handle_at", "nfsservctl",
	"open_by_handle_at", "perf_event_open", "process_vm_readv", "process_vm_writev",
	"query_module", "quotactl", "reboot", "request_key", "set_mempolicy",
	"settimeofday", "stime", "swapoff", "swapon", "sysfs", "syslog", "uselib",
	"userfaultfd", "ustat", "vm86", "vm86old",
}

func seccompProfile() ([]byte, error) {
	return canonjson.Marshal(map[string]any{
		"defaultAction": "SCMP_ACT_ALLOW",
		"architectures": []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
		"syscalls": []map[string]any{{
			"names":    deniedSyscalls,
			"action":   "SCMP_ACT_ERRNO",
			"errnoRet": 1,
		}},
	})
}
