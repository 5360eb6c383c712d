package devcontainer

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/moby/profiles/seccomp"

	"polc/internal/canonjson"
)

//go:generate go run gen_default.go

// dockerDefault is Docker's default seccomp profile (see gen_default.go).
//
//go:embed docker-default.json
var dockerDefault []byte

// bubblewrapSyscalls are the calls Docker's default profile refuses to a
// container without CAP_SYS_ADMIN (clone with namespace flags, clone3,
// unshare, mount and the like) and that bubblewrap needs to build polc's
// inner sandbox. Inside a user namespace of its own these calls give no
// power over the host: the container keeps its capability set (no
// CAP_SYS_ADMIN), and every other call stays as Docker's default has it.
// The new mount API (fsopen, fsmount, move_mount, ...) and setns are left
// out: bubblewrap does not use them.
var bubblewrapSyscalls = []string{"clone", "clone3", "mount", "pivot_root", "sethostname", "umount2", "unshare"}

// seccompProfile is Docker's default profile with bubblewrapSyscalls
// allowed unconditionally. Docker's conditional rules for those calls
// (clone allowed only without namespace flags, clone3 refused with
// ENOSYS, the CAP_SYS_ADMIN-only group) lose those names, so that no two
// rules with different actions name one call.
func seccompProfile() ([]byte, error) {
	var p seccomp.Seccomp
	if err := json.Unmarshal(dockerDefault, &p); err != nil {
		return nil, fmt.Errorf("docker-default.json: %v", err)
	}
	kept := p.Syscalls[:0]
	for _, s := range p.Syscalls {
		s.Names = slices.DeleteFunc(s.Names, func(n string) bool { return slices.Contains(bubblewrapSyscalls, n) })
		if len(s.Names) > 0 {
			kept = append(kept, s)
		}
	}
	allow := &seccomp.Syscall{Comment: "polc: bubblewrap builds the inner sandbox in a user namespace of its own"}
	allow.Names = bubblewrapSyscalls
	allow.Action = "SCMP_ACT_ALLOW"
	p.Syscalls = append(kept, allow)
	return canonjson.Marshal(&p)
}
