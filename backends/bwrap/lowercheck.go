package bwrap

import (
	"polc/backends"
	"polc/diag"
	"polc/ir"
)

// Check reports what Lower would about the policy (what Linux cannot
// enforce) without encoding the artifact: polc rollout asks it of
// thousands of policies and needs only the verdict.
func (linuxBackend) Check(p *ir.Policy, opts backends.Options) diag.List {
	_, diags := Lower(p, opts)
	return diags
}
