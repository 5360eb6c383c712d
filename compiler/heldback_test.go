package compiler_test

import (
	"os"
	"path/filepath"
	"testing"

	"polc/internal/conformance"
	"polc/ir"
)

// heldbackDir holds cases for the held-back classes of docs/design.md §8 (gitdir
// pointers, globs on directories, extends chains, carve-outs, requirement
// denies, hidden directories, depth limits, symlinks), written from the
// semantics of docs/design.md §2 and checked against the reference where it
// agrees (polc-want where polc differs on purpose).
const heldbackDir = "../internal/conformance/testdata/heldback"

// TestHeldbackDecide checks ir.Decide on every probe of the held-back
// class cases.
func TestHeldbackDecide(t *testing.T) {
	cases, err := conformance.Load(heldbackDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("only %d held-back cases in %s", len(cases), heldbackDir)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) { checkDecide(t, c) })
	}
}

// TestHomeSubtreeGrant: "~/work/**" = "write" (and a trailing /** in a
// nested table under a ~ base) grants the home's subtree. It used to
// compile to the path "/${HOME}/work", which binds to nothing, so the
// grant silently did nothing.
func TestHomeSubtreeGrant(t *testing.T) {
	c := &conformance.Case{Config: `default_permissions = "p"
[permissions.p.filesystem]
":minimal" = "read"
":workspace_roots" = "read"
"~/work/**" = "write"
"~/notes" = { "drafts/**" = "write", "." = "read" }
`, Tree: []string{"home/work/w.txt", "home/notes/drafts/d.md", "home/notes/n.md"}}
	w, res := compileCase(t, c)
	if res.Policy == nil {
		t.Fatalf("compile failed:\n%s", diagText(res.Diags))
	}
	paths := map[string]ir.Access{}
	for _, r := range res.Policy.Rules {
		paths[r.Path] = r.Access
	}
	for _, p := range []string{"${HOME}/work", "${HOME}/notes/drafts"} {
		if paths[p] != ir.Write {
			t.Errorf("no write rule on %s; rules: %v", p, paths)
		}
	}
	dec, err := ir.NewDecider(res.Policy, res.Env)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"~/work/w.txt": true, "~/work/new": true, "~/notes/drafts/d.md": true, "~/notes/n.md": false} {
		if got := dec.Decide(w.HostPath(p), ir.OpWrite); got.Allowed != want {
			t.Errorf("write %s: allowed=%v, want %v (%s)", p, got.Allowed, want, got.Reason())
		}
	}
}

// TestMissingGitdirHeld: a .git file in a writable root whose gitdir does
// not exist yet keeps the sandbox from creating that gitdir (git outside
// would run hooks planted there): the first missing component is held
// read-only. A pointer into a read-only place, or through a file, adds
// nothing.
func TestMissingGitdirHeld(t *testing.T) {
	c := &conformance.Case{Config: `default_permissions = ":workspace"`, Tree: []string{
		"proj/.git <<< gitdir: .gitdirs/wt/main",
		"proj/a.txt",
	}}
	w, res := compileCase(t, c)
	if res.Policy == nil {
		t.Fatalf("compile failed:\n%s", diagText(res.Diags))
	}
	dec, err := ir.NewDecider(res.Policy, res.Env)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"proj/.gitdirs":                   false,
		"proj/.gitdirs/wt/main/HEAD":      false,
		"proj/.gitdirs/wt/main/hooks/pre": false,
		"proj/a.txt":                      true,
		"proj/other/new":                  true,
	} {
		if got := dec.Decide(w.HostPath(p), ir.OpWrite); got.Allowed != want {
			t.Errorf("write %s: allowed=%v, want %v (%s)", p, got.Allowed, want, got.Reason())
		}
	}

	// A pointer whose target runs through a regular file cannot be created:
	// nothing to hold (and nothing the sandbox could not mount).
	c = &conformance.Case{Config: `default_permissions = ":workspace"`, Tree: []string{
		"proj/.git <<< gitdir: a.txt/sub",
		"proj/a.txt",
	}}
	w, res = compileCase(t, c)
	if res.Policy == nil {
		t.Fatalf("compile failed:\n%s", diagText(res.Diags))
	}
	for _, r := range res.Policy.Rules {
		if r.Origin.Key == ".git gitdir" {
			t.Errorf("unexpected gitdir rule %s", r.Path)
		}
	}
	if _, err := os.Stat(filepath.Join(w.Proj, "a.txt")); err != nil {
		t.Fatal(err)
	}
}
