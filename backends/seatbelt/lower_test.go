package seatbelt

import (
	"strings"
	"testing"

	"polc/backends"
	"polc/backends/seatbelt/sbpl"
	"polc/diag"
	"polc/ir"
)

func TestLowerDiagnostics(t *testing.T) {
	pos := diag.Pos{File: "config.toml", Line: 4, Col: 9}
	ws := ir.VarWorkspaceRoot
	long := "{" + strings.Repeat("a", 700) + "," + strings.Repeat("b", 700) + "}"
	for _, c := range []struct {
		name string
		pol  *ir.Policy
		code diag.Code
	}{
		{"** inside a name", &ir.Policy{Globs: []ir.Glob{{Pattern: ws + "/a**b", Base: ws, Origin: ir.Origin{Pos: pos}}}}, diag.MacGlobUnsupported},
		{"relative rule", &ir.Policy{Rules: []ir.Rule{{Path: "rel/path", Access: ir.Read, Origin: ir.Origin{Pos: pos}}}}, diag.MacBadPath},
		{"unclean rule", &ir.Policy{Rules: []ir.Rule{{Path: ws + "/a/../b", Access: ir.Read, Origin: ir.Origin{Pos: pos}}}}, diag.MacBadPath},
		{"newline in rule", &ir.Policy{Rules: []ir.Rule{{Path: "/a\nb", Access: ir.Read, Origin: ir.Origin{Pos: pos}}}}, diag.MacBadPath},
		{"one branch over 1 KiB", &ir.Policy{Globs: []ir.Glob{{Pattern: ws + "/" + strings.Repeat("x", 1100), Base: ws, Origin: ir.Origin{Pos: pos}}}}, diag.MacStringTooLong},
	} {
		out, diags := Lower(c.pol, backends.Options{})
		var got *diag.Diagnostic
		for i := range diags {
			if diags[i].Code == c.code {
				got = &diags[i]
			}
		}
		if got == nil {
			t.Errorf("%s: no %s in %v", c.name, c.code, diags)
			continue
		}
		if got.Pos != pos || got.Fix == "" {
			t.Errorf("%s: diagnostic without position or fix: %s", c.name, got)
		}
		if c.code.Severity() == diag.Error && out != nil {
			t.Errorf("%s: an artifact was produced despite %s", c.name, c.code)
		}
	}

	// Alternatives too long together are split into several guards, each
	// string under the limit, and still deny what the glob matches.
	pol := &ir.Policy{Rules: []ir.Rule{{Path: ws, Access: ir.Write}},
		Globs: []ir.Glob{{Pattern: ws + "/" + long, Base: ws}}}
	out, diags := Lower(pol, backends.Options{})
	if diags.HasErrors() {
		t.Fatalf("split alternatives: %v", diags.Err())
	}
	if _, err := sbpl.Parse("p.sb", string(out.Files["sb"])); err != nil {
		t.Fatalf("profile with split alternatives: %v", err)
	}
	root := t.TempDir()
	env := ir.Env{Bindings: ir.Bindings{ws: root}}
	validate(t, pol, env, []string{root + "/" + strings.Repeat("a", 700) + "/x", root + "/" + strings.Repeat("b", 700), root + "/c"})

	// Opting in to a weaker sandbox turns the refusal into a warning and
	// leaves the glob out.
	bad := &ir.Policy{Globs: []ir.Glob{{Pattern: ws + "/a**b", Base: ws}}}
	out, diags = Lower(bad, backends.Options{AllowUnenforceable: true})
	if diags.HasErrors() || out == nil || len(diags) != 1 || diags[0].Severity != diag.Warning {
		t.Fatalf("AllowUnenforceable: %v", diags)
	}
	if strings.Contains(string(out.Files["sb"]), "GLOB_") {
		t.Errorf("the refused glob is in the profile")
	}
}

// TestProfileStringsUnderLimit: no string literal of a lowered profile is
// over 1 KiB (sbpl.Parse refuses those, as sandbox-exec does).
func TestProfileStringsUnderLimit(t *testing.T) {
	out, diags := Lower(bigPolicy(), backends.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	if _, err := sbpl.Parse("big.sb", string(out.Files["sb"])); err != nil {
		t.Fatal(err)
	}
}
