package windows

import (
	"polc/backends"
	"polc/diag"
	"polc/ir"
)

// Check reports what Lower would about the policy (what Windows cannot
// enforce) without writing the plan's steps or encoding it: polc rollout
// asks it of thousands of policies and needs only the verdict. Every
// diagnostic comes from the modes' gaps, which do not depend on the
// steps.
func (windowsBackend) Check(p *ir.Policy, opts backends.Options) diag.List {
	_, diags := lower(p, LowerOptions{AllowUnenforceable: opts.AllowUnenforceable}, true)
	return diags
}
