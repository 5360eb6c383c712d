package ir

import (
	"os"
	"path/filepath"
	"testing"
)

// seedPolicy is the seed profile: project writable, **/*.env denied to
// depth 3, .git and .codex protected.
func seedPolicy() *Policy {
	ws := VarWorkspaceRoot
	return &Policy{
		Profile:        "workspace",
		Minimal:        &Origin{Kind: OriginConfig, Key: ":minimal"},
		WorkspaceRoots: []string{ws},
		Rules: []Rule{
			{Path: ws, Access: Write, Origin: Origin{Kind: OriginConfig, Key: ":project_roots/."}},
			{Path: ws + "/.git", Access: Read, SkipIfMissing: true, Origin: Origin{Kind: OriginProtected}},
			{Path: ws + "/.codex", Access: Read, Origin: Origin{Kind: OriginProtected}},
		},
		Globs: []Glob{{Pattern: ws + "/**/*.env", Base: ws, MaxDepth: 3, Origin: Origin{Kind: OriginConfig}}},
	}
}

func world(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		full := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDecideSeed(t *testing.T) {
	root := world(t, "proj/.env", "proj/a.txt", "proj/sub/deep/deeper/z.env", "proj/.git/config", "proj/.git/hooks/deep/x.env", "home/n.txt")
	proj := filepath.Join(root, "proj")
	d, err := NewDecider(seedPolicy(), Env{Bindings: Bindings{VarWorkspaceRoot: proj}, Platform: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path      string
		op        Op
		allowed   bool
		withinCap bool
	}{
		{"proj/a.txt", OpRead, true, true},
		{"proj/a.txt", OpWrite, true, true},
		{"proj/new.txt", OpWrite, true, true},
		{"proj/.env", OpRead, false, false},
		{"proj/.env", OpWrite, false, false},
		// Beyond the cap, but the project is writable: the sandbox could
		// have moved it there, so Linux and Windows mask it too.
		{"proj/sub/deep/deeper/z.env", OpRead, false, false},
		// Beyond the cap in read-only .git: nothing in the sandbox can
		// have put it there, and the cap still applies.
		{"proj/.git/hooks/deep/x.env", OpRead, false, true},
		{"proj/.git/config", OpWrite, false, false},
		{"proj/.git/config", OpRead, true, true},
		{"proj/.codex/config.toml", OpWrite, false, false},
		{"home/n.txt", OpRead, false, false},
		{"/usr/bin/env", OpRead, true, true},
		{"/usr/bin/env", OpWrite, false, false},
	}
	for _, c := range cases {
		p := c.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		got := d.Decide(p, c.op)
		if got.Allowed != c.allowed || got.AllowedWithinCap != c.withinCap {
			t.Errorf("%s %s: allowed=%v withinCap=%v, want %v %v (%s)", c.op, c.path, got.Allowed, got.AllowedWithinCap, c.allowed, c.withinCap, got.Reason())
		}
	}
}

// TestDecideCapLiftedWhereWritable: a deny-glob match deeper than the
// cap is within it (AllowedWithinCap false) exactly where the exact rules
// let the sandbox write the matched path, carve-outs and mandatory denies
// included; Regions says the same for every path.
func TestDecideCapLiftedWhereWritable(t *testing.T) {
	root := world(t, "proj/a/b/c/d.env", "proj/ro/x/y/k.env", "proj/ro/deep/w/z.env", "proj/ro/deep/w/q/r/k.env",
		"proj/m/n/o/s.env", "proj/m/w/o/t.env", "proj/a.env", "other/a/b/c/d.env")
	proj := filepath.Join(root, "proj")
	p := &Policy{
		Rules: []Rule{
			{Path: root, Access: Read},
			{Path: proj, Access: Write},
			{Path: proj + "/ro", Access: Read},
			{Path: proj + "/ro/deep/w", Access: Write},
			{Path: proj + "/m", Access: Deny, Mandatory: true},
			{Path: proj + "/m/w", Access: Write},
		},
		Globs: []Glob{{Pattern: proj + "/**/*.env", Base: proj, MaxDepth: 2}},
	}
	d, err := NewDecider(p, Env{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path               string
		allowed, withinCap bool
	}{
		{"proj/a.env", false, false},
		{"proj/a/b/c/d.env", false, false},     // writable: moved there?
		{"proj/ro/x/y/k.env", false, true},     // read-only: the cap applies
		{"proj/ro/deep/w/z.env", false, false}, // writable carve-out below read-only
		{"proj/ro/deep/w/q/r/k.env", false, false},
		{"proj/m/w/o/t.env", false, false}, // mandatory deny wins over the write below it
		{"other/a/b/c/d.env", true, true},  // outside the glob's base
	}
	for _, c := range cases {
		got := d.Decide(filepath.Join(root, c.path), OpRead)
		if got.Allowed != c.allowed || got.AllowedWithinCap != c.withinCap {
			t.Errorf("%s: allowed=%v withinCap=%v, want %v %v (%s)", c.path, got.Allowed, got.AllowedWithinCap, c.allowed, c.withinCap, got.Reason())
		}
	}
	regions := d.Regions()
	for _, rel := range []string{"proj", "proj/a/b", "proj/ro", "proj/ro/x", "proj/ro/deep/w", "proj/ro/deep/w/q", "proj/m", "proj/m/w", "proj/m/w/o", "other", "/usr"} {
		p := rel
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, rel)
		}
		nearest := Region{}
		for _, r := range regions {
			if HasPathPrefix(p, r.Path) && Depth(r.Path) >= Depth(nearest.Path) {
				nearest = r
			}
		}
		if want := d.Decide(p, OpWrite).Access == Write; nearest.Writable != want {
			t.Errorf("%s: nearest region %+v, Decide's exact access writable=%v", rel, nearest, want)
		}
	}
}

func TestDecideDeepestWinsAndTies(t *testing.T) {
	root := t.TempDir()
	p := &Policy{Rules: []Rule{
		{Path: root, Access: Read},
		{Path: root + "/docs", Access: Write},
		{Path: root + "/docs/pub", Access: Read},
		{Path: root + "/docs/pub", Access: Deny},
		{Path: root + "/docs/pub/drafts", Access: Write},
	}}
	d, err := NewDecider(p, Env{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(rel string, op Op, want bool) {
		t.Helper()
		if got := d.Decide(filepath.Join(root, rel), op); got.Allowed != want {
			t.Errorf("%s %s = %v, want %v (%s)", op, rel, got.Allowed, want, got.Reason())
		}
	}
	check("x", OpRead, true)
	check("x", OpWrite, false)
	check("docs/x", OpWrite, true)
	check("docs/pub/x", OpRead, false) // deny beats read on a tie
	check("docs/pub/drafts/x", OpWrite, true)
	check("docs/pub/drafts/x", OpRead, true)
}

func TestDecideGlobMatchesDirectoriesAndMandatory(t *testing.T) {
	root := world(t, "proj/secrets/a/key.txt", "etc/s/x")
	p := &Policy{
		Rules: []Rule{
			{Path: root, Access: Write},
			{Path: root + "/proj/secrets/a", Access: Read},
			{Path: root + "/etc/s", Access: Deny, Mandatory: true},
			{Path: root + "/etc/s/x", Access: Read},
		},
		Globs: []Glob{{Pattern: root + "/proj/**/secrets", Base: root + "/proj"}},
	}
	d, err := NewDecider(p, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Decide(root+"/proj/secrets/a/key.txt", OpRead); got.Allowed || got.Glob == nil {
		t.Errorf("file under a glob-matched directory: %s", got.Reason())
	}
	if got := d.Decide(root+"/etc/s/x", OpRead); got.Allowed || !got.Rule.Mandatory {
		t.Errorf("mandatory deny overridden: %s", got.Reason())
	}
}

func TestDecideSymlinkJudgedByTarget(t *testing.T) {
	root := world(t, "home/secret.txt", "proj/a.txt")
	if err := os.Symlink(filepath.Join(root, "home/secret.txt"), filepath.Join(root, "proj/link")); err != nil {
		t.Fatal(err)
	}
	p := &Policy{Rules: []Rule{{Path: VarWorkspaceRoot, Access: Write}}}
	d, err := NewDecider(p, Env{Bindings: Bindings{VarWorkspaceRoot: filepath.Join(root, "proj")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Decide(filepath.Join(root, "proj/link"), OpRead); got.Allowed {
		t.Errorf("link to outside judged by its name: %s", got.Reason())
	}
	if got := d.Decide(filepath.Join(root, "proj/missing/x"), OpWrite); !got.Allowed {
		t.Errorf("missing path below a writable root: %s", got.Reason())
	}
}

func TestBindingsSymbolize(t *testing.T) {
	b := Bindings{VarWorkspaceRoot: "/home/me/proj", VarHome: "/home/me"}
	for in, want := range map[string]string{
		"/home/me/proj/x": "${WORKSPACE_ROOT}/x",
		"/home/me/.ssh":   "${HOME}/.ssh",
		"/etc":            "/etc",
		"/home/me":        "${HOME}",
	} {
		if got := b.Symbolize(in); got != want {
			t.Errorf("Symbolize(%s) = %s, want %s", in, got, want)
		}
		if got := b.Bind(b.Symbolize(in)); got != in {
			t.Errorf("Bind(Symbolize(%s)) = %s", in, got)
		}
	}
}

func TestGlobBase(t *testing.T) {
	for in, want := range map[string]string{
		"/w/*.env":      "/w",
		"/w/a/**/*.env": "/w/a",
		"/*.env":        "/",
		"/w/x.txt":      "/w",
	} {
		if got := GlobBase(in); got != want {
			t.Errorf("GlobBase(%s) = %s, want %s", in, got, want)
		}
	}
}
