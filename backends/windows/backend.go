package windows

import (
	"polc/backends"
	"polc/canonjson"
	"polc/diag"
	"polc/ir"
)

func init() { backends.Register(windowsBackend{}) }

// windowsBackend is the backends.Backend for "windows".
type windowsBackend struct{}

func (windowsBackend) Platform() string { return "windows" }

// Lower builds the plan. Rules the preferred mode cannot enforce are
// errors unless opts.AllowUnenforceable.
func (windowsBackend) Lower(p *ir.Policy, opts backends.Options) (*backends.Output, diag.List) {
	plan, diags := Lower(p, LowerOptions{AllowUnenforceable: opts.AllowUnenforceable})
	payload, err := canonjson.Marshal(plan)
	if err != nil {
		diags.Addf(diag.WindowsBadPlan, diag.Pos{}, "report this as a polc bug", "cannot encode the windows plan: %v", err)
		return nil, diags
	}
	return &backends.Output{Platform: "windows", Payload: payload}, diags
}

// Evaluator binds the plan's preferred mode to env, expanding the deny
// globs on the host now, as the runtime does at launch.
func (windowsBackend) Evaluator(payload []byte, env ir.Env) (backends.Evaluator, error) {
	plan, err := Decode(payload)
	if err != nil {
		return nil, err
	}
	return NewEvaluator(plan, "", env, nil)
}
