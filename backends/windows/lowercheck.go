package windows

import (
	"polc/backends"
	"polc/diag"
	"polc/ir"
)

// Check reports what Lower would about the policy (what Windows cannot
// enforce) without encoding the plan: polc rollout asks it of thousands
// of policies and needs only the verdict.
func (windowsBackend) Check(p *ir.Policy, opts backends.Options) diag.List {
	_, diags := Lower(p, LowerOptions{AllowUnenforceable: opts.AllowUnenforceable})
	return diags
}
