package seatbelt

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/backends"
	"polc/internal/conformance"
	"polc/ir"
)

// validate lowers pol, binds it for env and checks the interpreter against
// ir.Decide (under the same macOS view of paths) for every path and both
// operations. It returns the number of comparisons.
func validate(t *testing.T, pol *ir.Policy, env ir.Env, paths []string) int {
	t.Helper()
	out, diags := Lower(pol, backends.Options{})
	if diags.HasErrors() {
		t.Fatalf("Lower: %v", diags.Err())
	}
	ev, err := NewEvaluator(out.Payload, env)
	if err != nil {
		t.Fatalf("NewEvaluator: %v\n%s", err, out.Files["sb"])
	}
	dec, err := ir.NewDecider(pol, MacEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range paths {
		for _, op := range []ir.Op{ir.OpRead, ir.OpWrite} {
			want := dec.Decide(p, op)
			got := ev.Decide(p, op)
			if got.Allowed != want.Allowed {
				t.Errorf("%s %s: seatbelt %v (%s), ir.Decide %v (%s)\nparams: %v\nprofile:\n%s",
					op, p, got.Allowed, got.Reason, want.Allowed, want.Reason(), ev.Binding.Args, userPart(string(out.Files["sb"])))
				return n
			}
			n++
		}
	}
	return n
}

// userPart is the profile without the fixed base, for failure messages.
func userPart(sb string) string {
	if i := strings.Index(sb, "\n; policy "); i >= 0 {
		return sb[i:]
	}
	return sb
}

// walkAll lists every path under root plus a missing child of each
// directory.
func walkAll(t testing.TB, root string) []string {
	var out []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		out = append(out, p)
		if info.IsDir() {
			out = append(out, filepath.Join(p, "missing-new"))
		}
		return nil
	})
	return out
}

func seedPolicy() *ir.Policy {
	ws := ir.VarWorkspaceRoot
	return &ir.Policy{
		Profile:        "workspace",
		Minimal:        &ir.Origin{Kind: ir.OriginConfig, Key: ":minimal"},
		WorkspaceRoots: []string{ws},
		Rules: []ir.Rule{
			{Path: ws, Access: ir.Write},
			{Path: ws + "/.git", Access: ir.Read, SkipIfMissing: true, Origin: ir.Origin{Kind: ir.OriginProtected}},
			{Path: ws + "/.agents", Access: ir.Read, SkipIfMissing: true, Origin: ir.Origin{Kind: ir.OriginProtected}},
			{Path: ws + "/.codex", Access: ir.Read, Origin: ir.Origin{Kind: ir.OriginProtected}},
		},
		Globs:   []ir.Glob{{Pattern: ws + "/**/*.env", Base: ws, MaxDepth: 3}},
		Network: ir.Network{Mode: ir.NetworkNone},
	}
}

func TestSeedAgreesWithDecide(t *testing.T) {
	root := t.TempDir()
	conformance.MkTree(t, root, "proj/.env", "proj/a.txt", "proj/sub/x.env", "proj/sub/deep/deeper/z.env",
		"proj/.git/config", "proj/.codex/", "home/notes.txt", "proj/my-dir/.env/inner")
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: filepath.Join(root, "proj"), ir.VarHome: filepath.Join(root, "home")}}
	paths := append(walkAll(t, root), "/usr/bin/env", "/etc/hosts", "/private/etc/hosts", "/opt/homebrew/lib/x", "/Users/x")
	validate(t, seedPolicy(), env, paths)

	// What a user checks: the seed's decisions, beyond-cap .env included.
	out, _ := Lower(seedPolicy(), backends.Options{})
	ev, err := NewEvaluator(out.Payload, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rel  string
		op   ir.Op
		want bool
	}{
		{"proj/a.txt", ir.OpWrite, true},
		{"proj/sub/deep/deeper/z.env", ir.OpRead, false}, // no depth cap on macOS
		{"proj/.env", ir.OpWrite, false},
		{"proj/.git/config", ir.OpWrite, false},
		{"proj/.git/config", ir.OpRead, true},
		{"proj/.codex/new", ir.OpWrite, false},
		{"home/notes.txt", ir.OpRead, false},
	} {
		if got := ev.Decide(filepath.Join(root, c.rel), c.op); got.Allowed != c.want {
			t.Errorf("%s %s = %v, want %v (%s)", c.op, c.rel, got.Allowed, c.want, got.Reason)
		}
	}
	// Reasons name what decided, in the config's terms.
	for rel, want := range map[string]string{
		"proj/sub/deep/deeper/z.env": "deny glob ${WORKSPACE_ROOT}/**/*.env",
		"proj/.git/config":           "${WORKSPACE_ROOT}/.git (read)",
		"proj/a.txt":                 "PATH_0 = ${WORKSPACE_ROOT} (write)",
		"home/notes.txt":             "no rule of the profile grants it",
	} {
		if got := ev.Decide(filepath.Join(root, rel), ir.OpWrite); !strings.Contains(got.Reason, want) {
			t.Errorf("write %s: reason %q does not mention %q", rel, got.Reason, want)
		}
	}
	if got := ev.Network("127.0.0.1", 80); got.Allowed {
		t.Errorf("network allowed with network = none")
	}
}

