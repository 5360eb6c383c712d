package shim

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"polc/backends/bwrap"
	"polc/diag"
	"polc/ir"
	"polc/netproxy"
)

// A proxy-only network on Linux (docs/security.md, "Network"): the
// sandbox has a network namespace of its own holding loopback only, so
// nothing the command opens leaves it. polc's mask stage, as the
// sandbox's pid 1, listens there on 127.0.0.1 at the ports the proxy
// variables name (the bridge) and hands each accepted connection, as a
// descriptor, over a socketpair to polc outside, where the egress
// proxy (package netproxy) serves it and decides every request with
// ir.DecideNet. A descriptor carries the connection across namespaces
// without a copy, and without any Unix socket path: the sandbox has no
// socket to connect to and nothing on the host listens for it, so no
// other process can reach the proxy, and two launches never share one.
//
// Fail closed: when the proxy cannot start, or the bridge cannot listen,
// the command does not run (exit 125). When polc dies, the proxy dies
// with it, bwrap with polc (its parent-death signal) and the sandbox
// with bwrap: there is no proxy or bridge process left behind.

// fdBridge is the sandbox's end of the socketpair, the mask stage's
// last descriptor (after fdGo, inner_linux.go).
const fdBridge = fdFirst + 4

// Bridge tags: which listener a descriptor was accepted on.
const (
	bridgeHTTP  byte = 'h'
	bridgeSOCKS byte = 's'
)

// bridgeSpec is where the mask stage listens.
type bridgeSpec struct {
	HTTPPort  int `json:"http_port"`
	SOCKSPort int `json:"socks_port,omitempty"`
}

// netRoute is the host side of one launch's proxy-only network.
type netRoute struct {
	// child is the sandbox's end of the socketpair (given to bwrap);
	// ctrl is polc's.
	ctrl, child *os.File
	proxy       *netproxy.Proxy
	http, socks *connListener
	done        sync.WaitGroup
}

// startNetRoute starts the egress proxy of a launch whose artifact asks
// for a proxy-only network. n is the policy's network (the domain rules);
// log, when set, receives each refusal as a JSON line; stderr one line.
func startNetRoute(art *bwrap.Artifact, n *ir.Network, stderr, log io.Writer) (*netRoute, error) {
	if n == nil || n.Mode != ir.NetworkProxy {
		return nil, failf(diag.LinuxNetworkRoute, "the artifact routes the network through polc's proxy, but the launch has no proxy policy to enforce")
	}
	dec, err := ir.NewNetDecider(*n)
	if err != nil {
		return nil, failf(diag.LinuxNetworkRoute, "the network policy: %v", err)
	}
	if want := bwrap.Route(dec.Policy()); want != *art.Proxy {
		return nil, failf(diag.LinuxNetworkRoute, "the artifact's bridge ports (HTTP %d, SOCKS5 %d) are not the policy's (HTTP %d, SOCKS5 %d)",
			art.Proxy.HTTPPort, art.Proxy.SOCKSPort, want.HTTPPort, want.SOCKSPort)
	}
	px, err := netproxy.New(netproxy.Config{Decider: dec, OnRefusal: reportRefusals(stderr, log)})
	if err != nil {
		return nil, failf(diag.LinuxNetworkRoute, "starting the egress proxy: %v", err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, failf(diag.LinuxNetworkRoute, "the bridge's socketpair: %v", err)
	}
	r := &netRoute{
		ctrl: os.NewFile(uintptr(fds[0]), "polc-bridge"), child: os.NewFile(uintptr(fds[1]), "polc-bridge-sandbox"),
		proxy: px, http: newConnListener("http"), socks: newConnListener("socks5"),
	}
	r.done.Add(2)
	go func() { defer r.done.Done(); px.Serve(r.http) }()
	go func() {
		defer r.done.Done()
		if art.Proxy.SOCKSPort != 0 {
			px.ServeSOCKS5(r.socks)
		}
	}()
	go r.receive()
	return r, nil
}

// receive takes the descriptors the bridge sends until the sandbox's end
// closes, and queues each on its listener.
func (r *netRoute) receive() {
	defer r.http.Close()
	defer r.socks.Close()
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	fd := int(r.ctrl.Fd())
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		var got []int
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if fds, err := unix.ParseUnixRights(&m); err == nil {
					got = append(got, fds...)
				}
			}
		}
		for i, cfd := range got {
			l := r.http
			if buf[0] == bridgeSOCKS {
				l = r.socks
			}
			if i > 0 || !isStreamSocket(cfd) {
				unix.Close(cfd) // one connection a message, and only a TCP stream
				continue
			}
			f := os.NewFile(uintptr(cfd), "sandbox-connection")
			c, err := net.FileConn(f)
			f.Close()
			if err != nil {
				continue
			}
			l.put(c)
		}
	}
}

