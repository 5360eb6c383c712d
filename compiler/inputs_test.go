package compiler_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/compiler"
	"polc/conformance"
)

// TestSymbolicInputs: with SymbolicInputs, requirement origins name the
// file by flag and name (numbered when two share a name), or by variable
// when it lies below one; diagnostics keep the real path.
func TestSymbolicInputs(t *testing.T) {
	root := conformance.TempRoot(t)
	home := filepath.Join(root, "home")
	proj := filepath.Join(root, "proj")
	codexHome := filepath.Join(home, ".codex")
	for _, d := range []string{proj, codexHome, filepath.Join(root, "a"), filepath.Join(root, "b")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(codexHome, "config.toml"), "default_permissions = \":workspace\"\n")
	write(filepath.Join(root, "a", "req.toml"), "[permissions.filesystem]\ndeny_read = [\"~/.ssh\"]\n")
	write(filepath.Join(root, "b", "req.toml"), "[permissions.filesystem]\ndeny_read = [\"~/.aws\"]\n")
	write(filepath.Join(home, "req.toml"), "[permissions.filesystem]\ndeny_read = [\"~/.netrc\"]\n")
	opts := compiler.Options{Dir: proj, CodexHome: codexHome, Home: home, SystemDir: filepath.Join(root, "etc"),
		RequirementFiles: []string{filepath.Join(root, "a", "req.toml"), filepath.Join(root, "b", "req.toml"), filepath.Join(home, "req.toml")},
		SymbolicInputs:   true}
	res := compiler.Compile(opts)
	if res.Policy == nil {
		t.Fatalf("compile failed: %v", res.Diags)
	}
	files := map[string]bool{}
	for _, r := range res.Policy.Rules {
		if r.Mandatory {
			files[r.Origin.Pos.File] = true
		}
	}
	for _, want := range []string{"--requirements[1]:req.toml", "--requirements[2]:req.toml", "${HOME}/req.toml"} {
		if !files[want] {
			t.Errorf("no requirement origin named %s; got %v", want, files)
		}
	}
	for f := range files {
		if strings.HasPrefix(f, root) {
			t.Errorf("origin records the host path %s", f)
		}
	}
	opts.SymbolicInputs = false
	res = compiler.Compile(opts)
	for _, r := range res.Policy.Rules {
		if r.Mandatory && !strings.HasPrefix(r.Origin.Pos.File, root) {
			t.Errorf("without SymbolicInputs the origin should be the real file, got %s", r.Origin.Pos.File)
		}
	}
}