// TestSlashTmpCanonical checks that /tmp rules are bound and matched as
// /private/tmp, as Seatbelt sees them, even on a host without /private.
func TestSlashTmpCanonical(t *testing.T) {
	pol := &ir.Policy{Rules: []ir.Rule{{Path: "/tmp", Access: ir.Write}, {Path: "/tmp/ro", Access: ir.Read}}}
	out, diags := Lower(pol, backends.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	ev, err := NewEvaluator(out.Payload, ir.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if v := ev.Binding.Values["PATH_0"]; v != "/private/tmp" {
		t.Errorf("PATH_0 = %q, want /private/tmp", v)
	}
	for p, want := range map[string]bool{"/tmp/x": true, "/private/tmp/x": true, "/tmp/ro/x": false, "/private/tmp/ro/y": false, "/var/x": false} {
		if got := ev.Decide(p, ir.OpWrite); got.Allowed != want {
			t.Errorf("write %s = %v, want %v (%s)", p, got.Allowed, want, got.Reason)
		}
	}
	validate(t, pol, ir.Env{}, []string{"/tmp/x", "/private/tmp/x", "/tmp/ro", "/tmp/ro/x", "/private/tmp/ro/y", "/var/tmp/x", "/tmp"})
}

func TestNetworkModes(t *testing.T) {
	for _, c := range []struct {
		net  ir.Network
		host string
		port int
		want bool
	}{
		{ir.Network{Mode: ir.NetworkNone}, "127.0.0.1", 8080, false},
		{ir.Network{Mode: ir.NetworkFull}, "93.184.216.34", 443, true},
		{ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: 3128, SOCKSPort: 8081, SOCKS5: true}}, "127.0.0.1", 3128, true},
		{ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: 3128, SOCKSPort: 8081, SOCKS5: true}}, "::1", 8081, true},
		{ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: 3128}}, "127.0.0.1", 80, false},
		{ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: 3128}}, "10.0.0.5", 3128, false},
		// A proxy network always has its listener: the default port.
		{ir.Network{Mode: ir.NetworkProxy}, "127.0.0.1", 3128, true},
		{ir.Network{Mode: ir.NetworkProxy}, "127.0.0.1", 8081, false},
	} {
		pol := &ir.Policy{Network: c.net}
		out, diags := Lower(pol, backends.Options{})
		if diags.HasErrors() {
			t.Fatal(diags.Err())
		}
		ev, err := NewEvaluator(out.Payload, ir.Env{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.Network(c.host, c.port); got.Allowed != c.want {
			t.Errorf("%v %s:%d = %v, want %v (%s)", c.net, c.host, c.port, got.Allowed, c.want, got.Reason)
		}
	}
}

// randomCase builds a random world and policy. wsInHome nests the
// workspace inside the home directory, so that rules under different
// roots nest on the host.
func randomCase(t *testing.T, rng *rand.Rand) (*ir.Policy, ir.Env, []string) {
	root := t.TempDir()
	names := []string{"a", "b", "sub", ".git", ".env", "x.env", "my-dir", "deep", "k.pem", "link"}
	home := filepath.Join(root, "home")
	ws := filepath.Join(root, "ws")
	if rng.Intn(2) == 0 {
		ws = filepath.Join(home, "proj")
	}
	tmp := filepath.Join(root, "tmp")
	abs := filepath.Join(root, "abs")
	for _, d := range []string{home, ws, tmp, abs} {
		conformance.MkTree(t, d, "./")
	}
	// Symlinks (made before the tree, which may then grow through them):
	// a link in the project to a directory elsewhere, and one to a file;
	// queries through them are judged by their targets.
	if rng.Intn(2) == 0 {
		os.Symlink(abs, filepath.Join(ws, "link"))
		os.Symlink(filepath.Join(home, "a"), filepath.Join(ws, "flink"))
	}
	for _, d := range []string{home, ws, tmp, abs} {
		for i := rng.Intn(12); i > 0; i-- {
			var parts []string
			for k := 1 + rng.Intn(4); k > 0; k-- {
				parts = append(parts, names[rng.Intn(len(names))])
			}
			e := filepath.Join(parts...)
			if rng.Intn(3) == 0 {
				e += "/"
			}
			// a file where a directory is wanted is fine: skip the clash
			if _, err := os.Stat(filepath.Join(d, filepath.Dir(e))); err == nil {
				if st, _ := os.Stat(filepath.Join(d, filepath.Dir(e))); !st.IsDir() {
					continue
				}
			}
			func() {
				defer func() { recover() }()
				full := filepath.Join(d, e)
				if strings.HasSuffix(e, "/") {
					os.MkdirAll(full, 0o755)
				} else if os.MkdirAll(filepath.Dir(full), 0o755) == nil {
					os.WriteFile(full, []byte("x"), 0o644)
				}
			}()
		}
	}
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: ws, ir.VarHome: home, ir.VarTmpdir: tmp}}
	roots := []string{ir.VarWorkspaceRoot, ir.VarHome, ir.VarTmpdir, abs, root}
	relPath := func() string {
		var parts []string
		for k := rng.Intn(3); k > 0; k-- {
			parts = append(parts, names[rng.Intn(len(names))])
		}
		if len(parts) == 0 {
			return ""
		}
		return "/" + strings.Join(parts, "/")
	}
	pol := &ir.Policy{Profile: "random", Network: ir.Network{Mode: ir.NetworkNone}}
	if rng.Intn(2) == 0 {
		pol.Minimal = &ir.Origin{Kind: ir.OriginConfig}
	}
	if rng.Intn(4) == 0 {
		pol.Rules = append(pol.Rules, ir.Rule{Path: "/", Access: ir.Read})
	}
	for i := 1 + rng.Intn(8); i > 0; i-- {
		r := ir.Rule{Path: roots[rng.Intn(len(roots))] + relPath(), Access: ir.Access(1 + rng.Intn(3))}
		switch rng.Intn(6) {
		case 0:
			r.SkipIfMissing = true
		case 1:
			r.Mandatory, r.Access = true, ir.Deny
		}
		pol.Rules = append(pol.Rules, r)
	}
	globAtoms := []string{"*.env", "**", "*", "sub", "?", "[ab]", "k.[pq]em", "{a,b}", ".git", "my-dir"}
	for i := rng.Intn(3); i > 0; i-- {
		base := roots[rng.Intn(len(roots))] + relPath()
		var parts []string
		for k := 1 + rng.Intn(3); k > 0; k-- {
			parts = append(parts, globAtoms[rng.Intn(len(globAtoms))])
		}
		pat := base + "/" + strings.Join(parts, "/")
		pol.Globs = append(pol.Globs, ir.Glob{Pattern: pat, Base: ir.GlobBase(pat), Mandatory: rng.Intn(4) == 0})
	}
	var paths []string
	paths = append(paths, walkAll(t, root)...)
	paths = append(paths, "/usr/bin/env", "/etc/hosts", "/tmp/x")
	// The same places reached through the project's links.
	for _, p := range walkAll(t, abs) {
		paths = append(paths, filepath.Join(ws, "link", strings.TrimPrefix(p, abs)))
	}
	paths = append(paths, filepath.Join(ws, "flink"), filepath.Join(ws, "flink", "x"))
	return pol, env, paths
}

