package shim

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"polc/backends/bwrap"
	"polc/diag"
	"polc/internal/sockexec"
	"polc/ir"
	"polc/netproxy"
)

// A proxy-only network on Linux (docs/security.md, "Network"): the
// sandbox has a network namespace of its own holding loopback only, so
// nothing the command opens leaves it. The sandbox's first process
// makes the TCP sockets of the proxy's listeners there (a socket belongs
// to the namespace of the process that creates it) and hands them, as
// descriptors, over a socketpair to polc outside (package sockexec):
// polc binds them to 127.0.0.1 at the ports the proxy variables name,
// listens, and serves them with the egress proxy (package netproxy),
// which decides every request with ir.DecideNet. Only then may the
// command start. The first process is sockexec's program, a few hundred
// bytes bwrap runs before it execs the command (the direct launch), or
// polc's mask stage when the launch needs one (package maskstage).
//
// Nothing of the proxy lives in the sandbox: the listening sockets are
// polc's alone (the first process closes its copies, close-on-exec
// anyway, before the command exists), no Unix socket path is involved
// (the sandbox has none to connect to and nothing on the host listens
// for it), so no other process can reach the proxy, and two launches
// never share one. The listeners set neither SO_REUSEADDR nor
// SO_REUSEPORT: the command cannot bind their ports while they listen.
//
// Fail closed: when the proxy cannot start, or the sockets cannot be
// made, bound or listened on, the command does not run (exit 125,
// POL220). When polc dies, the proxy and its listeners die with it,
// bwrap with polc (its parent-death signal) and the sandbox with bwrap.

// netRoute is the host side of one launch's proxy-only network.
type netRoute struct {
	// child is the sandbox's end of the socketpair (given to bwrap);
	// ctrl is polc's.
	ctrl  *net.UnixConn
	child *os.File
	proxy *netproxy.Proxy
	// ports are the listeners' ports: HTTP, then SOCKS5 when enabled.
	ports []int
	done  sync.WaitGroup
	// settled is closed once the sandbox's sockets were taken or
	// refused; err says why not (nil: the proxy listens in the sandbox).
	settled chan struct{}
	err     error
	// ended is set when the sandbox closed its end without a word (it
	// did not get as far as making the sockets).
	ended bool
}

// startNetRoute starts the egress proxy of a launch whose artifact asks
// for a proxy-only network, and waits, in the background, for the
// sandbox's sockets. n is the policy's network (the domain rules); log,
// when set, receives each refusal as a JSON line; stderr one line.
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
	ports := []int{art.Proxy.HTTPPort}
	if art.Proxy.SOCKSPort != 0 {
		ports = append(ports, art.Proxy.SOCKSPort)
	}
	px, err := netproxy.New(netproxy.Config{Decider: dec, OnRefusal: reportRefusals(stderr, log)})
	if err != nil {
		return nil, failf(diag.LinuxNetworkRoute, "starting the egress proxy: %v", err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, failf(diag.LinuxNetworkRoute, "the proxy's socketpair: %v", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "polc-bridge")
	fc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, failf(diag.LinuxNetworkRoute, "the proxy's socketpair: %v", err)
	}
	r := &netRoute{
		ctrl: fc.(*net.UnixConn), child: os.NewFile(uintptr(fds[1]), "polc-bridge-sandbox"),
		proxy: px, ports: ports, settled: make(chan struct{}),
	}
	go r.take()
	return r, nil
}

// take receives the sandbox's sockets, listens on them, serves them, and
// tells the sandbox to go on; on any failure it closes polc's end of the
// socketpair instead, and the command never starts.
func (r *netRoute) take() {
	defer close(r.settled)
	defer r.ctrl.Close()
	files, err := sockexec.Receive(r.ctrl, len(r.ports))
	if err != nil {
		r.err, r.ended = err, errors.Is(err, sockexec.ErrEnded)
		return
	}
	var ls []net.Listener
	for i, f := range files {
		if r.err != nil {
			f.Close()
			continue
		}
		if err := sockexec.Listen(f, r.ports[i]); err != nil {
			r.err = err
			continue
		}
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			r.err = err
			continue
		}
		ls = append(ls, sandboxListener{l, i})
	}
	if r.err == nil {
		_, r.err = r.ctrl.Write([]byte{sockexec.TagGo})
	}
	if r.err != nil {
		for _, l := range ls {
			l.Close()
		}
		return
	}
	for i, l := range ls {
		r.done.Add(1)
		go func() {
			defer r.done.Done()
			defer l.Close() // when the proxy closed before it served l
			if i == 0 {
				r.proxy.Serve(l)
			} else {
				r.proxy.ServeSOCKS5(l)
			}
		}()
	}
}

// failure is why the proxy does not listen in the sandbox, once bwrap
// has exited: nil when it listens; ended when the sandbox closed its end
// before it made the sockets (bwrap's own setup failed first, or the
// sandbox's first process died).
func (r *netRoute) failure() (err error, ended bool) {
	select {
	case <-r.settled:
	case <-time.After(2 * time.Second):
		// The sandbox's processes hold its end until they are gone,
		// which follows bwrap's exit at once (they die with it): what
		// they sent is read first. Past that, closing ours ends the wait.
		r.ctrl.Close()
		<-r.settled
	}
	return r.err, r.ended
}

// close stops the proxy (open tunnels included) and releases the
// socketpair.
func (r *netRoute) close() {
	if r == nil {
		return
	}
	r.ctrl.Close()
	if r.child != nil {
		r.child.Close()
	}
	<-r.settled
	r.proxy.Close()
	r.done.Wait()
}

// sandboxListener is a listener in the sandbox's network namespace. Its
// address is not one of the host's: the proxy must not take it for its
// own (a host service may listen at the same address and port).
type sandboxListener struct {
	net.Listener
	i int
}

func (l sandboxListener) Addr() net.Addr {
	if l.i == 0 {
		return bridgeAddr("http")
	}
	return bridgeAddr("socks5")
}

// bridgeAddr names a listener in the sandbox.
type bridgeAddr string

func (a bridgeAddr) Network() string { return "polc-sandbox" }
func (a bridgeAddr) String() string  { return "sandbox-" + string(a) }
