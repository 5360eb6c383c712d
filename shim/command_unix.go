//go:build linux || darwin

package shim

import (
	"os"
	"os/exec"
)

// command builds the process that runs under the sandbox: the launch's
// standard streams, or polc's own where the launch leaves them nil.
func (l *Launch) command(bin string, args []string, dir string, environ []string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, environ
	cmd.Stdin, cmd.Stdout, cmd.Stderr = l.Stdin, l.Stdout, l.Stderr
	if cmd.Stdin == nil {
		cmd.Stdin = os.Stdin
	}
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	return cmd
}
