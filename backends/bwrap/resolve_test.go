package bwrap

import (
	"os"
	"path/filepath"
	"testing"

	"polc/ir"
)

// TestResolverAgreesWithResolvePath: the memoizing resolver gives
// ir.ResolvePath's answer for links relative and absolute, chained,
// dangling, looping, through "..", and for missing rests.
func TestResolverAgreesWithResolvePath(t *testing.T) {
	d := t.TempDir()
	mk := func(p string) { os.MkdirAll(filepath.Join(d, p), 0o755) }
	ln := func(target, p string) {
		if err := os.Symlink(target, filepath.Join(d, p)); err != nil {
			t.Fatal(err)
		}
	}
	mk("a/b/c")
	mk("x/y")
	os.WriteFile(filepath.Join(d, "a/file"), nil, 0o644)
	ln("a/b", "ab")                 // relative
	ln(filepath.Join(d, "x"), "xx") // absolute
	ln("ab/c", "abc")               // chain
	ln("nowhere", "dangling")
	ln("loop2", "loop1")
	ln("loop1", "loop2")
	ln("../x/y", "a/up")      // ".." from inside a
	ln("ab/../y", "x/weird")  // ".." after a link: applies to the link's target
	ln("../../a", "x/y/back") // climbs out
	paths := []string{"", "a", "a/b/c", "ab", "ab/c", "ab/c/missing/more", "xx/y", "abc", "abc/z",
		"dangling", "dangling/x", "loop1", "loop1/x", "a/up", "a/up/q", "x/weird", "x/weird/c",
		"x/y/back/b", "a/file", "a/file/x", "missing", "missing/a/b", "a/./b/../b/c"}
	r := newResolver()
	for _, p := range paths {
		full := filepath.Join(d, p)
		if p == "a/./b/../b/c" {
			full = d + "/" + p
		}
		if got, want := r.Resolve(full), ir.ResolvePath(full); got != want {
			t.Errorf("%s: resolver %s, ResolvePath %s", p, got, want)
		}
	}
	for _, p := range []string{"/", "relative/x", "/nonexistent-root-dir/x"} {
		if got, want := r.Resolve(p), ir.ResolvePath(p); got != want {
			t.Errorf("%s: resolver %s, ResolvePath %s", p, got, want)
		}
	}
}
