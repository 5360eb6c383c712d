package compiler_test

import (
	"testing"

	"polc/diag"
	"polc/internal/conformance"
)

// TestDiagnosticsSpanTheirToken: a diagnostic located at a value of the
// config spans it (End), so an editor or code scanning can underline it.
func TestDiagnosticsSpanTheirToken(t *testing.T) {
	c := &conformance.Case{Config: "default_permissions = \"p\"\n[permissions.p.filesystem]\n\":root\" = \"reed\"\n"}
	_, res := compileCase(t, c)
	for _, d := range res.Diags {
		if d.Code != diag.BadAccess {
			continue
		}
		if d.Pos.Line != 3 || d.Pos.Col != 11 || d.End == nil || d.End.Line != 3 || d.End.Col != 17 || d.End.File != "" {
			t.Fatalf("POL020 at %v, end %+v; want 3:11 to 3:17", d.Pos, d.End)
		}
		return
	}
	t.Fatalf("no POL020 in %v", res.Diags)
}