// TestRandomPoliciesAgreeWithDecide is the translation-validation
// property: for random trees, rules, globs and root nestings, the SBPL
// interpreter on the lowered artifact gives ir.Decide's answer, or the
// shim refuses the layout (never a silent divergence).
func TestRandomPoliciesAgreeWithDecide(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	compared, refused, symlinked := 0, 0, 0
	for i := 0; i < 120; i++ {
		pol, env, paths := randomCase(t, rng)
		pol.Sort()
		out, diags := Lower(pol, backends.Options{})
		if diags.HasErrors() {
			continue // a glob the generator made that macOS refuses
		}
		if _, err := NewEvaluator(out.Payload, env); err != nil {
			switch {
			case strings.Contains(err.Error(), "POL081"):
				// Only when a rule path or glob base really goes through
				// a symlink below its root.
				if !strings.Contains(err.Error(), "/link") {
					t.Fatalf("case %d: symlink refusal without a symlink: %v", i, err)
				}
				symlinked++
			case strings.Contains(err.Error(), "POL082"):
				refused++
			default:
				t.Fatalf("case %d: %v", i, err)
			}
			continue
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { compared += validate(t, pol, env, paths) })
		if t.Failed() {
			t.Logf("policy: %+v", pol)
			return
		}
	}
	t.Logf("%d comparisons, %d layouts refused, %d symlinked rule paths refused", compared, refused, symlinked)
	if compared < 4000 {
		t.Fatalf("only %d comparisons", compared)
	}
	if refused > 12 {
		t.Errorf("%d of 120 random layouts refused: the cross-root parameters are too weak", refused)
	}
}

