package seatbelt

import (
	"strings"
	"testing"

	"polc/backends"
	"polc/internal/conformance"
	"polc/internal/netgen"
	"polc/ir"
)

// TestConformanceCases runs every shared conformance case through the
// compiler and this backend: the interpreter must agree with ir.Decide on
// every probe, and with the case's expected row, except that a row
// allowed only because a glob match lies beyond glob_scan_max_depth
// (where the sandbox cannot write: elsewhere Linux and Windows lift the
// cap) is denied on macOS (Seatbelt matches the regex at any depth).
// Network probes: allowed exactly when the network is full. The
// compiler's own class cases join the shared ones: one of them keeps a
// deep match in a read-only directory.
func TestConformanceCases(t *testing.T) {
	cases, err := conformance.Load("../../internal/conformance/testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no conformance cases")
	}
	classes, err := conformance.Load("../../compiler/testdata/classes")
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, classes...)
	beyondCap := 0
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			w, res := c.Compile(t)
			if c.Refused {
				if res.Policy != nil {
					t.Fatalf("want the run refused, got a policy")
				}
				return
			}
			if res.Policy == nil {
				t.Fatalf("compile failed: %v", res.Diags.Err())
			}
			out, diags := Lower(res.Policy, backends.Options{})
			if diags.HasErrors() {
				t.Fatalf("Lower: %v", diags.Err())
			}
			ev, err := NewEvaluator(out.Payload, res.Env)
			if err != nil {
				t.Fatalf("evaluator: %v", err)
			}
			dec, err := ir.NewDecider(res.Policy, MacEnv(res.Env))
			if err != nil {
				t.Fatal(err)
			}
			for i, pr := range c.Probes {
				want := c.WantFor(i)
				if pr.Op == "net" {
					got := ev.Network("127.0.0.1", 40000)
					exp := res.Policy.Network.Mode == ir.NetworkFull || res.Policy.Unrestricted
					if got.Allowed != exp || verdict(exp) != want {
						t.Errorf("net: seatbelt %v, policy network %s, case wants %s (%s)", got.Allowed, res.Policy.Network.Mode, want, got.Reason)
					}
					continue
				}
				if pr.Op == "http" {
					// A request through the sandbox's proxy variables: what
					// leaves is the artifact's Egress, held to ir.DecideNet.
					host, port, method, ok := netgen.HTTPProbe(pr.Path)
					if !ok {
						t.Fatalf("http probe %q", pr.Path)
					}
					got := ev.Egress(host, port, method)
					netgen.CheckEgress(t, ev, res.Policy, host, port, method)
					if verdict(got.Allowed) != want {
						t.Errorf("%s: seatbelt %s, case wants %s (%s)", pr.Key(), verdict(got.Allowed), want, got.Reason)
					}
					continue
				}
				op, ok := ir.ParseOp(pr.Op)
				if !ok {
					t.Fatalf("probe op %q", pr.Op)
				}
				p := w.HostPath(pr.Path)
				d := dec.Decide(p, op)
				got := ev.Decide(p, op)
				if got.Allowed != d.Allowed {
					t.Errorf("%s: seatbelt %v (%s), ir.Decide %v (%s)", pr.Key(), got.Allowed, got.Reason, d.Allowed, d.Reason())
				}
				exp := want
				if d.BeyondCap && !d.Allowed {
					exp = "deny"
					beyondCap++
				}
				if verdict(got.Allowed) != exp {
					t.Errorf("%s: seatbelt %s, case wants %s on macOS (%s)", pr.Key(), verdict(got.Allowed), exp, got.Reason)
				}
			}
			if t.Failed() {
				t.Logf("profile:\n%s", userPart(string(out.Files["sb"])))
			}
		})
	}
	if beyondCap == 0 {
		t.Errorf("no probe was denied beyond the glob depth cap: class-depth-readonly's vendored .env should be")
	}
}

func verdict(b bool) string {
	if b {
		return "allow"
	}
	return "deny"
}

var _ = strings.Contains
