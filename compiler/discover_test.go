package compiler_test

import (
	"os"
	"path/filepath"
	"testing"

	"polc/compiler"
	"polc/diag"
	"polc/internal/conformance"
)

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLayerPrecedence: system < user < project layers (repo root first,
// down to -C) < --config < -c, with Codex's trust gate for exec.
func TestLayerPrecedence(t *testing.T) {
	root := conformance.TempRoot(t)
	repo := filepath.Join(root, "repo")
	dir := filepath.Join(repo, "a", "b")
	for _, d := range []string{filepath.Join(repo, ".git"), dir, filepath.Join(root, "home"), filepath.Join(root, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	codexHome := filepath.Join(root, "home", ".codex")
	writeFile(t, filepath.Join(root, "etc", "config.toml"), "default_permissions = \":danger-full-access\"\n")
	writeFile(t, filepath.Join(codexHome, "config.toml"), "default_permissions = \":read-only\"\n")
	// A .codex above the repo root is not a project layer.
	writeFile(t, filepath.Join(root, ".codex", "config.toml"), "this is not toml")
	writeFile(t, filepath.Join(repo, ".codex", "config.toml"), "default_permissions = \"outer\"\n[permissions.outer.filesystem]\n\":root\" = \"read\"\n")
	writeFile(t, filepath.Join(repo, "a", "b", ".codex", "config.toml"), "default_permissions = \"inner\"\n[permissions.inner.filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n")
	writeFile(t, filepath.Join(root, "flag.toml"), "default_permissions = \"flagged\"\n[permissions.flagged.filesystem]\n\":minimal\" = \"read\"\n\":workspace_roots\" = \"read\"\n")

	opts := compiler.Options{Dir: dir, CodexHome: codexHome, Home: filepath.Join(root, "home"), SystemDir: filepath.Join(root, "etc")}
	profile := func(o compiler.Options) string {
		t.Helper()
		res := compiler.Compile(o)
		if res.Policy == nil {
			t.Fatalf("compile failed:\n%s", diagText(res.Diags))
		}
		return res.Policy.Profile
	}
	if got := profile(opts); got != "inner" {
		t.Errorf("nearest project layer should win, got %s", got)
	}
	withFlag := opts
	withFlag.ConfigFiles = []string{filepath.Join(root, "flag.toml")}
	if got := profile(withFlag); got != "flagged" {
		t.Errorf("--config above project layers, got %s", got)
	}
	withC := withFlag
	withC.Overrides = []string{`default_permissions=":workspace"`}
	if got := profile(withC); got != ":workspace" {
		t.Errorf("-c is the highest layer, got %s", got)
	}
	// exec: the untrusted project's layers are skipped with POL009.
	exec := opts
	exec.ForExec = true
	res := compiler.Compile(exec)
	if res.Policy == nil || res.Policy.Profile != ":read-only" || !hasCode(res.Diags, diag.UntrustedProject) {
		t.Errorf("exec in an untrusted project: %v\n%s", res.Policy, diagText(res.Diags))
	}
	// Trusting the repo root loads them again.
	writeFile(t, filepath.Join(codexHome, "config.toml"), "default_permissions = \":read-only\"\n[projects.\""+repo+"\"]\ntrust_level = \"trusted\"\n")
	if got := profile(exec); got != "inner" {
		t.Errorf("exec in a trusted project, got %s", got)
	}
}

// TestCodexHomeInsideProject: when CODEX_HOME is the project's .codex,
// that file is the user layer, read once.
func TestCodexHomeInsideProject(t *testing.T) {
	root := conformance.TempRoot(t)
	proj := filepath.Join(root, "proj")
	writeFile(t, filepath.Join(proj, ".codex", "config.toml"), "default_permissions = \":workspace\"\nmodle = 1\n")
	res := compiler.Compile(compiler.Options{Dir: proj, CodexHome: filepath.Join(proj, ".codex"), Home: root, SystemDir: filepath.Join(root, "etc")})
	n := 0
	for _, d := range res.Diags {
		if d.Code == diag.UnknownKey {
			n++
		}
	}
	if res.Policy == nil || n != 1 {
		t.Errorf("want one layer (one POL004), got %d:\n%s", n, diagText(res.Diags))
	}
}

func TestMissingInputs(t *testing.T) {
	root := conformance.TempRoot(t)
	res := compiler.Compile(compiler.Options{Dir: filepath.Join(root, "nope"), Home: root, SystemDir: root})
	if res.Policy != nil || !hasCode(res.Diags, diag.FileUnreadable) {
		t.Errorf("missing -C dir: %s", diagText(res.Diags))
	}
	res = compiler.Compile(compiler.Options{Dir: root, Home: root, SystemDir: root, CodexHome: root,
		ConfigFiles: []string{filepath.Join(root, "missing.toml")}, RequirementFiles: []string{root}})
	if res.Policy != nil || !hasCode(res.Diags, diag.FileUnreadable) {
		t.Errorf("missing --config: %s", diagText(res.Diags))
	}
}
