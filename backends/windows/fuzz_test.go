package windows

import (
	"testing"

	"polc/internal/canonjson"
	"polc/internal/globwalk"
	"polc/ir"
)

// FuzzDecodeBind: any payload either fails to decode with an error or
// decodes into a plan that binds (or fails to bind) and answers checks
// without panicking.
func FuzzDecodeBind(f *testing.F) {
	for _, pol := range []*ir.Policy{seedPolicy(), {Unrestricted: true}, {Network: ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: 3128}}}} {
		plan, _ := Lower(pol, LowerOptions{})
		b, err := canonjson.Marshal(plan)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"format":"polc.windows.plan/v1","modes":{"elevated":{"steps":[{"op":"acl.deny","path":"${X}","sid":"s","mask":"0x1"}]}},"preferred_mode":"elevated"}`))
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: "C:/w", ir.VarHome: "C:/Users/u"},
		Resolve: func(p string) string { return p }, Exists: func(string) bool { return false }}
	none := func([]BoundGlob, []globwalk.Region) ([]GlobHit, error) { return nil, nil }
	f.Fuzz(func(t *testing.T, payload []byte) {
		plan, err := Decode(payload)
		if err != nil {
			return
		}
		for mode := range plan.Modes {
			ev, err := NewEvaluator(plan, mode, env, none)
			if err != nil {
				continue
			}
			ev.Decide("C:/w/x", ir.OpWrite)
			ev.Decide(`\\?\c:\W\.git\config`, ir.OpRead)
			ev.Network("127.0.0.1", 80)
		}
	})
}
