//go:build !linux

package firewall

import (
	"errors"
	"syscall"
)

// markControl fails: socket marks and the firewall are Linux-only.
func markControl(uint32) func(network, address string, c syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error {
		return errors.New("the polc firewall runs on Linux only")
	}
}
