package shim

import (
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
// here in polc outside the sandbox, decides every request. Linux runs
// the proxy behind a bridge instead (launch_linux.go).

// egress is a running proxy for one launch.
type egress struct {
	lb *netproxy.Loopback
}

// startEgress starts the proxy px describes on its loopback ports, for
// the life of the command. Each refused request is one line on stderr
// (the launch's, or polc's own). A proxy that cannot start is a *Failure
// naming code: the command must not run without it.
func startEgress(px *ir.Proxy, stderr io.Writer, code diag.Code) (*egress, error) {
	fail := func(err error) error {
		return &Failure{Msg: fmt.Sprintf("cannot start the egress proxy: %v [%s]; fix: stop the program that holds the port, or give the proxy other ports in the config", err, code)}
	}
	if px == nil {
		return nil, fail(fmt.Errorf("the artifact carries no proxy network"))
	}
	d, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: px})
	if err != nil {
		return nil, fail(err)
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	var mu sync.Mutex
	lb, err := netproxy.StartLoopback(netproxy.Config{Decider: d, OnRefusal: func(r netproxy.Refusal) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(stderr, r.String())
	}})
	if err != nil {
		return nil, fail(err)
	}
	return &egress{lb: lb}, nil
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
