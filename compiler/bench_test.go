package compiler_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"polc/compiler"
	"polc/internal/conformance"
)

// seedWorld copies examples/seed into a world (outside /tmp) with a .git
// directory, home and tmp, as the demo does.
func seedWorld(tb testing.TB) compiler.Options {
	tb.Helper()
	root := conformance.TempRoot(tb)
	if err := os.CopyFS(root, os.DirFS("../examples/seed")); err != nil {
		tb.Fatal(err)
	}
	for _, d := range []string{"proj/.git", "home", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	return compiler.Options{Dir: filepath.Join(root, "proj"), CodexHome: filepath.Join(root, "codexhome"),
		Home: filepath.Join(root, "home"), Tmpdir: filepath.Join(root, "tmp"), SystemDir: filepath.Join(root, "etc")}
}

// BenchmarkCompileSeed is a full compile of the seed profile, every pass
// included (the glob expansion walks the seed project).
func BenchmarkCompileSeed(b *testing.B) {
	opts := seedWorld(b)
	b.ReportAllocs()
	for b.Loop() {
		res := compiler.Compile(opts)
		if res.Policy == nil {
			b.Fatalf("seed does not compile: %v", res.Diags.Err())
		}
	}
}

func TestSeedCompiles(t *testing.T) {
	res := compiler.Compile(seedWorld(t))
	if res.Policy == nil {
		t.Fatalf("seed does not compile:\n%s", diagText(res.Diags))
	}
	// z.env lies beyond the cap, but in the writable project, where the
	// launch lifts the cap: it is covered, and nothing is beyond.
	if len(res.Expansion.BeyondCap) != 0 {
		t.Errorf("want nothing beyond the cap in the writable project, got %+v", res.Expansion.BeyondCap)
	}
	if len(res.Expansion.Matches) != 4 {
		t.Errorf("want 4 .env files covered (z.env too), got %+v", res.Expansion.Matches)
	}
	var names []string
	for _, tm := range res.Timings {
		names = append(names, tm.Pass)
	}
	want := compiler.PassNames()
	if len(names) != len(want) {
		t.Fatalf("timings %v, want passes %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("timing %d is %q, want %q", i, names[i], want[i])
		}
	}
}

// BenchmarkCompileSeedCached is the seed compile with the expansion
// cache: the walk is revalidated by directory timestamps.
func BenchmarkCompileSeedCached(b *testing.B) {
	opts := seedWorld(b)
	opts.ExpandCacheDir = b.TempDir()
	opts.ExpandCacheKey = bytes.Repeat([]byte{1}, 32)
	for b.Loop() {
		if res := compiler.Compile(opts); res.Policy == nil {
			b.Fatalf("seed does not compile: %v", res.Diags.Err())
		}
	}
}

// TestExpandCacheAgrees: a cached expansion reports what a fresh walk
// does, including a file added after the first compile.
func TestExpandCacheAgrees(t *testing.T) {
	opts := seedWorld(t)
	cached := opts
	cached.ExpandCacheDir = t.TempDir()
	cached.ExpandCacheKey = bytes.Repeat([]byte{1}, 32)
	first := compiler.Compile(cached)
	if err := os.WriteFile(filepath.Join(opts.Dir, "sub", "new.env"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh, again := compiler.Compile(opts), compiler.Compile(cached)
	if len(again.Expansion.Matches) != len(fresh.Expansion.Matches) || len(fresh.Expansion.Matches) != len(first.Expansion.Matches)+1 {
		t.Errorf("cached %d, fresh %d, first %d matches", len(again.Expansion.Matches), len(fresh.Expansion.Matches), len(first.Expansion.Matches))
	}
}
