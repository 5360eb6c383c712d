package compiler_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/compiler"
	"polc/internal/conformance"
	"polc/ir"
)

// TestSymbolicOrigins: the policy's origins name files symbolically: a
// requirements file by flag and name (numbered when two share a name),
// or by variable when it lies below one, and the user's config as
// ${CODEX_HOME}/config.toml. Result.Env names them on the host again;
// diagnostics keep the real path.
func TestSymbolicOrigins(t *testing.T) {
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
	write(filepath.Join(codexHome, "config.toml"), "default_permissions = \":workspace\"\n[auto_review]\npolicy = \"be careful\"\n")
	write(filepath.Join(root, "a", "req.toml"), "[permissions.filesystem]\ndeny_read = [\"~/.ssh\"]\n")
	write(filepath.Join(root, "b", "req.toml"), "[permissions.filesystem]\ndeny_read = [\"~/.aws\"]\n")
	write(filepath.Join(home, "req.toml"), "[permissions.filesystem]\ndeny_read = [\"~/.netrc\"]\n")
	reqA := filepath.Join(root, "a", "req.toml")
	opts := compiler.Options{Dir: proj, CodexHome: codexHome, Home: home, SystemDir: filepath.Join(root, "etc"),
		RequirementFiles: []string{reqA, filepath.Join(root, "b", "req.toml"), filepath.Join(home, "req.toml")}}
	res := compiler.Compile(opts)
	if res.Policy == nil {
		t.Fatalf("compile failed: %v", res.Diags)
	}
	files := map[string]bool{}
	res.Policy.Origins(func(o *ir.Origin) {
		if o.Pos.File != "" {
			files[o.Pos.File] = true
		}
	})
	for _, want := range []string{"--requirements[1]:req.toml", "--requirements[2]:req.toml", "${HOME}/req.toml", "${CODEX_HOME}/config.toml"} {
		if !files[want] {
			t.Errorf("no origin named %s; got %v", want, files)
		}
	}
	for f := range files {
		if strings.HasPrefix(f, root) {
			t.Errorf("origin records the host path %s", f)
		}
	}
	if o := res.Policy.Approvals.AutoReviewPolicyOrigin; o == nil || o.Pos.File != "${CODEX_HOME}/config.toml" {
		t.Errorf("auto-review policy origin %+v, want ${CODEX_HOME}/config.toml", o)
	}
	for sym, host := range map[string]string{"--requirements[1]:req.toml": reqA, "${CODEX_HOME}/config.toml": filepath.Join(codexHome, "config.toml"),
		"${HOME}/req.toml": filepath.Join(home, "req.toml")} {
		if got := res.Env.HostFile(sym); got != host {
			t.Errorf("HostFile(%s) = %s, want %s", sym, got, host)
		}
	}
}
