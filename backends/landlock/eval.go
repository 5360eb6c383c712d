package landlock

import (
	"fmt"
	"slices"

	"polc/backends"
	"polc/ir"
)

// Evaluator answers access questions from a payload as Landlock enforces
// it: the union of the grants over a path's ancestors (and the devices).
// It never consults the policy, so comparing it with ir.Decide checks
// Lower.
type Evaluator struct {
	p       *Payload
	resolve func(string) string
}

var _ backends.SocketEvaluator = (*Evaluator)(nil)

// NewEvaluator reads a payload; resolve canonicalizes a host path (nil:
// ir.ResolvePath), as the kernel judges the file a path names.
func NewEvaluator(p *Payload, resolve func(string) string) *Evaluator {
	if resolve == nil {
		resolve = ir.ResolvePath
	}
	return &Evaluator{p: p, resolve: resolve}
}

// Decide implements backends.Evaluator.
func (e *Evaluator) Decide(hostPath string, op ir.Op) backends.Verdict {
	if e.p.Unrestricted {
		return backends.Verdict{Allowed: true, Reason: "no sandbox (unrestricted profile)"}
	}
	p := e.resolve(hostPath)
	if slices.Contains(Devices, p) {
		return backends.Verdict{Allowed: true, Reason: "device granted to every sandbox (read and write)"}
	}
	var best *Grant
	for i := range e.p.Grants {
		g := &e.p.Grants[i]
		if ir.HasPathPrefix(p, g.Path) && (best == nil || g.Access > best.Access) {
			best = g
		}
	}
	if best == nil {
		return backends.Verdict{Allowed: false, Reason: "no Landlock rule covers it"}
	}
	return backends.Verdict{Allowed: allows(best.Access, op), Reason: fmt.Sprintf("Landlock %s grant on %s (%s)", best.Access, best.Path, best.Why)}
}

// Network implements backends.Evaluator.
func (e *Evaluator) Network(host string, port int) backends.Verdict {
	if e.p.Unrestricted || e.p.Network == ir.NetworkFull {
		return backends.Verdict{Allowed: true, Reason: "network on: the host's network (no namespace)"}
	}
	return backends.Verdict{Allowed: false, Reason: "network off: seccomp creates no socket but AF_UNIX"}
}

// UnixConnect implements backends.SocketEvaluator: with Landlock no
// connect to a host Unix socket gets through the filter.
func (e *Evaluator) UnixConnect(hostPath string) backends.Verdict {
	if e.p.Unrestricted {
		return backends.Verdict{Allowed: true, Reason: "no sandbox (unrestricted profile)"}
	}
	if e.p.Seccomp.UnixPeersOnly {
		return backends.Verdict{Allowed: false, Reason: "network off: seccomp refuses connect, bind, listen and accept"}
	}
	return backends.Verdict{Allowed: false, Reason: "seccomp creates no AF_UNIX socket but connected pairs"}
}
