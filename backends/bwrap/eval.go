package bwrap

import (
	"fmt"
	"strings"

	"polc/backends"
	"polc/ir"
)

// Evaluator answers access questions from a Linux artifact by simulating
// its mount table on this host: the artifact is bound exactly as the shim
// binds it at launch (PlanHost, deny globs expanded within their caps),
// and a path is judged by the last mount over it, then by the inner
// stage's masks. It never consults the policy, so comparing it with
// ir.Decide checks the lowering.
type Evaluator struct {
	art  *Artifact
	plan *HostPlan
	env  ir.Env
}

// NewEvaluator binds an artifact on this host.
func NewEvaluator(art *Artifact, env ir.Env) (*Evaluator, error) {
	if env.Resolve == nil {
		env.Resolve = ir.ResolvePath
	}
	plan, err := PlanHost(art, env, PlanOptions{})
	if err != nil {
		return nil, err
	}
	return &Evaluator{art: art, plan: plan, env: env}, nil
}

// Plan is the concrete mount table the evaluator reads.
func (e *Evaluator) Plan() *HostPlan { return e.plan }

// Decide implements backends.Evaluator.
func (e *Evaluator) Decide(hostPath string, op ir.Op) backends.Verdict {
	if e.art.Unrestricted {
		return backends.Verdict{Allowed: true, Reason: "no sandbox (unrestricted profile)"}
	}
	p := e.env.Resolve(hostPath)
	m, masked := e.plan.decide(p)
	if masked {
		return backends.Verdict{Allowed: false, Reason: fmt.Sprintf("masked %s at %s (%s)", m.Kind, m.Path, m.Why)}
	}
	acc := m.access()
	allowed := acc == ir.Write || (acc == ir.Read && op == ir.OpRead)
	return backends.Verdict{Allowed: allowed, Reason: fmt.Sprintf("%s mount at %s (%s)", m.Kind, m.Path, m.Why)}
}

// Network implements backends.Evaluator.
func (e *Evaluator) Network(host string, port int) backends.Verdict {
	if e.art.Network == netFull {
		return backends.Verdict{Allowed: true, Reason: "network on: host network namespace"}
	}
	if r := e.art.Proxy; r != nil {
		if (host == "127.0.0.1" || host == "localhost") && port > 0 && (port == r.HTTPPort || port == r.SOCKSPort) {
			return backends.Verdict{Allowed: true, Reason: "polc's bridge in the sandbox's own loopback, to the egress proxy, which decides each request"}
		}
		return backends.Verdict{Allowed: false, Reason: "proxy-only network: a network namespace of its own with loopback only, where only polc's bridge listens"}
	}
	return backends.Verdict{Allowed: false, Reason: "network off: new network namespace, and seccomp denies socket families other than AF_UNIX"}
}

// UnixConnect implements backends.SocketEvaluator: the command connects
// to a socket it can see when the filter lets it connect at all.
func (e *Evaluator) UnixConnect(hostPath string) backends.Verdict {
	if e.art.Unrestricted {
		return backends.Verdict{Allowed: true, Reason: "no sandbox (unrestricted profile)"}
	}
	if see := e.Decide(hostPath, ir.OpRead); !see.Allowed {
		return backends.Verdict{Allowed: false, Reason: "the socket is not visible in the sandbox: " + see.Reason}
	}
	switch {
	case e.art.Network == netFull:
		return backends.Verdict{Allowed: true, Reason: "network on: connect is not filtered"}
	case e.art.Seccomp.UnixPeersOnly:
		return backends.Verdict{Allowed: false, Reason: "network off: seccomp refuses connect, bind, listen, accept and addressed sendto (AF_UNIX only between peers the command holds)"}
	}
	return backends.Verdict{Allowed: true, Reason: fmt.Sprintf("seccomp lets the command connect to every Unix socket it can see (it cannot filter by path) because the profile allows %s", strings.Join(e.art.UnixSockets, ", "))}
}