func TestMayWrite(t *testing.T) {
	root := t.TempDir()
	pol := &ir.Policy{Rules: []ir.Rule{{Path: ir.VarWorkspaceRoot, Access: ir.Write}, {Path: ir.VarHome, Access: ir.Read}}}
	out, _ := Lower(pol, backends.Options{})
	pl, _ := Decode(out.Payload)
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: root + "/proj", ir.VarHome: root + "/home"}}
	b, err := Bind(pl, env)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{root + "/proj/.cache/x": true, root + "/home/.cache": false, "/var/tmp/polc": false} {
		if got := MayWrite(pl, b, env, p); got != want {
			t.Errorf("MayWrite(%s) = %v, want %v", p, got, want)
		}
	}
}

func TestCommand(t *testing.T) {
	pol := &ir.Policy{Rules: []ir.Rule{{Path: "/tmp", Access: ir.Write}}}
	out, _ := Lower(pol, backends.Options{})
	pl, _ := Decode(out.Payload)
	b, err := Bind(pl, ir.Env{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(Command("/p/profile.sb", b, []string{"sh", "-c", "echo hi"}), " ")
	if want := "/usr/bin/sandbox-exec -f /p/profile.sb -DPATH_0=/private/tmp -- sh -c echo hi"; got != want {
		t.Errorf("argv = %s\nwant   %s", got, want)
	}
}

// FuzzEvaluator feeds damaged payloads to the decoder, binder and
// interpreter: they must refuse or answer, never panic or hang.
func FuzzEvaluator(f *testing.F) {
	out, _ := Lower(seedPolicy(), backends.Options{})
	f.Add(out.Payload)
	f.Add([]byte(`{"format":"polc.seatbelt/3","profile":["(version 1)(deny default)"],"places":[{"path":"/a","root":"/","access":"read","parent":0}]}`))
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: "/w", ir.VarHome: "/h"},
		Resolve: func(s string) string { return s }, Exists: func(string) bool { return false }}
	f.Fuzz(func(t *testing.T, payload []byte) {
		ev, err := NewEvaluator(payload, env)
		if err != nil {
			return
		}
		ev.Decide("/w/a", ir.OpRead)
		ev.Decide("/w/.git/x", ir.OpWrite)
		ev.Network("127.0.0.1", 80)
	})
}

func TestDecodeRefusesDamagedPayloads(t *testing.T) {
	for _, p := range []string{
		`{"format":"other"}`,
		`{"format":"polc.seatbelt/3","places":[{"path":"/a","root":"/","access":"read","parent":0}]}`,
		`{"format":"polc.seatbelt/3","places":[{"path":"a","root":"/","access":"read","parent":-1}]}`,
		`{"format":"polc.seatbelt/3","params":[{"name":"X","place":3}]}`,
		`{"format":"polc.seatbelt/3","places":[{"path":"/a","root":"/","access":"read","parent":-1}],"params":[{"name":"X=1","place":0}]}`,
		`not json`,
		// Layout 1 (the profile as one string) and a string profile under
		// layout 3 are refused, never read as something else.
		`{"format":"polc.seatbelt/1","profile":"(version 1)(deny default)"}`,
		`{"format":"polc.seatbelt/3","profile":"(version 1)(deny default)"}`,
	} {
		if _, err := Decode([]byte(p)); err == nil || !strings.Contains(err.Error(), "POL086") {
			t.Errorf("Decode(%s) = %v, want a POL086 refusal", p, err)
		}
	}
}
