package sockexec

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// The package does not import net: polc's mask stage imports it, and
// starts before the package initialisation of whatever imports net
// (see maskstage).

// Send is the sandbox's half in Go, for polc's mask stage: it makes n
// TCP sockets in the stage's network namespace, sends them on ctrl,
// closes its copies and waits for TagGo. An error means the command must
// not run.
func Send(ctrl, n int) error {
	if n < 1 || n > MaxSockets {
		return fmt.Errorf("sockexec: %d sockets (1 to %d)", n, MaxSockets)
	}
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for i := 0; i < n; i++ {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			if errno, ok := err.(unix.Errno); ok && errno < 256 {
				unix.Write(ctrl, []byte{TagFailed, byte(errno)})
			}
			return fmt.Errorf("making the proxy's socket in the sandbox: %v", err)
		}
		fds = append(fds, fd)
	}
	for {
		err := unix.Sendmsg(ctrl, []byte{TagSockets}, unix.UnixRights(fds...), nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("handing the proxy's sockets to polc: %v", err)
		}
		break
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	fds = nil
	var b [1]byte
	for {
		n, err := unix.Read(ctrl, b[:])
		if err == unix.EINTR {
			continue
		}
		if n != 1 || b[0] != TagGo {
			return errors.New("polc did not take the proxy's sockets")
		}
		return nil
	}
}

// ErrEnded is Receive's error when the sandbox closed its end of the
// socketpair without a word (or polc closed its own): nothing in the
// sandbox got as far as making the sockets.
var ErrEnded = errors.New("the sandbox ended before it made the proxy's sockets")

// Receive reads the sandbox's one message from c (polc's end of the
// socketpair, waited on through the runtime's poller): n sockets (as
// files, close-on-exec), or why the sandbox could not make them. Any
// other message, or a number of descriptors other than n, is an error
// and every descriptor received is closed. c closed while it waits is
// ErrEnded.
func Receive(c syscall.Conn, n int) ([]*os.File, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 4)
	oob := make([]byte, unix.CmsgSpace(4*(MaxSockets+1)))
	var nb, noob, flags int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		nb, noob, flags, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN && rerr != unix.EINTR
	}); err != nil {
		return nil, ErrEnded // closed while it waited
	}
	if rerr == nil && nb == 0 && noob == 0 {
		return nil, ErrEnded
	}
	if rerr != nil {
		return nil, fmt.Errorf("reading the sandbox's sockets: %v", rerr)
	}
	var files []*os.File
	if msgs, err := unix.ParseSocketControlMessage(oob[:noob]); err == nil {
		for _, m := range msgs {
			if fds, err := unix.ParseUnixRights(&m); err == nil {
				for _, fd := range fds {
					files = append(files, os.NewFile(uintptr(fd), "sandbox-socket"))
				}
			}
		}
	}
	fail := func(format string, args ...any) ([]*os.File, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, fmt.Errorf(format, args...)
	}
	switch {
	case buf[0] == TagFailed && nb == 2:
		return fail("the sandbox could not make the proxy's sockets: %v", unix.Errno(buf[1]))
	case buf[0] != TagSockets || nb != 1 || flags&(unix.MSG_CTRUNC|unix.MSG_TRUNC) != 0:
		return fail("the sandbox sent a message polc did not ask for")
	case len(files) != n:
		return fail("the sandbox sent %d sockets for %d listeners", len(files), n)
	}
	return files, nil
}

// Listen checks that f is a fresh TCP socket of a network namespace
// other than polc's, binds it to 127.0.0.1:port there and listens on it:
// f is then the listening socket (net.FileListener serves it). On an
// error f is closed. The socket does not set SO_REUSEADDR or
// SO_REUSEPORT: while it listens, no other socket of that namespace can
// bind the port, the sandboxed command's included.
func Listen(f *os.File, port int) (err error) {
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	err = sc.Control(func(u uintptr) {
		fd := int(u)
		for _, want := range []struct {
			opt, val int
			what     string
		}{
			{unix.SO_DOMAIN, unix.AF_INET, "an IPv4 socket"},
			{unix.SO_TYPE, unix.SOCK_STREAM, "a stream socket"},
			{unix.SO_PROTOCOL, unix.IPPROTO_TCP, "a TCP socket"},
			{unix.SO_ACCEPTCONN, 0, "a socket that does not listen yet"},
		} {
			if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, want.opt); err != nil || v != want.val {
				lerr = fmt.Errorf("the sandbox's socket is not %s", want.what)
				return
			}
		}
		if sa, err := unix.Getsockname(fd); err != nil {
			lerr = err
			return
		} else if in, ok := sa.(*unix.SockaddrInet4); !ok || in.Port != 0 {
			lerr = errors.New("the sandbox's socket is bound already")
			return
		}
		if err := notOwnNetns(fd); err != nil {
			lerr = err
			return
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			lerr = fmt.Errorf("binding 127.0.0.1:%d in the sandbox: %v", port, err)
			return
		}
		if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
			lerr = fmt.Errorf("listening on 127.0.0.1:%d in the sandbox: %v", port, err)
		}
	})
	if err != nil {
		return err
	}
	return lerr
}

// notOwnNetns fails when the socket fd belongs to polc's own network
// namespace: a listener there would be the host's. Asking a socket for
// its namespace needs CAP_NET_ADMIN over it, which polc has over the
// sandbox's (bubblewrap made it in a user namespace of polc's uid, or
// polc is root); where the kernel refuses, the sockets came from the
// sandbox's first process before anything else ran there, and polc
// trusts them.
func notOwnNetns(fd int) error {
	ns, err := unix.IoctlRetInt(fd, unix.SIOCGSKNS)
	if err != nil {
		return nil
	}
	defer unix.Close(ns)
	var theirs, ours unix.Stat_t
	// This thread's namespace: the process's (/proc/self) is its first
	// thread's, which a caller may have moved (tests do).
	if unix.Fstat(ns, &theirs) != nil || unix.Stat("/proc/thread-self/ns/net", &ours) != nil {
		return errors.New("cannot tell the sandbox's network namespace from polc's")
	}
	if theirs.Dev == ours.Dev && theirs.Ino == ours.Ino {
		return errors.New("the socket the sandbox sent is in polc's own network namespace")
	}
	return nil
}
