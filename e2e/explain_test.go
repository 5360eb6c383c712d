package e2e

import (
	"path/filepath"
	"testing"

	"polc/backends"
	"polc/compiler"
	"polc/internal/conformance"
	"polc/internal/netgen"
	"polc/ir"
	"polc/lowering"
)

// TestLinuxEvaluatorAgreesWithConformance: what `polc explain --target
// linux` reads back from the Linux artifact gives every recorded row
// (polc-want where present, else want), without running a sandbox.
func TestLinuxEvaluatorAgreesWithConformance(t *testing.T) {
	cases, err := conformance.Load("../internal/conformance/testdata")
	if err != nil {
		t.Fatal(err)
	}
	b := lowering.Backend(ir.Linux)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			w, err := c.Build(conformance.TempRoot(t))
			if err != nil {
				t.Fatal(err)
			}
			opts := compiler.Options{Dir: w.Proj, Profile: c.Profile(), CodexHome: w.CodexHome, Home: w.Home,
				Tmpdir: w.Tmp, ForExec: true, SystemDir: filepath.Join(w.Root, "no-system-dir")}
			if w.RequirementsFile != "" {
				opts.RequirementFiles = []string{w.RequirementsFile}
			}
			res := compiler.Compile(opts)
			if c.Refused {
				if res.Policy != nil {
					t.Fatal("want the profile refused at compile time")
				}
				return
			}
			if res.Policy == nil {
				t.Fatalf("compile: %v", res.Diags)
			}
			out, diags := b.Lower(res.Policy, backends.Options{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			ev, err := b.Evaluator(out.Payload, res.Env, backends.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range c.Probes {
				var allowed bool
				var why string
				if p.Op == "http" {
					// A request through the proxy variables: answered by an
					// evaluator that models egress; the proxy tests run it
					// for real under polc exec.
					eg, ok := ev.(backends.EgressEvaluator)
					if !ok {
						continue
					}
					host, port, method, ok := netgen.HTTPProbe(p.Path)
					if !ok {
						t.Fatalf("http probe %q", p.Path)
					}
					v := eg.Egress(host, port, method)
					allowed, why = v.Allowed, v.Reason
				} else if p.Op == "net" {
					v := ev.Network("127.0.0.1", 80)
					allowed, why = v.Allowed, v.Reason
				} else {
					op, ok := ir.ParseOp(p.Op)
					if !ok {
						t.Fatalf("unknown probe op %q", p.Op)
					}
					v := ev.Decide(w.HostPath(p.Path), op)
					allowed, why = v.Allowed, v.Reason
				}
				got := "deny"
				if allowed {
					got = "allow"
				}
				if want := c.WantFor(i); got != want {
					t.Errorf("%s: evaluator says %s (%s), want %s", p.Key(), got, why, want)
				}
			}
		})
	}
}
