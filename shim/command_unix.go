//go:build linux || darwin

package shim

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
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

// exitCode decodes a finished process's status as a shell reports it
// (128+N for a death by signal N); ok is false when err is not an exit.
func exitCode(err error) (code int, signaled, ok bool) {
	if err == nil {
		return 0, false, true
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, false, false
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), true, true
	}
	return ws.ExitStatus(), false, true
}
