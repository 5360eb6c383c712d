//go:build linux

package firewall

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// markControl sets SO_MARK on the forwarder's upstream sockets: the
// ruleset lets DNS out only from sockets carrying the mark (setting it
// needs CAP_NET_ADMIN, which the sandboxed command does not have).
func markControl(mark uint32) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, int(mark))
		})
		if err != nil {
			return err
		}
		return serr
	}
}
