package compiler

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"polc/ir"
)

// TestHostCacheAnswersAsTheHost: every lookup of the cache answers as
// the uncached call does, on a tree with links (to directories, to
// files, dangling, chained), files where a directory is expected and
// missing paths at every depth, asked twice (cold and cached), in an
// order where parents are cached before their children and after.
func TestHostCacheAnswersAsTheHost(t *testing.T) {
	root := t.TempDir()
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mk("a/b/c")
	mk("other/d")
	if err := os.WriteFile(filepath.Join(root, "a/file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"a/up":       "..",
		"a/todir":    filepath.Join(root, "other"),
		"a/tofile":   "file",
		"a/dangling": "nowhere/x",
		"a/chain":    "todir",
		"a/b/rel":    "../../other/d",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	var paths []string
	for _, p := range []string{"", "a", "a/b", "a/b/c", "a/b/c/new/deeper", "a/file", "a/file/below", "a/file/below/deeper", "a/up",
		"a/up/a/b", "a/todir", "a/todir/d/x/y", "a/tofile", "a/tofile/x", "a/dangling", "a/dangling/x", "a/dangling/x/y",
		"a/chain/d", "a/chain/missing/z", "a/b/rel", "a/b/rel/q", "missing", "missing/a", "missing/a/b", "missing/a/b/c", "other/../a/b"} {
		paths = append(paths, filepath.Join(root, p))
	}
	paths = append(paths, "/", "relative/path", root+"/a/./b/", "/proc/self/nonexistent-polc")
	for _, order := range [][]string{paths, reversed(paths)} {
		h := NewHostCache()
		for pass := 0; pass < 2; pass++ {
			for _, p := range order {
				if got, want := h.ResolvePath(p), ir.ResolvePath(p); got != want {
					t.Errorf("ResolvePath(%s) = %s, want %s", p, got, want)
				}
				if got, want := h.Exists(p), ir.Exists(p); got != want {
					t.Errorf("Exists(%s) = %v, want %v", p, got, want)
				}
				gr, gerr := h.EvalSymlinks(p)
				wr, werr := filepath.EvalSymlinks(p)
				if gr != wr || (gerr == nil) != (werr == nil) {
					t.Errorf("EvalSymlinks(%s) = %q, %v, want %q, %v", p, gr, gerr, wr, werr)
				}
				// Errors are compared by text: a missing path's answer may
				// come from its parent's, and must read as the host's.
				gs, gerr := h.Stat(p)
				ws, werr := os.Stat(p)
				if errText(gerr) != errText(werr) || (gerr == nil && gs.Mode() != ws.Mode()) {
					t.Errorf("Stat(%s) = %v, want %v", p, gerr, werr)
				}
				gl, gerr := h.Lstat(p)
				wl, werr := os.Lstat(p)
				if errText(gerr) != errText(werr) || (gerr == nil && gl.Mode() != wl.Mode()) {
					t.Errorf("Lstat(%s) = %v, want %v", p, gerr, werr)
				}
			}
		}
	}
	h := NewHostCache()
	want := CommandNeeds("/bin/sh")
	got := h.CommandNeeds("/bin/sh")
	if len(got) > 0 {
		got[0] = "changed by the caller"
	}
	if again := h.CommandNeeds("/bin/sh"); !reflect.DeepEqual(again, want) {
		t.Errorf("CommandNeeds: %v, want %v", again, want)
	}
}

func reversed(l []string) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[len(l)-1-i] = v
	}
	return out
}

// TestCompileWithHostCache: a compile through the cache gives what a
// plain compile gives, diagnostics and policy alike.
func TestCompileWithHostCache(t *testing.T) {
	dir := t.TempDir()
	proj := filepath.Join(dir, "proj")
	home := filepath.Join(dir, "home")
	codex := filepath.Join(home, ".codex")
	for _, d := range []string{proj + "/.git", proj + "/.codex", codex, dir + "/tmp", dir + "/etc"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "tmp"), filepath.Join(proj, "link")); err != nil {
		t.Fatal(err)
	}
	cfg := `default_permissions = "dev"
[permissions.dev]
extends = ":workspace"
[permissions.dev.filesystem]
"~/src" = "write"
"~/missing/x" = "write"
":workspace_roots" = { "." = "write", "link/inner" = "read", "**/*.env" = "deny" }
`
	if err := os.WriteFile(filepath.Join(codex, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{Dir: proj, CodexHome: codex, Home: home, Tmpdir: dir + "/tmp", SystemDir: dir + "/etc", NoExpand: true}
	plain := Compile(opts)
	h := NewHostCache()
	for i := 0; i < 2; i++ {
		o := opts
		o.Host = h
		cached := Compile(o)
		if !reflect.DeepEqual(plain.Diags, cached.Diags) {
			t.Fatalf("diagnostics differ:\n%v\nvs\n%v", plain.Diags, cached.Diags)
		}
		if !reflect.DeepEqual(plain.Policy, cached.Policy) {
			t.Fatalf("policies differ")
		}
	}
	if len(plain.Diags) == 0 {
		t.Fatal("want diagnostics from this config (the symlink, the missing root)")
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
