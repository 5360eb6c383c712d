// Command attacker is what e2e tests run inside the sandbox to try the
// escapes of issue 9 with syscalls a shell cannot make. Each
// subcommand prints one line per attempt, "ok ..." or "err ERRNO", and
// never writes to a kernel knob: the /proc probes only open for writing.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: attacker CMD ARGS...")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "connect": // connect PATH|@ABSTRACT: a stream socket; read the peer's greeting
		for _, a := range args {
			report("connect "+a, streamConnect(unix.SOCK_STREAM, a))
		}
	case "seqpacket": // seqpacket PATH: the same with SOCK_SEQPACKET
		for _, a := range args {
			report("seqpacket "+a, streamConnect(unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, a))
		}
	case "dgram": // dgram PATH: a datagram socket sends to PATH
		for _, a := range args {
			report("dgram "+a, dgramSend(a))
		}
	case "dgram-pair": // dgram-pair PATH: a datagram socketpair sends to PATH with sendmsg's msg_name
		for _, a := range args {
			report("dgram-pair "+a, pairSendmsg(unix.SOCK_DGRAM, a))
			report("raw-pair "+a, pairSendmsg(unix.SOCK_RAW|unix.SOCK_CLOEXEC, a))
		}
	case "stream-sendto": // stream-sendto PATH: sendto with a destination on a stream socketpair
		for _, a := range args {
			report("stream-sendto "+a, streamSendto(a))
		}
	case "listen": // listen PATH: bind and listen a socket of the sandbox's own
		for _, a := range args {
			report("listen "+a, listenAt(a))
		}
	case "keyring": // keyring DESC: find and read a key of the user keyring, and add one
		for _, a := range args {
			id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", a, 0)
			report("search "+a, err)
			if err == nil {
				buf := make([]byte, 64)
				_, err = unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
				report("read "+a, err)
			}
			_, err = unix.AddKey("user", a, []byte("forged"), unix.KEY_SPEC_USER_KEYRING)
			report("add "+a, err)
			_, err = unix.KeyctlJoinSessionKeyring("")
			report("join-session", err)
		}
	case "tcp": // tcp IP:PORT: connect an IPv4 TCP socket
		for _, a := range args {
			report("tcp "+a, tcpConnect(a))
		}
	case "takeport": // takeport PORT...: bind and listen at 127.0.0.1 and 0.0.0.0, plain and with SO_REUSEADDR or SO_REUSEPORT
		for _, a := range args {
			port, _ := strconv.Atoi(a)
			for _, ip := range [][4]byte{{127, 0, 0, 1}, {}} {
				for _, opt := range []struct {
					name string
					opt  int
				}{{"", 0}, {"reuseaddr", unix.SO_REUSEADDR}, {"reuseport", unix.SO_REUSEPORT}} {
					what := fmt.Sprintf("takeport %d.%d.%d.%d:%d %s", ip[0], ip[1], ip[2], ip[3], port, opt.name)
					report(strings.TrimSpace(what), takePort(ip, port, opt.opt))
				}
			}
		}
	case "pairs": // socketpairs, send/recv and fd passing: must work
		report("pairs", pairs())
	case "inherited": // inherited FD: ping over an inherited socket
		fd, _ := strconv.Atoi(args[0])
		report("inherited", inherited(fd))
	case "wopen": // wopen PATH...: open for writing, write nothing
		for _, a := range args {
			fd, err := unix.Open(a, unix.O_WRONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
			report("wopen "+a, err)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

func report(what string, err error) {
	var en unix.Errno
	switch {
	case err == nil:
		fmt.Println("ok", what)
	case errors.As(err, &en):
		fmt.Println("err", unix.ErrnoName(en), what)
	default:
		fmt.Println("err", strings.ReplaceAll(err.Error(), " ", "_"), what)
	}
}

func addr(a string) *unix.SockaddrUnix {
	if strings.HasPrefix(a, "@") {
		return &unix.SockaddrUnix{Name: "\x00" + a[1:]}
	}
	return &unix.SockaddrUnix{Name: a}
}

func streamConnect(typ int, a string) error {
	fd, err := unix.Socket(unix.AF_UNIX, typ, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, addr(a)); err != nil {
		return err
	}
	buf := make([]byte, 64)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return err
	}
	if string(buf[:n]) != "HOST\n" {
		return fmt.Errorf("unexpected greeting %q", buf[:n])
	}
	return nil
}

func dgramSend(a string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Sendto(fd, []byte("PWNED-dgram"), 0, addr(a))
}

func pairSendmsg(typ int, a string) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, typ, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	// sendmsg with a msg_name: the filter cannot see it.
	return unix.Sendmsg(fds[0], []byte("PWNED-pair"), nil, addr(a), 0)
}

