package windows_test

import (
	"strings"
	"testing"

	"polc/backends"
	"polc/diag"
	"polc/internal/conformance"
	"polc/internal/netgen"
	"polc/ir"

	win "polc/backends/windows"
)

// TestConformanceWindows lowers every shared conformance case for
// Windows and asks the evaluator of each mode every probe. The preferred
// mode must give the case's answers (what a user sees); every mode must
// agree with ir.Decide (within the depth cap) except where it recorded a
// gap covering the probe.
func TestConformanceWindows(t *testing.T) {
	cases, err := conformance.Load("../../internal/conformance/testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no conformance cases")
	}
	b := win.Backend
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			w, res := c.Compile(t)
			if c.Refused {
				if res.Policy != nil {
					t.Fatal("want the run refused, got a policy")
				}
				return
			}
			if res.Policy == nil {
				t.Fatalf("compile failed: %v", res.Diags)
			}
			out, diags := b.Lower(res.Policy, backends.Options{})
			if diags.HasErrors() {
				t.Fatalf("windows refuses the case:\n%v", diagsText(diags))
			}
			plan, err := win.Decode(out.Payload)
			if err != nil {
				t.Fatal(err)
			}
			env := res.Env
			env.Platform = "windows"
			dec, err := ir.NewDecider(res.Policy, env)
			if err != nil {
				t.Fatal(err)
			}
			for mode, m := range plan.Modes {
				ev, err := win.NewEvaluator(plan, mode, env, nil)
				if err != nil {
					t.Fatal(err)
				}
				for i, p := range c.Probes {
					want := c.WantFor(i) == "allow"
					if p.Op == "net" {
						v := ev.Network("127.0.0.1", 45678)
						if v.Allowed != want && !(mode != plan.PreferredMode && m.Refused) {
							t.Errorf("%s mode: net: allowed=%v, want %v (%s)", mode, v.Allowed, want, v.Reason)
						}
						continue
					}
					if p.Op == "http" {
						// What leaves through the sandbox's proxy variables is
						// the plan's Egress, held to ir.DecideNet in the
						// preferred mode (a refused mode runs nothing).
						host, port, method, ok := netgen.HTTPProbe(p.Path)
						if !ok {
							t.Fatalf("http probe %q", p.Path)
						}
						if mode != plan.PreferredMode {
							continue
						}
						v := ev.Egress(host, port, method)
						netgen.CheckEgress(t, ev, res.Policy, host, port, method)
						if v.Allowed != want {
							t.Errorf("%s mode: %s: allowed=%v, want %v (%s)", mode, p.Key(), v.Allowed, want, v.Reason)
						}
						continue
					}
					op, ok := ir.ParseOp(p.Op)
					if !ok {
						t.Fatalf("unknown probe op %q", p.Op)
					}
					host := w.HostPath(p.Path)
					got := ev.Decide(host, op)
					ref := dec.Decide(host, op)
					if mode == plan.PreferredMode && got.Allowed != want {
						t.Errorf("%s mode: %s: allowed=%v, want %v (%s)", mode, p.Key(), got.Allowed, want, got.Reason)
					}
					if got.Allowed != ref.AllowedWithinCap && !gapCovers(m.Gaps, env, host, op, got.Allowed) && !gapCovers(ev.B.Gaps, env, host, op, got.Allowed) {
						t.Errorf("%s mode: %s: allowed=%v, ir within cap=%v, no gap covers it\n\twindows: %s\n\tir: %s",
							mode, p.Key(), got.Allowed, ref.AllowedWithinCap, got.Reason, ref.Reason())
					}
				}
			}
		})
	}
}

func gapCovers(gaps []win.Gap, env ir.Env, host string, op ir.Op, winAllowed bool) bool {
	for _, g := range gaps {
		if g.Op != op.String() || g.Refuses != winAllowed {
			continue
		}
		if g.Path == "/" || strings.HasPrefix(win.Key(ir.ResolvePath(host))+"/", win.Key(env.Bindings.Bind(g.Path))+"/") {
			return true
		}
	}
	return false
}

func diagsText(l diag.List) string {
	var b strings.Builder
	for _, d := range l {
		b.WriteString(d.String())
		b.WriteString("\n")
	}
	return b.String()
}
