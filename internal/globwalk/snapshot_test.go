package globwalk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestVerifySeesChangesThatMatter: after a walk with Snapshot, Verify
// passes on an untouched tree and on changes no pattern cares about, and
// fails when a directory that matters is renamed away, when a match
// appears in a directory already listed, and when a match is moved in
// from elsewhere; ignored paths do not count. Cold and warm walks alike.
func TestVerifySeesChangesThatMatter(t *testing.T) {
	for _, warm := range []bool{false, true} {
		name := "cold"
		if warm {
			name = "warm"
		}
		t.Run(name, func(t *testing.T) {
			root, cache, pats := cacheWorld(t)
			mkTree(t, root, "elsewhere/s.env")
			opts := Options{Snapshot: true}
			if warm {
				opts.CacheDir, opts.CacheKey = cache, testKey
				expandT(t, pats, opts) // fill the cache
			}
			walk := func() *Result {
				res := expandT(t, pats, opts)
				if warm && res.Stats.DirsReused == 0 {
					t.Fatalf("warm walk reused nothing: %+v", res.Stats)
				}
				return res
			}
			changed := func(res *Result, ignore func(string) bool) bool {
				t.Helper()
				err := res.Verify(ignore)
				var ce *ChangeError
				if err != nil && !errors.As(err, &ce) {
					t.Fatalf("Verify: %v", err)
				}
				return err != nil
			}
			res := walk()
			if changed(res, nil) {
				t.Fatalf("untouched tree: %v", res.Verify(nil))
			}
			must(t, os.WriteFile(filepath.Join(root, "p/a/b/notes.txt"), nil, 0o644))
			if changed(res, nil) {
				t.Errorf("a file no pattern matches counted: %v", res.Verify(nil))
			}
			must(t, os.WriteFile(filepath.Join(root, "p/a/new.env"), nil, 0o644))
			if !changed(res, nil) {
				t.Errorf("a match that appeared in a listed directory was not seen")
			}
			if changed(res, func(p string) bool { return p == filepath.Join(root, "p/a/new.env") }) {
				t.Errorf("an ignored path counted")
			}
			must(t, os.Remove(filepath.Join(root, "p/a/new.env")))

			res = walk()
			must(t, os.Rename(filepath.Join(root, "p/a"), filepath.Join(root, "p/renamed")))
			if !changed(res, nil) {
				t.Errorf("a directory renamed away was not seen")
			}
			must(t, os.Rename(filepath.Join(root, "p/renamed"), filepath.Join(root, "p/a")))

			res = walk()
			must(t, os.Rename(filepath.Join(root, "elsewhere/s.env"), filepath.Join(root, "p/x/y/s.env")))
			if !changed(res, nil) {
				t.Errorf("a match moved in from outside the walk was not seen")
			}
		})
	}
}

func TestVerifyNeedsSnapshot(t *testing.T) {
	root, _, pats := cacheWorld(t)
	_ = root
	if err := expandT(t, pats, Options{}).Verify(nil); err == nil {
		t.Fatal("Verify without Snapshot passed")
	}
}

// TestVerifyDeferred: a deferred warm walk takes the cache on trust, so
// a change made since the cache was written is Verify's to find; the
// retry (the next expansion of the same cache in the process)
// revalidates first and sees the tree as it is. A change that matters
// to no glob passes, and so does an unchanged tree.
// treeChange is a change to cacheWorld's tree, and whether it matters
// to its patterns.
type treeChange struct {
	name    string
	change  func(t *testing.T, root string)
	changed bool
}

// treeChanges are the changes a deferred walk's Verify must tell apart.
var treeChanges = []treeChange{
	{"untouched", func(*testing.T, string) {}, false},
	{"unrelated file", func(t *testing.T, root string) { mkTree(t, root, "p/a/b/notes.txt") }, false},
	{"new match", func(t *testing.T, root string) { mkTree(t, root, "p/a/new.env") }, true},
	{"new directory", func(t *testing.T, root string) { mkTree(t, root, "p/a/newdir/") }, true},
	{"match removed", func(t *testing.T, root string) { must(t, os.Remove(filepath.Join(root, "p/a/b/c/d/e.env"))) }, true},
	{"directory replaced", func(t *testing.T, root string) {
		must(t, os.Rename(filepath.Join(root, "p/x/y"), filepath.Join(root, "p/x/old")))
		mkTree(t, root, "p/x/y/")
	}, true},
}

