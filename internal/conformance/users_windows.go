package conformance

import "os/exec"

// Apply makes cmd run as the user: Windows tests never switch.
func (u User) Apply(cmd *exec.Cmd) {}
