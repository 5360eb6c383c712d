package ir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/diag"
)

// TestHostBindings: the one way polc finds the host values (the
// compiler and polc exec --artifact both call HostBindings).
func TestHostBindings(t *testing.T) {
	root := t.TempDir()
	root, _ = filepath.EvalSymlinks(root)
	for _, d := range []string{"proj", "home/.codex", "ch"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "proj"), filepath.Join(root, "plink")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

	h, d := HostBindings(HostInput{Dir: "plink", Getenv: env(map[string]string{"HOME": root + "/home/", "TMPDIR": "tmp"})})
	if d.HasErrors() {
		t.Fatal(d)
	}
	want := Bindings{VarWorkspaceRoot: root + "/proj", VarHome: root + "/home", VarCodexHome: root + "/home/.codex"}
	if len(h.Bindings) != len(want) {
		t.Errorf("bindings %v, want %v (a relative TMPDIR binds nothing)", h.Bindings, want)
	}
	for k, v := range want {
		if h.Bindings[k] != v {
			t.Errorf("%s = %q, want %q", k, h.Bindings[k], v)
		}
	}

	// A relative CODEX_HOME is made absolute, as Codex canonicalizes it.
	h, d = HostBindings(HostInput{Dir: "proj", Getenv: env(map[string]string{"HOME": root + "/home", "CODEX_HOME": "ch", "TMPDIR": "/var/x/"})})
	if d.HasErrors() || h.Bindings[VarCodexHome] != root+"/ch" || h.Bindings[VarTmpdir] != "/var/x" {
		t.Errorf("relative CODEX_HOME: %v %v", h.Bindings, d)
	}

	// A relative HOME is refused, wherever polc runs from.
	_, d = HostBindings(HostInput{Dir: "proj", Getenv: env(map[string]string{"HOME": "home"})})
	if len(d) != 1 || d[0].Code != diag.HomeRelative || d[0].Pos.File != "$HOME" || !strings.Contains(d[0].Message, `HOME is "home", a relative path`) {
		t.Errorf("relative HOME: %v", d)
	}
	// A CODEX_HOME that names no directory is refused.
	_, d = HostBindings(HostInput{Dir: "proj", Getenv: env(map[string]string{"HOME": root + "/home", "CODEX_HOME": root + "/nope"})})
	if len(d) != 1 || d[0].Code != diag.CodexHomeMissing {
		t.Errorf("missing CODEX_HOME: %v", d)
	}
	// So is a project directory that does not exist.
	_, d = HostBindings(HostInput{Dir: "gone", Getenv: env(map[string]string{"HOME": root + "/home"})})
	if len(d) != 1 || d[0].Code != diag.FileUnreadable || d[0].Pos.File != "gone" {
		t.Errorf("missing project: %v", d)
	}
}