// isStreamSocket reports whether fd is an inet stream socket.
func isStreamSocket(fd int) bool {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != unix.SOCK_STREAM {
		return false
	}
	dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	return err == nil && (dom == unix.AF_INET || dom == unix.AF_INET6)
}

// close stops the proxy (open tunnels included) and releases the
// socketpair.
func (r *netRoute) close() {
	if r == nil {
		return
	}
	r.proxy.Close()
	r.ctrl.Close()
	if r.child != nil {
		r.child.Close()
	}
	r.http.Close()
	r.socks.Close()
	r.done.Wait()
}

// connListener is a net.Listener fed with connections the bridge sent.
type connListener struct {
	name   string
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnListener(name string) *connListener {
	return &connListener{name: name, conns: make(chan net.Conn, 16), closed: make(chan struct{})}
}

func (l *connListener) put(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return bridgeAddr(l.name) }

// bridgeAddr names a listener fed by the bridge.
type bridgeAddr string

func (a bridgeAddr) Network() string { return "polc-bridge" }
func (a bridgeAddr) String() string  { return "sandbox-bridge-" + string(a) }

// The stage's half: listen in the sandbox and pass what it accepts.

// bridgeListener is a listening socket of the bridge and the tag its
// connections are sent with.
type bridgeListener struct {
	fd  int
	tag byte
}

// bridgeListen binds the bridge's listeners on the sandbox's loopback. It
// runs before the stage drops its capabilities (a port below 1024 needs
// one); bridgeServe then accepts on them.
func bridgeListen(b *bridgeSpec) ([]bridgeListener, error) {
	var out []bridgeListener
	for _, l := range []struct {
		port int
		tag  byte
	}{{b.HTTPPort, bridgeHTTP}, {b.SOCKSPort, bridgeSOCKS}} {
		if l.port == 0 {
			continue
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("proxy bridge: socket: %v", err)
		}
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: l.port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return nil, fmt.Errorf("proxy bridge: listening on 127.0.0.1:%d in the sandbox: %v", l.port, err)
		}
		if err := unix.Listen(fd, 128); err != nil {
			return nil, fmt.Errorf("proxy bridge: listening on 127.0.0.1:%d in the sandbox: %v", l.port, err)
		}
		out = append(out, bridgeListener{fd, l.tag})
	}
	if len(out) == 0 {
		return nil, errors.New("proxy bridge: no port to listen on")
	}
	return out, nil
}

// bridgeServe accepts on each listener and sends every connection to
// polc outside; it returns at once (the accepting goroutines live as
// long as the stage).
func bridgeServe(listeners []bridgeListener, ctrl int) {
	for _, l := range listeners {
		go func(fd int, tag byte) {
			for {
				c, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
				switch err {
				case unix.EINTR, unix.ECONNABORTED:
					continue
				case unix.EMFILE, unix.ENFILE:
					time.Sleep(10 * time.Millisecond) // the command holds every descriptor; wait
					continue
				}
				if err != nil {
					return
				}
				for {
					err = unix.Sendmsg(ctrl, []byte{tag}, unix.UnixRights(c), nil, 0)
					if err != unix.EINTR {
						break
					}
				}
				unix.Close(c)
				if err != nil {
					return // polc is gone: the command has no network left
				}
			}
		}(l.fd, l.tag)
	}
}
