package compiler_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/compiler"
	"polc/diag"
	"polc/internal/canonjson"
	"polc/internal/conformance"
	"polc/ir"
)

// world is a scratch project for one test: proj, home, tmp, codexhome.
type world struct {
	root string
	opts compiler.Options
}

func newWorld(t *testing.T, config string, tree ...string) *world {
	t.Helper()
	root := conformance.TempRoot(t)
	w := &world{root: root, opts: compiler.Options{Dir: filepath.Join(root, "proj"), CodexHome: filepath.Join(root, "codexhome"),
		Home: filepath.Join(root, "home"), Tmpdir: filepath.Join(root, "tmp"), SystemDir: filepath.Join(root, "etc")}}
	for _, d := range []string{"proj", "home", "tmp", "codexhome", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.write(t, "codexhome/config.toml", config)
	for _, e := range tree {
		if target, ok := strings.CutPrefix(e, "link "); ok {
			from, to, _ := strings.Cut(target, " -> ")
			if err := os.Symlink(w.path(to), w.path(from)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if strings.HasSuffix(e, "/") {
			if err := os.MkdirAll(w.path(e), 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		w.write(t, e, "x\n")
	}
	return w
}

func (w *world) path(rel string) string { return filepath.Join(w.root, rel) }

func (w *world) write(t *testing.T, rel, body string) string {
	t.Helper()
	p := w.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "$ROOT", w.root)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (w *world) mustCompile(t *testing.T) *compiler.Result {
	t.Helper()
	res := compiler.Compile(w.opts)
	if res.Policy == nil {
		t.Fatalf("compile failed:\n%s", diagText(res.Diags))
	}
	return res
}

func (w *world) decide(t *testing.T, res *compiler.Result, rel string, op ir.Op) ir.Decision {
	t.Helper()
	d, err := ir.Decide(res.Policy, res.Env, w.path(rel), op)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRequirementLayers(t *testing.T) {
	w := newWorld(t, "default_permissions = \"dev\"\n[permissions.dev]\nextends = \":workspace\"\n", "home/.netrc", "proj/k.pem")
	r1 := w.write(t, "r1.toml", "allowed_sandbox_modes = [\"read-only\"]\nallowed_permission_profiles = { dev = true, \":read-only\" = true }\ndefault_permissions = \"dev\"\n[permissions.filesystem]\ndeny_read = [\"$ROOT/home/.netrc\"]\n")
	r2 := w.write(t, "r2.toml", "allowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n[permissions.filesystem]\ndeny_read = [\"$ROOT/proj/*.pem\"]\n")
	w.opts.RequirementFiles = []string{r1, r2}
	res := w.mustCompile(t)
	b1, _ := os.ReadFile(r1)
	b2, _ := os.ReadFile(r2)
	sum := sha256.Sum256(append(b1, b2...))
	if res.Policy.RequirementsDigest != hex.EncodeToString(sum[:]) {
		t.Errorf("digest %s, want sha256 of both files in order", res.Policy.RequirementsDigest)
	}
	// The later file's allowed_sandbox_modes wins: workspace-write stays.
	if !w.decide(t, res, "proj/a", ir.OpWrite).Allowed {
		t.Error("later requirements file should allow workspace-write")
	}
	// deny_read is the union of both files.
	for _, p := range []string{"home/.netrc", "proj/k.pem"} {
		if d := w.decide(t, res, p, ir.OpRead); d.Allowed {
			t.Errorf("%s readable: %s", p, d.Reason())
		}
	}
	// allowed_permission_profiles merges per key: a later false refuses.
	r3 := w.write(t, "r3.toml", "allowed_permission_profiles = { dev = false }\n")
	w.opts.RequirementFiles = []string{r1, r3}
	if res := compiler.Compile(w.opts); res.Policy != nil || !hasCode(res.Diags, diag.ProfileNotAllowed) {
		t.Errorf("dev = false in a later file should refuse:\n%s", diagText(res.Diags))
	}
}

func TestProtectMetadata(t *testing.T) {
	w := newWorld(t, `default_permissions = "p"
[permissions.p]
workspace_roots = { "$ROOT/other" = true }
[permissions.p.filesystem]
":minimal" = "read"
":workspace_roots" = { "." = "write", ".agents" = "write" }
`, "proj/.git/HEAD", "other/.codex/", "other/.git/", "other/x")
	res := w.mustCompile(t)
	byPath := map[string]ir.Rule{}
	for _, r := range res.Policy.Rules {
		byPath[r.Path] = r
	}
	if r := byPath["${WORKSPACE_ROOT}/.codex"]; r.Access != ir.Read || r.SkipIfMissing {
		t.Errorf(".codex at the primary root must be protected even when missing: %+v", r)
	}
	// Codex 0.169.0 keeps .git, .agents and .codex read-only under every
	// writable root that is a directory, also while they are missing.
	if r := byPath[w.path("other")+"/.codex"]; r.Access != ir.Read || r.SkipIfMissing {
		t.Errorf(".codex under an extra root: %+v", r)
	}
	if r := byPath["${WORKSPACE_ROOT}/.agents"]; r.Access != ir.Write || r.Origin.Kind != ir.OriginConfig {
		t.Errorf("an explicit .agents rule replaces the protection: %+v", r)
	}
	for rel, want := range map[string]bool{"proj/.git/HEAD": false, "proj/.codex/config.toml": false, "proj/.polc/x.json": false,
		"proj/.agents/x": true, "other/.codex/x": false, "other/x": true, "other/.git/x": false, "other/.agents/x": true} {
		if d := w.decide(t, res, rel, ir.OpWrite); d.Allowed != want {
			t.Errorf("write %s = %v, want %v (%s)", rel, d.Allowed, want, d.Reason())
		}
	}
}

func TestSymlinkedProtectedPathFailsClosed(t *testing.T) {
	w := newWorld(t, "default_permissions = \":workspace\"\n", "store/git/HEAD", "link proj/.git -> store/git")
	res := compiler.Compile(w.opts)
	if res.Policy != nil || !hasCode(res.Diags, diag.SymlinkCrossesRoot) {
		t.Errorf("a protected .git symlink in the writable project must fail closed:\n%s", diagText(res.Diags))
	}
}

func TestOverrideFallsBackToString(t *testing.T) {
	w := newWorld(t, "default_permissions = \":read-only\"\n")
	w.opts.Overrides = []string{"default_permissions=:workspace", `permissions.dev.filesystem.":root"="read"`}
	res := w.mustCompile(t)
	if res.Policy.Profile != ":workspace" {
		t.Errorf("bare -c value is a string: profile %s", res.Policy.Profile)
	}
}

func TestDeterministic(t *testing.T) {
	w := newWorld(t, `default_permissions = "p"
[permissions.p.filesystem]
":root" = "read"
"~/.ssh" = "deny"
":workspace_roots" = { "." = "write", "**/*.env" = "deny", "b" = "read", "a" = "deny" }
`)
	a, _ := canonjson.Marshal(w.mustCompile(t).Policy)
	b, _ := canonjson.Marshal(w.mustCompile(t).Policy)
	if !bytes.Equal(a, b) {
		t.Error("two compiles of the same input differ")
	}
	if bytes.Contains(a, []byte(w.root+"/proj")) {
		t.Error("the policy holds the host project path instead of ${WORKSPACE_ROOT}")
	}
}

func TestChecks(t *testing.T) {
	w := newWorld(t, `default_permissions = "p"
[permissions.p.filesystem]
":minimal" = "read"
"/opt" = "read"
"/opt/" = "deny"
":workspace_roots" = { "." = "write", "gen" = "write", "**/node_modules" = "deny", "node_modules/x" = "read" }
`, "proj/node_modules/x/")
	res := compiler.Compile(w.opts)
	want := map[diag.Code]int{diag.DeadRule: 3, diag.MissingWriteRoot: 1}
	got := map[diag.Code]int{}
	for _, d := range res.Diags {
		got[d.Code]++
		if d.Pos.Line == 0 {
			t.Errorf("diagnostic without a line: %s", d)
		}
	}
	for c, n := range want {
		if got[c] != n {
			t.Errorf("%s: %d diagnostics, want %d:\n%s", c, got[c], n, diagText(res.Diags))
		}
	}
}

// TestUnixSockets: unix_sockets "allow" entries and
// dangerously_allow_all_unix_sockets reach the policy with their
// positions, whatever the network mode; a relative socket is an error,
// and allowing every socket is a warning (POL040).
func TestUnixSockets(t *testing.T) {
	w := newWorld(t, `default_permissions = "dev"
[permissions.dev.filesystem]
":root" = "read"
[permissions.dev.network]
unix_sockets = { "/run/b.sock/" = "allow", "/run/a.sock" = "allow", "/run/no.sock" = "deny" }
`)
	res := w.mustCompile(t)
	n := res.Policy.Network
	if n.Mode != ir.NetworkNone || len(n.UnixSockets) != 2 || n.UnixSockets[0].Path != "/run/a.sock" || n.UnixSockets[1].Path != "/run/b.sock" || n.AllUnixSockets != nil {
		t.Fatalf("network %+v", n)
	}
	if pos := n.UnixSockets[0].Origin.Pos; pos.Line != 5 || !strings.HasSuffix(pos.File, "config.toml") {
		t.Errorf("socket origin %v, want config.toml line 5", pos)
	}
	if hasCode(res.Diags, diag.AllUnixSockets) {
		t.Errorf("unexpected POL040:\n%s", diagText(res.Diags))
	}

	w = newWorld(t, `default_permissions = "dev"
[permissions.dev.filesystem]
":root" = "read"
[permissions.dev.network]
enabled = true
dangerously_allow_all_unix_sockets = true
`)
	res = w.mustCompile(t)
	if a := res.Policy.Network.AllUnixSockets; a == nil || a.Pos.Line != 6 || !hasCode(res.Diags, diag.AllUnixSockets) {
		t.Errorf("dangerously_allow_all_unix_sockets: %+v\n%s", a, diagText(res.Diags))
	}

	w = newWorld(t, `default_permissions = "dev"
[permissions.dev.filesystem]
":root" = "read"
[permissions.dev.network]
unix_sockets = { "run/x.sock" = "allow" }
`)
	if res := compiler.Compile(w.opts); res.Policy != nil || !hasCode(res.Diags, diag.BadNetwork) {
		t.Errorf("relative socket: want POL037:\n%s", diagText(res.Diags))
	}
}

// Without --hostname, remote_sandbox_config is matched against this
// machine's name: "*" matches whatever it is, so :workspace is narrowed.
func TestRemoteSandboxConfigThisHost(t *testing.T) {
	w := newWorld(t, "default_permissions = \":workspace\"\n")
	r := w.write(t, "r.toml", "[[remote_sandbox_config]]\nhostname_patterns = [\"*\"]\nallowed_sandbox_modes = [\"read-only\"]\n")
	w.opts.RequirementFiles = []string{r}
	res := w.mustCompile(t)
	if !hasCode(res.Diags, diag.RemoteSandboxConfig) || !hasCode(res.Diags, diag.SandboxModeNarrowed) {
		t.Fatalf("want POL164 and POL051:\n%s", diagText(res.Diags))
	}
	if w.decide(t, res, "proj/a", ir.OpWrite).Allowed {
		t.Error("the matching entry allows only read-only; proj/a must not be writable")
	}
	// A pattern no host name has leaves the file's own modes.
	w.opts.Hostname = "devbox"
	r2 := w.write(t, "r2.toml", "[[remote_sandbox_config]]\nhostname_patterns = [\"*.nowhere.invalid\"]\nallowed_sandbox_modes = [\"read-only\"]\n")
	w.opts.RequirementFiles = []string{r2}
	if res := w.mustCompile(t); !w.decide(t, res, "proj/a", ir.OpWrite).Allowed {
		t.Errorf("no entry matches devbox; :workspace should stay writable:\n%s", diagText(res.Diags))
	}
}
