package shim

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"polc/diag"
	"polc/ir"
	"polc/netproxy"
)

// This file starts polc's egress proxy for the launches whose sandbox
// shares the host's loopback (macOS, Windows): the artifact lets the
// command reach only the proxy's loopback ports, and the proxy, running
// here in polc outside the sandbox, decides every request. On Linux the
// proxy listens in the sandbox's own network namespace instead
// (netbridge_linux.go).

// egress is a running proxy for one launch.
type egress struct {
	lb *netproxy.Loopback
}

// startEgress starts the proxy px describes (the artifact's proxy
// network) on its loopback ports, for the life of the command. When the
// launch also names the policy's network (Launch.Network), the two must
// decide alike, or nothing runs. Each refused request is one line on the
// launch's stderr (polc's own when nil) and, when the launch has a
// NetLog, one JSON line there. A proxy that cannot start is a failure
// of code: the command must not run without it.
func startEgress(l *Launch, px *ir.Proxy, code diag.Code) (*egress, error) {
	fail := func(fix string, err error) error {
		return failf(code, "cannot start the egress proxy: %w", err).WithFix(fix)
	}
	const rebuild = "rebuild the artifact with this polc"
	if px == nil {
		return nil, fail(rebuild, fmt.Errorf("the artifact carries no proxy network"))
	}
	if n := l.Network; n != nil {
		var pol ir.Proxy
		if n.Proxy != nil {
			pol = *n.Proxy
		}
		if n.Mode != ir.NetworkProxy || !sameProxy(pol, *px) {
			return nil, fail(rebuild, fmt.Errorf("the artifact's proxy network is not the policy's"))
		}
	}
	d, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: px})
	if err != nil {
		return nil, fail(rebuild, err)
	}
	stderr := l.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	lb, err := netproxy.StartLoopback(netproxy.Config{Decider: d, OnRefusal: reportRefusals(stderr, l.NetLog)})
	if err != nil {
		return nil, fail("stop the program that holds the port, or give the proxy other ports in the config", err)
	}
	return &egress{lb: lb}, nil
}

// reportRefusals is every launch's netproxy.Config.OnRefusal: one line
// on stderr per refused request and, when log is set, one JSON line
// there. The proxy calls it from many goroutines.
func reportRefusals(stderr, log io.Writer) func(netproxy.Refusal) {
	var mu sync.Mutex
	return func(r netproxy.Refusal) {
		mu.Lock()
		defer mu.Unlock()
		if stderr != nil {
			fmt.Fprintln(stderr, r.String())
		}
		if log != nil {
			if b, err := json.Marshal(r); err == nil {
				log.Write(append(b, '\n'))
			}
		}
	}
}

// sameProxy reports whether two proxy networks decide alike: the same
// domain rules (pattern, action, managed) in the same order, methods,
// local addresses, SOCKS5 and ports. Origins may differ in how a file
// is named.
func sameProxy(a, b ir.Proxy) bool {
	methods := func(p ir.Proxy) ir.MethodMode {
		if p.Methods == "" {
			return ir.MethodsFull
		}
		return p.Methods
	}
	ah, as := a.Ports()
	bh, bs := b.Ports()
	if len(a.Domains) != len(b.Domains) || methods(a) != methods(b) || a.AllowLocal != b.AllowLocal ||
		a.SOCKS5 != b.SOCKS5 || ah != bh || as != bs {
		return false
	}
	for i := range a.Domains {
		x, y := a.Domains[i], b.Domains[i]
		if x.Pattern != y.Pattern || x.Action != y.Action || x.Managed != y.Managed {
			return false
		}
	}
	return true
}

// env returns environ with the proxy's variables set over it; gitSSH
// also tunnels git's ssh through the SOCKS5 listener when the policy
// enables SOCKS5 and environ sets no GIT_SSH_COMMAND of its own.
func (e *egress) env(environ []string, px *ir.Proxy, gitSSH bool) []string {
	vars := e.lb.Env()
	if gitSSH && px.SOCKS5 {
		own := false
		for _, kv := range environ {
			if k, _, _ := strings.Cut(kv, "="); strings.EqualFold(k, "GIT_SSH_COMMAND") {
				own = true
			}
		}
		if !own {
			_, socks := px.Ports()
			vars = append(vars, "GIT_SSH_COMMAND="+netproxy.GitSSHCommand(socks))
		}
	}
	return netproxy.WithEnv(environ, vars)
}

// stop ends the proxy: its listeners, requests and tunnels.
func (e *egress) stop() { e.lb.Close() }
