package compiler_test

import (
	"strings"
	"testing"

	"polc/compiler"
	"polc/diag"
	"polc/internal/conformance"
	"polc/ir"
)

// compileCase builds a conformance case's world and compiles it as the
// harness runs it: -P default_permissions, the world's env, and the
// case's requirements.
func compileCase(t *testing.T, c *conformance.Case) (*conformance.World, *compiler.Result) {
	t.Helper()
	return c.Compile(t)
}

// TestConformanceDecide checks ir.Decide on the compiled policy against
// every file-system probe of every shared conformance case.
func TestConformanceDecide(t *testing.T) {
	cases, err := conformance.Load("../internal/conformance/testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no conformance cases found")
	}
	// Our own cases for the held-back classes (docs/design.md §8), same format.
	classes, err := conformance.Load("testdata/classes")
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, classes...)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) { checkDecide(t, c) })
	}
}

// checkDecide compiles a case as the harness runs it and checks
// ir.Decide on every file-system probe, and the network mode on net
// probes, against the rows polc must give.
func checkDecide(t *testing.T, c *conformance.Case) {
	t.Helper()
	w, res := compileCase(t, c)
	if c.Refused {
		if res.Policy != nil {
			t.Fatalf("want the run refused, got a policy; diagnostics:\n%s", diagText(res.Diags))
		}
		if !hasCode(res.Diags, diag.Code(c.RefusalCode)) {
			t.Fatalf("refused without %s:\n%s", c.RefusalCode, diagText(res.Diags))
		}
		return
	}
	if res.Policy == nil {
		t.Fatalf("compile failed:\n%s", diagText(res.Diags))
	}
	dec, err := ir.NewDecider(res.Policy, res.Env)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range c.Probes {
		op, ok := ir.ParseOp(p.Op)
		if !ok {
			continue // net
		}
		want := c.WantFor(i) == "allow"
		got := dec.Decide(w.HostPath(p.Path), op)
		if got.BeyondCap && !got.Allowed {
			// Only a glob match beyond glob_scan_max_depth denies
			// it: the IR denies, the reference (Linux) allows, as
			// snapshot platforms do (AllowedWithinCap).
			if got.AllowedWithinCap != want {
				t.Errorf("%s: allowed within cap=%v, want %v (%s)", p.Key(), got.AllowedWithinCap, want, got.Reason())
			}
			continue
		}
		if got.Allowed != want {
			t.Errorf("%s: allowed=%v, want %v (%s)", p.Key(), got.Allowed, want, got.Reason())
		}
	}
	for i, p := range c.Probes {
		if p.Op != "net" {
			continue
		}
		want := c.WantFor(i) == "allow"
		if got := res.Policy.Network.Mode == ir.NetworkFull; got != want {
			t.Errorf("net: full=%v, want allow=%v", got, want)
		}
	}
}

func hasCode(l diag.List, c diag.Code) bool {
	for _, d := range l {
		if d.Code == c {
			return true
		}
	}
	return false
}

func diagText(l diag.List) string {
	var b strings.Builder
	for _, d := range l {
		b.WriteString(d.String())
		b.WriteString("\n")
	}
	return b.String()
}

// TestBeyondCapNamedWhereUnwritable: POL061 names a deny-glob match
// beyond glob_scan_max_depth only where the sandbox cannot write (there
// Linux and Windows leave it readable); a deeper match in the writable
// project is masked at launch, so it is not named.
func TestBeyondCapNamedWhereUnwritable(t *testing.T) {
	c := &conformance.Case{Config: `default_permissions = "d"

[permissions.d.filesystem]
":minimal" = "read"
":workspace_roots" = { "." = "write", "vendor" = "read", "**/*.env" = "deny" }
glob_scan_max_depth = 2
`, Tree: []string{"proj/a/b/c/d.env", "proj/vendor/x/y.env", "proj/vendor/z.env"}}
	_, res := c.Compile(t)
	if res.Policy == nil {
		t.Fatalf("compile failed:\n%s", diagText(res.Diags))
	}
	var named []string
	for _, d := range res.Diags {
		if d.Code == diag.BeyondScanDepth {
			named = append(named, d.Message)
		}
	}
	if len(named) != 1 || !strings.Contains(named[0], "vendor/x/y.env") {
		t.Errorf("POL061 names %q, want only vendor/x/y.env", named)
	}
}