func streamSendto(a string) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	return unix.Sendto(fds[0], []byte("x"), 0, addr(a))
}

func listenAt(a string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, addr(a)); err != nil {
		return err
	}
	return unix.Listen(fd, 1)
}

// takePort binds a TCP socket at ip:port (with the socket option opt
// set, unless 0) and listens on it.
func takePort(ip [4]byte, port, opt int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if opt != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
			return err
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: ip}); err != nil {
		return err
	}
	return unix.Listen(fd, 1)
}

// pairs exercises what sandboxed programs use socketpairs for: stream
// and seqpacket pairs (with the flag bits), send (sendto without a
// destination), recv, sendmsg and recvmsg passing a descriptor, and
// shutdown.
func pairs() error {
	for _, typ := range []int{unix.SOCK_STREAM | unix.SOCK_CLOEXEC, unix.SOCK_SEQPACKET | unix.SOCK_NONBLOCK, unix.SOCK_STREAM} {
		fds, err := unix.Socketpair(unix.AF_UNIX, typ, 0)
		if err != nil {
			return fmt.Errorf("socketpair %#x: %w", typ, err)
		}
		if err := unix.Sendto(fds[0], []byte("hi"), 0, nil); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		buf := make([]byte, 8)
		if n, _, err := unix.Recvfrom(fds[1], buf, 0); err != nil || string(buf[:n]) != "hi" {
			return fmt.Errorf("recv: %q %v", buf[:n], err)
		}
		// Pass a descriptor (a pipe's read end) and read through it.
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			return err
		}
		unix.Write(p[1], []byte("fd"))
		if err := unix.Sendmsg(fds[0], []byte("m"), unix.UnixRights(p[0]), nil, 0); err != nil {
			return fmt.Errorf("sendmsg SCM_RIGHTS: %w", err)
		}
		oob := make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := unix.Recvmsg(fds[1], buf, oob, 0)
		if err != nil {
			return fmt.Errorf("recvmsg: %w", err)
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return fmt.Errorf("control message: %v", err)
		}
		got, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(got) != 1 {
			return fmt.Errorf("rights: %v", err)
		}
		if n, err := unix.Read(got[0], buf); err != nil || string(buf[:n]) != "fd" {
			return fmt.Errorf("read through the passed descriptor: %q %v", buf[:n], err)
		}
		if err := unix.Shutdown(fds[0], unix.SHUT_WR); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		for _, fd := range []int{fds[0], fds[1], p[0], p[1], got[0]} {
			unix.Close(fd)
		}
	}
	return nil
}

func inherited(fd int) error {
	if _, err := unix.Write(fd, []byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 8)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return err
	}
	if string(buf[:n]) != "pong" {
		return fmt.Errorf("reply %q", buf[:n])
	}
	return nil
}

func tcpConnect(a string) error {
	host, port, _ := strings.Cut(a, ":")
	p, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host).To4()
	if ip == nil {
		return fmt.Errorf("not an IPv4 address: %s", host)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	sa := &unix.SockaddrInet4{Port: p}
	copy(sa.Addr[:], ip)
	return unix.Connect(fd, sa)
}
