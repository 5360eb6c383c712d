package windows

import (
	"fmt"
	"os"

	"polc/backends"
	"polc/canonjson"
	"polc/diag"
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
	return &backends.Output{Platform: ir.Windows, Payload: payload}, diags
}

// ModeEnv selects a mode other than the plan's preferred one, for the
// runtime and for the evaluator alike (so that `polc explain --target
// windows` answers for the mode that would run).
const ModeEnv = "POLC_WINDOWS_MODE"

// Evaluator binds the plan's mode (preferred, or ModeEnv) to env,
// expanding the deny globs on the host now, as the runtime does at launch.
func (windowsBackend) Evaluator(payload []byte, env ir.Env) (backends.Evaluator, error) {
	plan, err := Decode(payload)
	if err != nil {
		return nil, err
	}
	mode := os.Getenv(ModeEnv)
	if mode != "" && plan.Modes[mode] == nil {
		return nil, fmt.Errorf("%s=%q: the plan has no such mode (elevated, unelevated)", ModeEnv, mode)
	}
	return NewEvaluator(plan, mode, env, nil)
}
