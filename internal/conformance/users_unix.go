//go:build unix

package conformance

import (
	"os/exec"
	"syscall"
)

// Apply makes cmd run as the user.
func (u User) Apply(cmd *exec.Cmd) {
	if !u.Switch {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(u.Uid), Gid: uint32(u.Gid), Groups: []uint32{}}
}
