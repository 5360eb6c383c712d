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

// NewEvaluator reads a payload; resolve canonicalizes a host path (nil:
// ir.ResolvePath), as the kernel judges the file a path names.
func NewEvaluator(p *Payload, resolve func(string) string) *Evaluator {
	if resolve == nil {
		resolve = ir.ResolvePath
	}
	return &Evaluator{p: p, resolve: resolve}
}

// Decide answers from the payload's grants, as the kernel would.
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
