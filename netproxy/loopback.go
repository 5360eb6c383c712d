package netproxy

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"polc/ir"
)

// Loopback is a proxy serving one launch on the host's loopback, at the
// ports the policy promises (ir.Proxy.Ports): the launch on macOS and
// Windows, whose sandboxes share the host's loopback and let the command
// reach those ports only. The HTTP listener always runs, the SOCKS5 one
// when the policy enables SOCKS5.
//
// It listens on 127.0.0.1 and on [::1]: the sandbox may connect to the
// port on either loopback address (Seatbelt's "localhost", the Windows
// firewall's loopback scope), so a port half-held by another program
// would be a way around the proxy. When [::1] cannot be bound and
// something answers there, StartLoopback fails; when nothing answers
// (no IPv6 loopback) the IPv4 listener is enough.
type Loopback struct {
	proxy  *Proxy
	policy ir.Proxy
	ls     []net.Listener

	mu      sync.Mutex
	closing bool
	err     error // the first Serve failure before Close
	wg      sync.WaitGroup
	once    sync.Once
}

// StartLoopback starts a Proxy for cfg on the loopback ports of
// cfg.Decider's policy. Any listener that cannot be opened fails the
// whole start (nothing is left listening): a launch must not run without
// its proxy, nor next to someone else's on its ports.
func StartLoopback(cfg Config) (*Loopback, error) {
	p, err := New(cfg)
	if err != nil {
		return nil, err
	}
	pol := cfg.Decider.Policy()
	httpPort, socksPort := pol.Ports()
	if pol.SOCKS5 && httpPort == socksPort {
		return nil, fmt.Errorf("the HTTP and SOCKS5 proxy ports are both %d", httpPort)
	}
	lb := &Loopback{proxy: p, policy: pol}
	fail := func(err error) (*Loopback, error) {
		for _, l := range lb.ls {
			l.Close()
		}
		p.Close()
		return nil, err
	}
	type listener struct {
		l     net.Listener
		socks bool
	}
	var serve []listener
	ports := []int{httpPort}
	if pol.SOCKS5 {
		ports = append(ports, socksPort)
	}
	for i, port := range ports {
		ls, err := listenLoopback(port)
		if err != nil {
			return fail(err)
		}
		for _, l := range ls {
			lb.ls = append(lb.ls, l)
			serve = append(serve, listener{l, i == 1})
		}
	}
	for _, s := range serve {
		lb.wg.Add(1)
		go func(s listener) {
			defer lb.wg.Done()
			var err error
			if s.socks {
				err = p.ServeSOCKS5(s.l)
			} else {
				err = p.Serve(s.l)
			}
			if err != nil {
				lb.mu.Lock()
				if lb.err == nil && !lb.closing {
					lb.err = fmt.Errorf("serving %s: %w", s.l.Addr(), err)
				}
				lb.mu.Unlock()
			}
		}(s)
	}
	return lb, nil
}

// listenLoopback opens port on 127.0.0.1 and, where it can, on [::1].
func listenLoopback(port int) ([]net.Listener, error) {
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("proxy port %d is out of range", port)
	}
	p := strconv.Itoa(port)
	// Plain listeners: on Windows another account's socket cannot take
	// the port over with SO_REUSEADDR (Windows keeps a port to the
	// account that bound it), and SO_EXCLUSIVEADDRUSE would keep the next
	// launch from binding it while closed connections linger in
	// TIME_WAIT.
	l4, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", p))
	if err != nil {
		return nil, fmt.Errorf("cannot listen on 127.0.0.1:%d: %w", port, unwrapOp(err))
	}
	l6, err := net.Listen("tcp6", net.JoinHostPort("::1", p))
	if err == nil {
		return []net.Listener{l4, l6}, nil
	}
	// No IPv6 loopback, or [::1]:port is taken: only the second lets the
	// sandbox reach someone else there.
	if c, derr := net.DialTimeout("tcp6", net.JoinHostPort("::1", p), 300*time.Millisecond); derr == nil {
		c.Close()
		l4.Close()
		return nil, fmt.Errorf("another program listens on [::1]:%d, which the sandbox could reach instead of the proxy", port)
	}
	return []net.Listener{l4}, nil
}

// unwrapOp drops net.OpError's "listen tcp4 127.0.0.1:N:" prefix, which
// the caller's message already says.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// Env is Env(policy): the variables that point the command at this
// proxy.
func (lb *Loopback) Env() []string { return Env(lb.policy) }

// Close stops the proxy: the listeners, open requests and tunnels. It
// returns the first error a listener failed with while serving, if any.
func (lb *Loopback) Close() error {
	lb.once.Do(func() {
		lb.mu.Lock()
		lb.closing = true
		lb.mu.Unlock()
		lb.proxy.Close()
		for _, l := range lb.ls {
			l.Close()
		}
		lb.wg.Wait()
	})
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.err
}
