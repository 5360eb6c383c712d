// Package lowering is polc's lowering stage: the closed set of backends,
// one per ir.Platform, and LowerAll, which every command that lowers a
// policy goes through (check, explain, exec, build, doctor, rollout).
package lowering

import (
	"polc/backends"
	"polc/backends/bwrap"
	"polc/backends/seatbelt"
	"polc/backends/windows"
	"polc/diag"
	"polc/ir"
)

// all is every backend, in ir.Platforms order.
var all = []backends.Backend{bwrap.Backend, seatbelt.Backend, windows.Backend}

// Backend returns the platform's backend. Every ir.Platform has one
// (TestEveryPlatformHasItsBackend); a name read from input goes through
// ir.ParsePlatform first.
func Backend(p ir.Platform) backends.Backend {
	for _, b := range all {
		if b.Platform() == p {
			return b
		}
	}
	panic("lowering: no backend for platform " + string(p))
}

// LowerAll lowers the policy for each target, each platform once, in the
// order first named. A result without an error (Refusal nil) has an
// Output: a backend that produces nothing without saying why, or that
// answers for another platform, is refused here with an error of its own.
func LowerAll(p *ir.Policy, targets []ir.Platform, opts backends.Options) []backends.Result {
	out := make([]backends.Result, 0, len(targets))
	seen := map[ir.Platform]bool{}
	for _, t := range targets {
		if seen[t] {
			continue
		}
		seen[t] = true
		o, diags := Backend(t).Lower(p, opts)
		r := backends.Result{Platform: t, Output: o, Diags: diags}
		switch {
		case o != nil && o.Platform != t:
			r.Output = nil
			r.Diags.Addf(diag.LowerFailed, diag.Pos{}, "report this as a polc bug", "the %s backend produced a %q artifact", t, o.Platform)
		case o == nil && !diags.HasErrors():
			r.Diags.Addf(diag.LowerFailed, diag.Pos{}, "report this as a polc bug", "the %s backend produced no artifact and no error", t)
		}
		out = append(out, r)
	}
	return out
}
