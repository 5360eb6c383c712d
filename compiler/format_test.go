package compiler_test

import (
	"strings"
	"testing"

	"polc/compiler"
)

func TestFormat(t *testing.T) {
	in := `# my profile
default_permissions = "workspace"
approvals_reviewer = 'guardian_subagent'   # old name

[permissions.workspace.filesystem]
":minimal" = "read"
":project_roots" = { "." = "write", "**/*.env" = "none" } # seed
"~/.ssh" = "none"

[permissions.other.filesystem.":project_roots"]
"." = "read"
`
	out, changes, diags := compiler.Format("c.toml", []byte(in))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	want := `# my profile
default_permissions = "workspace"
approvals_reviewer = "auto_review"   # old name

[permissions.workspace.filesystem]
":minimal" = "read"
":workspace_roots" = { "." = "write", "**/*.env" = "deny" } # seed
"~/.ssh" = "deny"

[permissions.other.filesystem.":workspace_roots"]
"." = "read"
`
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	if len(changes) != 5 || changes[0].Pos.Line != 3 {
		t.Errorf("changes: %v", changes)
	}
	again, more, _ := compiler.Format("c.toml", out)
	if string(again) != string(out) || len(more) != 0 {
		t.Errorf("fmt is not idempotent: %v", more)
	}
	// A file that does not parse is left alone.
	bad := "a = [\n"
	if out, _, d := compiler.Format("c.toml", []byte(bad)); string(out) != bad || !d.HasErrors() || !strings.Contains(d[0].Pos.String(), "c.toml:") {
		t.Errorf("bad input: %q %v", out, d)
	}
}

// The retired approval_policy "untrusted" is rewritten to "on-request",
// and the rewritten file loads without the error.
func TestFormatRetiredUntrusted(t *testing.T) {
	in := "approval_policy = \"untrusted\" # strict\n"
	out, changes, _ := compiler.Format("c.toml", []byte(in))
	if string(out) != "approval_policy = \"on-request\" # strict\n" || len(changes) != 1 || changes[0].Old != `"untrusted"` {
		t.Fatalf("got %q %v", out, changes)
	}
	// A granular table and other values are left alone.
	keep := "approval_policy = { granular = { sandbox_approval = true, rules = true, mcp_elicitations = true } }\n"
	if out, changes, _ := compiler.Format("c.toml", []byte(keep)); string(out) != keep || len(changes) != 0 {
		t.Errorf("granular changed: %q %v", out, changes)
	}
}
