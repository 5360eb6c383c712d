package main

import (
	"strings"
	"testing"

	"polc/internal/conformance"
)

// TestAllowUnenforceableIsAnOptIn: a rule a platform cannot enforce is an
// error (fail closed) until the user passes --allow-unenforceable, which
// turns it into a warning, for check and build alike.
func TestAllowUnenforceableIsAnOptIn(t *testing.T) {
	// The Unix system directories but not :minimal: runnable on Linux,
	// while Windows would hide its own system directories (POL092).
	c := &conformance.Case{Config: "default_permissions = \"p\"\n[permissions.p.filesystem]\n\"/usr\" = \"read\"\n\"/bin\" = \"read\"\n\"/lib\" = \"read\"\n\"/lib64\" = \"read\"\n\":workspace_roots\" = \"write\"\n"}
	cw := newCLIWorld(t, c)

	_, out, code := cw.polc("check", "--target", "windows")
	if code != 1 || !strings.Contains(out, "error: windows:") || !strings.Contains(out, "[POL092]") {
		t.Fatalf("check without opt-in: exit %d, want 1 with a POL092 error:\n%s", code, out)
	}
	_, stderr, code := cw.polc("build", "--target", "windows", "-o", cw.w.Root+"/out")
	if code == 0 {
		t.Fatalf("build without opt-in wrote an artifact that weakens the policy:\n%s", stderr)
	}
	_, out, code = cw.polc("check", "--target", "windows", "--allow-unenforceable")
	if code != 0 || !strings.Contains(out, "warning: windows:") {
		t.Fatalf("check with opt-in: exit %d, want 0 with a warning:\n%s", code, out)
	}
	_, stderr, code = cw.polc("build", "--target", "windows", "--allow-unenforceable", "-o", cw.w.Root+"/out")
	if code != 0 {
		t.Fatalf("build with opt-in: exit %d:\n%s", code, stderr)
	}
}
