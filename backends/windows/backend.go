package windows

import (
	"fmt"

	"polc/backends"
	"polc/diag"
	"polc/internal/canonjson"
	"polc/ir"
)

// Backend is the Windows backend.
var Backend backends.Backend = windowsBackend{}

// windowsBackend is the backends.Backend for ir.Windows.
type windowsBackend struct{}

func (windowsBackend) Platform() ir.Platform { return ir.Windows }

// Lower builds the plan. Rules the preferred mode cannot enforce are
// errors unless opts.AllowUnenforceable.
func (windowsBackend) Lower(p *ir.Policy, opts backends.Options) (*backends.Output, diag.List) {
	plan, diags := Lower(p, LowerOptions{AllowUnenforceable: opts.AllowUnenforceable})
	payload, err := canonjson.Marshal(plan)
	if err != nil {
		diags.Addf(diag.WindowsBadPlan, diag.Pos{}, "report this as a polc bug", "cannot encode the windows plan: %v", err)
		return nil, diags
	}
	return &backends.Output{Platform: ir.Windows, Artifact: plan, Payload: payload}, diags
}

// Evaluator binds the plan's mode (preferred, or opts.WindowsMode) to
// env, expanding the deny globs on the host now, as the runtime does at
// launch, so that `polc explain --target windows` answers for the mode
// that would run.
func (windowsBackend) Evaluator(payload []byte, env ir.Env, opts backends.Options) (backends.Evaluator, error) {
	plan, err := Decode(payload)
	if err != nil {
		return nil, err
	}
	if _, err := plan.Mode(opts.WindowsMode); err != nil {
		return nil, err
	}
	return NewEvaluator(plan, opts.WindowsMode, env, nil)
}

// Mode returns the plan's mode named (the preferred one for ""), or an
// error that names the modes a plan has.
func (p *Plan) Mode(name string) (*Mode, error) {
	if name == "" {
		name = p.PreferredMode
	}
	md, ok := p.Modes[name]
	if !ok || md == nil {
		return nil, fmt.Errorf("windows mode %q: the plan has no such mode (%s, %s)", name, Elevated, Unelevated)
	}
	return md, nil
}
