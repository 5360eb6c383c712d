package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/diag"
	"polc/internal/globwalk"
)

// TestBeyondCapGrouped: many files beyond the depth cap give one POL061
// per glob with the count, a few paths in the project or the home, and
// no path elsewhere unless Verbose asks.
func TestBeyondCapGrouped(t *testing.T) {
	root := t.TempDir()
	proj, home, other := filepath.Join(root, "proj"), filepath.Join(root, "home"), filepath.Join(root, "other")
	files := []string{
		"proj/a/b/1.key", "proj/a/b/2.key", "proj/a/b/c/3.key", "proj/a/b/c/4.key",
		"home/x/y/5.key", "other/u/v/6.key", "other/u/v/w/7.key",
	}
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := "default_permissions = \"p\"\n[permissions.p.filesystem]\n\":root\" = \"read\"\nglob_scan_max_depth = 1\n\"" + root + "/**/*.key\" = \"deny\"\n"
	if err := os.MkdirAll(filepath.Join(home, ".codex"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".codex", "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(verbose bool) []diag.Diagnostic {
		res := Compile(Options{Dir: proj, Home: home, CodexHome: filepath.Join(home, ".codex"), SystemDir: filepath.Join(root, "none"), Verbose: verbose})
		var out []diag.Diagnostic
		for _, d := range res.Diags {
			if d.Code == diag.BeyondScanDepth {
				out = append(out, d)
			}
		}
		return out
	}
	ds := run(false)
	if len(ds) != 1 {
		t.Fatalf("want one POL061, got %d: %v", len(ds), ds)
	}
	msg := ds[0].Message
	for _, want := range []string{"matches 7 files beyond glob_scan_max_depth 1", "(down to depth 5)", proj + "/a/b/1.key", "2.key, 2 more and 2 outside the project and the home (--verbose lists them)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, other) {
		t.Errorf("message names a path outside the project and the home:\n%s", msg)
	}
	if ds[0].Pos.Line != 5 || !strings.Contains(ds[0].Fix, "to at least 5") {
		t.Errorf("position %v, fix %q", ds[0].Pos, ds[0].Fix)
	}
	ds = run(true)
	if len(ds) != 1 || !strings.Contains(ds[0].Message, other+"/u/v/w/7.key") || strings.Contains(ds[0].Message, "more") {
		t.Errorf("--verbose should name every path: %v", ds)
	}
}

// TestScanErrorsGrouped: unreadable directories give one POL063 at the
// glob whose walk met them, naming only those in the project or home.
func TestScanErrorsGrouped(t *testing.T) {
	root := t.TempDir()
	proj, home := filepath.Join(root, "proj"), filepath.Join(root, "home")
	for _, d := range []string{proj, filepath.Join(home, ".codex")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := "default_permissions = \"p\"\n[permissions.p.filesystem]\n\":root\" = \"read\"\n\"" + root + "/**/*.key\" = \"deny\"\n"
	if err := os.WriteFile(filepath.Join(home, ".codex", "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	saved := expander
	defer func() { expander = saved }()
	expander = func(globs []hostGlob, regions []globwalk.Region, cacheDir string, cacheKey []byte) (*Expansion, []error) {
		return &Expansion{}, []error{
			globwalk.ScanError{Path: proj + "/locked", Err: "permission denied"},
			globwalk.ScanError{Path: root + "/srv/alice", Err: "permission denied"},
			globwalk.ScanError{Path: root + "/srv/bob", Err: "permission denied"},
		}
	}
	res := Compile(Options{Dir: proj, Home: home, CodexHome: filepath.Join(home, ".codex"), SystemDir: filepath.Join(root, "none")})
	var ds []diag.Diagnostic
	for _, d := range res.Diags {
		if d.Code == diag.GlobScanError {
			ds = append(ds, d)
		}
	}
	if len(ds) != 1 {
		t.Fatalf("want one POL063, got %v", ds)
	}
	msg := ds[0].Message
	if !strings.Contains(msg, "could not read 3 directories") || !strings.Contains(msg, proj+"/locked (permission denied)") ||
		strings.Contains(msg, "alice") || !strings.Contains(msg, "(permission denied), 2 outside the project and the home (--verbose lists them)") {
		t.Errorf("message: %s", msg)
	}
	if ds[0].Pos.Line != 4 {
		t.Errorf("POL063 at %v, want the glob's line 4", ds[0].Pos)
	}
}