func TestVerifyDeferred(t *testing.T) {
	for _, tc := range treeChanges {
		t.Run(tc.name, func(t *testing.T) {
			root, cache, pats := cacheWorld(t)
			opts := Options{Snapshot: true, CacheDir: cache, CacheKey: testKey, DeferRevalidation: true}
			// Fill the cache without deferring (another file name each
			// time: deferral is per cache file and process).
			first := opts
			first.DeferRevalidation = false
			expandT(t, pats, first)
			tc.change(t, root)
			res := expandT(t, pats, opts)
			if !res.Stats.Deferred || res.Stats.DirsRead != 0 {
				t.Fatalf("deferred %v, %d listed; want a deferred walk that lists nothing", res.Stats.Deferred, res.Stats.DirsRead)
			}
			err := res.Verify(nil)
			var ce *ChangeError
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("Verify: %v", err)
			}
			if (err != nil) != tc.changed {
				t.Fatalf("Verify: %v, want a change: %v", err, tc.changed)
			}
			retry := expandT(t, pats, opts)
			if retry.Stats.Deferred {
				t.Fatalf("the retry deferred again")
			}
			if err := retry.Verify(nil); err != nil {
				t.Fatalf("retry: Verify: %v", err)
			}
			checkAgainstOracle(t, pats, false, retry)
		})
	}
}

// TestVerifyMissingRoot: a walk root that did not exist must still not
// exist when the walk is verified.
func TestVerifyMissingRoot(t *testing.T) {
	root := t.TempDir()
	pats := []Pattern{pat(root, "gone/**/*.env", 0)}
	res := expandT(t, pats, Options{Snapshot: true})
	if err := res.Verify(nil); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	mkTree(t, root, "gone/x.env")
	if err := res.Verify(nil); err == nil {
		t.Fatalf("a root that appeared since the walk was not seen")
	}
}

// TestDeferredDriftFlag: when a deferred walk's Verify lists many
// directories again to no effect (files edited since the cache was
// written), the next launch revalidates first and rewrites the cache,
// and the launch after that defers again, listing nothing.
func TestDeferredDriftFlag(t *testing.T) {
	root := t.TempDir()
	cache := filepath.Join(t.TempDir(), "cache")
	var dirs []string
	for i := range maxDrift + 5 {
		dirs = append(dirs, fmt.Sprintf("p/d%02d/", i))
	}
	mkTree(t, root, dirs...)
	time.Sleep(60 * time.Millisecond)
	pats := []Pattern{pat(root, "p/**/*.env", 0)}
	opts := Options{Snapshot: true, CacheDir: cache, CacheKey: testKey, DeferRevalidation: true}
	expandT(t, pats, Options{CacheDir: cache, CacheKey: testKey})
	for _, d := range dirs {
		mkTree(t, root, d+"notes.txt")
	}
	time.Sleep(60 * time.Millisecond)
	launch := func() *Result {
		expanded.Clear() // a new process
		res := expandT(t, pats, opts)
		if err := res.Verify(nil); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		return res
	}
	if res := launch(); !res.Stats.Deferred {
		t.Fatalf("first launch did not defer")
	}
	if res := launch(); res.Stats.Deferred || res.Stats.Cache != CacheStale {
		t.Fatalf("after drift: deferred %v, cache %q; want a revalidation that rewrites the cache", res.Stats.Deferred, res.Stats.Cache)
	}
	if res := launch(); !res.Stats.Deferred || res.Stats.DirsRead != 0 {
		t.Fatalf("after the rewrite: deferred %v, %d listed; want a deferred walk again", res.Stats.Deferred, res.Stats.DirsRead)
	}
}
