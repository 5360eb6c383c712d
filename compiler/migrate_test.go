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

// TestMigrateEquivalent: the migrated profile decides every probe as the
// legacy settings did, network included.
func TestMigrateEquivalent(t *testing.T) {
	for _, legacy := range []string{
		"sandbox_mode = \"workspace-write\"\n[sandbox_workspace_write]\nwritable_roots = [\"$ROOT/data\", \"~/cache\"]\nnetwork_access = true\nexclude_slash_tmp = true\n",
		"sandbox_mode = \"workspace-write\"\n",
		"sandbox_mode = \"workspace-write\"\n[sandbox_workspace_write]\nexclude_tmpdir_env_var = true\n",
		"sandbox_mode = \"read-only\"\n",
		"sandbox_mode = \"danger-full-access\"\n",
	} {
		root := conformance.TempRoot(t)
		for _, d := range []string{"proj/.git", "proj/.codex", "proj/src", "data/.git", "home/cache", "tmp", "codexhome", "etc"} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cfg := filepath.Join(root, "codexhome/config.toml")
		if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(legacy, "$ROOT", root)), 0o644); err != nil {
			t.Fatal(err)
		}
		opts := compiler.Options{Dir: filepath.Join(root, "proj"), CodexHome: filepath.Join(root, "codexhome"),
			Home: filepath.Join(root, "home"), Tmpdir: filepath.Join(root, "tmp"), SystemDir: filepath.Join(root, "etc")}
		before := compiler.Compile(opts)
		m := compiler.Migrate(opts, "migrated")
		if before.Policy == nil || m.TOML == "" || m.Diags.HasErrors() {
			t.Fatalf("%q: compile %v, migrate %q %v", legacy, before.Diags.Err(), m.TOML, m.Diags.Err())
		}
		if err := os.WriteFile(cfg, []byte(m.TOML), 0o644); err != nil {
			t.Fatal(err)
		}
		after := compiler.Compile(opts)
		if after.Policy == nil {
			t.Fatalf("migrated config does not compile:\n%s\n%s", m.TOML, diagText(after.Diags))
		}
		if before.Policy.Network.Mode != after.Policy.Network.Mode || before.Policy.Unrestricted != after.Policy.Unrestricted {
			t.Errorf("%q: network/unrestricted changed: %+v -> %+v", legacy, before.Policy.Network, after.Policy.Network)
		}
		db, _ := ir.NewDecider(before.Policy, before.Env)
		da, _ := ir.NewDecider(after.Policy, after.Env)
		for _, p := range []string{"proj/a", "proj/.git/HEAD", "proj/.codex/x", "proj/.agents/x", "proj/src/x", "data/x", "data/.git/x",
			"home/cache/x", "home/other", "tmp/x", "/tmp/x", "/etc/hostname", "other/x"} {
			host := p
			if !filepath.IsAbs(p) {
				host = filepath.Join(root, p)
			}
			for _, op := range []ir.Op{ir.OpRead, ir.OpWrite} {
				b, a := db.Decide(host, op), da.Decide(host, op)
				if a.Allowed != b.Allowed {
					t.Errorf("%q: %s %s: legacy %v (%s), migrated %v (%s)\n%s", legacy, op, p, b.Allowed, b.Reason(), a.Allowed, a.Reason(), m.TOML)
				}
			}
		}
	}
}
