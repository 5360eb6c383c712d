package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 12: what polc says must be what polc exec enforces. Each test
// runs polc as a user would (see artWorld) and checks what is printed.

// newUserWorld is an artWorld whose config is the user's
// $CODEX_HOME/config.toml (no project layer).
func newUserWorld(t *testing.T, userConfig string) *artWorld {
	t.Helper()
	w := newArtWorld(t, "")
	if err := os.Remove(w.path("proj/.codex/config.toml")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(w.path("home/.codex"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.write("home/.codex/config.toml", userConfig)
	return w
}

// TestTypoTableRefused: [permissions.dev.filesytem] used to be a warning,
// and exec printed the secret. Now check fails (even without --strict),
// build writes nothing, and exec refuses in one line naming the typo.
func TestTypoTableRefused(t *testing.T) {
	w := newUserWorld(t, `default_permissions = "dev"

[permissions.dev.filesystem]
":root" = "read"

[permissions.dev.filesytem]
":workspace_roots" = { ".env" = "deny" }
`)
	out, _, code := w.polc("proj", "check", "--strict", "--target=none")
	if code != 1 || !strings.Contains(out, "error: unknown key permissions.dev.filesytem; did you mean filesystem? [POL140]") {
		t.Errorf("check: exit %d, want 1 and a did-you-mean error:\n%s", code, out)
	}
	if !strings.Contains(out, "config.toml:6:18: ") {
		t.Errorf("check: the error is not located at the table header:\n%s", out)
	}
	if _, errs, code := w.polc("proj", "build", "--target=linux"); code != 1 || !strings.Contains(errs, "POL140") {
		t.Errorf("build: exit %d, want 1 with POL140:\n%s", code, errs)
	}
	needLinux(t)
	out, errs, code := w.polc("proj", "exec", "--", "cat", ".env")
	if code != 125 || strings.Contains(out, "SECRET") {
		t.Fatalf("exec: exit %d, stdout %q; want 125 and no secret", code, out)
	}
	if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "did you mean filesystem?") || !strings.Contains(errs, "[POL140]") {
		t.Errorf("exec: stderr %q, want one line naming the typo", errs)
	}
}

var _ = filepath.Join

// TestMissingCodexHomeRefused: a CODEX_HOME that does not exist used to
// fall back silently to :read-only; Codex refuses to start, and so does
// every polc command that reads the config.
func TestMissingCodexHomeRefused(t *testing.T) {
	w := newUserWorld(t, `default_permissions = ":workspace"`+"\n")
	if err := os.RemoveAll(w.path("home/.codex")); err != nil {
		t.Fatal(err)
	}
	want := `CODEX_HOME points to "` + w.path("home/.codex") + `", but that path does not exist [POL141]`
	out, _, code := w.polc("proj", "check", "--target=none")
	if code != 1 || !strings.Contains(out, "$CODEX_HOME: error: "+want) {
		t.Errorf("check: exit %d, want 1 and %q:\n%s", code, want, out)
	}
	if _, errs, code := w.polc("proj", "explain", "a.txt"); code != 1 || !strings.Contains(errs, want) {
		t.Errorf("explain: exit %d, want 1 and %q:\n%s", code, want, errs)
	}
	needLinux(t)
	out, errs, code := w.polc("proj", "exec", "--", "echo", "RAN")
	if code != 125 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, want) {
		t.Errorf("exec: exit %d, stdout %q, stderr %q; want 125 and one line %q", code, out, errs, want)
	}
}
