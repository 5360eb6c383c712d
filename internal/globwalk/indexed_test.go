package globwalk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// indexWorld is a settled tree with matches in the root, deep down and
// beyond a cap, and a cache of it written by a walk that did not defer.
func indexWorld(t *testing.T) (root string, pats []Pattern, opts Options, file string) {
	t.Helper()
	root = t.TempDir()
	mkTree(t, root, "p/top.env", "p/a/b/c/d/e.env", "p/a/b/keep.txt", "p/x/y/z/deep/k.pem",
		"p/x/y/s.pem", "p/w/", "p/link/")
	must(t, os.Symlink("top.env", filepath.Join(root, "p/a/l.env")))
	time.Sleep(60 * time.Millisecond)
	pats = []Pattern{pat(root, "p/**/*.env", 0), pat(root, "p/**/*.pem", 3)}
	opts = Options{Snapshot: true, CacheDir: filepath.Join(t.TempDir(), "cache"), CacheKey: testKey,
		DeferRevalidation: true, Regions: []Region{{Path: filepath.Join(root, "p/a"), Uncapped: true}}}
	first := opts
	first.DeferRevalidation = false
	expandT(t, pats, first)
	c, err := compile(pats)
	must(t, err)
	return root, pats, opts, cacheFile(opts.CacheDir, cacheKey(c.pats, c.roots, opts))
}

// launchExpand is a launch's first expansion of the cache.
func launchExpand(t *testing.T, pats []Pattern, opts Options) *Result {
	t.Helper()
	expanded.Clear()
	res := expandT(t, pats, opts)
	if !res.Stats.Deferred {
		t.Fatalf("the launch's expansion did not defer (cache %q: %s)", res.Stats.Cache, res.Stats.CacheNote)
	}
	return res
}

// markUnclean clears the index's clean byte (and signs the file again),
// so that a deferred expansion walks the decoded tree, as before the
// index.
func markUnclean(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	must(t, err)
	pos := headerLen
	for range 3 { // the totals
		_, n := binary.Uvarint(data[pos:])
		pos += n
	}
	if data[pos] != 1 {
		t.Fatalf("the index does not say clean")
	}
	data[pos] = 0
	resign(data)
	must(t, os.WriteFile(file, data, 0o600))
}

// TestIndexedAgreesWithTreeWalk: a launch that plans on the index gets
// the Result, the statistics and (once Verify has waited for it) the
// tree that the walk over the decoded tree gets, with the root
// untouched and with the root changed (listed again).
func TestIndexedAgreesWithTreeWalk(t *testing.T) {
	for _, touchRoot := range []bool{false, true} {
		root, pats, opts, file := indexWorld(t)
		if touchRoot {
			mkTree(t, root, "p/unrelated.txt")
			time.Sleep(60 * time.Millisecond)
		}
		indexed := launchExpand(t, pats, opts)
		if indexed.snap.pending == nil {
			t.Fatalf("touched root %v: the launch did not plan on the index", touchRoot)
		}
		if err := indexed.Verify(nil); err != nil {
			t.Fatalf("touched root %v: Verify: %v", touchRoot, err)
		}
		saved, err := os.ReadFile(file)
		must(t, err)
		markUnclean(t, file)
		walked := launchExpand(t, pats, opts)
		if walked.snap.pending != nil {
			t.Fatalf("touched root %v: an unclean index was planned on", touchRoot)
		}
		if err := walked.Verify(nil); err != nil {
			t.Fatalf("touched root %v: Verify: %v", touchRoot, err)
		}
		for _, r := range []*Result{indexed, walked} {
			r.Stats.Elapsed = 0
		}
		if !reflect.DeepEqual(indexed.Matches, walked.Matches) || !reflect.DeepEqual(indexed.BeyondCap, walked.BeyondCap) ||
			!reflect.DeepEqual(indexed.Errors, walked.Errors) || indexed.Stats != walked.Stats {
			t.Fatalf("touched root %v: from the index\n%+v\n%+v\nfrom the tree\n%+v\n%+v", touchRoot,
				indexed.Matches, indexed.Stats, walked.Matches, walked.Stats)
		}
		if touchRoot != (indexed.Stats.DirsRead == 1) {
			t.Errorf("touched root %v: %d directories listed", touchRoot, indexed.Stats.DirsRead)
		}
		checkAgainstOracleRegions(t, pats, false, opts.Regions, indexed)
		c, err := compile(pats)
		must(t, err)
		key := cacheKey(c.pats, c.roots, opts)
		a := encodeCache(key, testKey, c.roots, indexed.snap.trees)
		b := encodeCache(key, testKey, c.roots, walked.snap.trees)
		if !bytes.Equal(a, b) {
			t.Errorf("touched root %v: the trees behind the two results differ", touchRoot)
		}
		if !touchRoot && !bytes.Equal(a, saved) {
			t.Errorf("the tree behind the result is not the cached one")
		}
	}
}

// TestIndexedBadTreeFailsClosed: a launch plans on the index before the
// tree is checked; a tree that fails its MAC, or that is cut short and
// signed again, or disagrees with the index's totals, fails Verify, and
// keeps failing it, so the launch never goes ahead on it. The retry
// walks again and rewrites the cache.
func TestIndexedBadTreeFailsClosed(t *testing.T) {
	damage := map[string]func(data []byte) []byte{
		"flipped byte": func(data []byte) []byte {
			data[len(data)-3] ^= 0x40
			return data
		},
		"cut and signed": func(data []byte) []byte {
			data = data[:len(data)-5]
			resign(data)
			return data
		},
		"totals off": func(data []byte) []byte {
			n := int(binary.LittleEndian.Uint32(data[offIndexLen:]))
			// One node less in the index's total: the index is
			// re-encoded, the tree kept.
			nodes, k := binary.Uvarint(data[headerLen:])
			rest := data[headerLen+k:]
			idx := append(binary.AppendUvarint(nil, nodes-1), rest[:n-k]...)
			out := append(append(append([]byte(nil), data[:headerLen]...), idx...), data[headerLen+n:]...)
			binary.LittleEndian.PutUint32(out[offIndexLen:], uint32(len(idx)))
			resign(out)
			return out
		},
	}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			root, pats, opts, file := indexWorld(t)
			data, err := os.ReadFile(file)
			must(t, err)
			must(t, os.WriteFile(file, f(data), 0o600))
			res := launchExpand(t, pats, opts)
			if res.snap.pending == nil {
				t.Fatalf("the launch did not plan on the index")
			}
			if len(res.Matches) == 0 {
				t.Fatalf("no matches from the index")
			}
			for range 2 {
				err := res.Verify(nil)
				var ce *ChangeError
				if err == nil || errors.As(err, &ce) {
					t.Fatalf("Verify: %v; want the tree refused", err)
				}
			}
			retry := expandT(t, pats, opts)
			if retry.Stats.Deferred || retry.Stats.Cache != CacheCorrupt {
				t.Fatalf("retry: deferred %v, cache %q; want a walk that refuses the cache", retry.Stats.Deferred, retry.Stats.Cache)
			}
			if err := retry.Verify(nil); err != nil {
				t.Fatalf("retry: Verify: %v", err)
			}
			checkAgainstOracleRegions(t, pats, false, opts.Regions, retry)
			if again := launchExpand(t, pats, opts); again.Verify(nil) != nil || again.Stats.Cache != CacheHit {
				t.Fatalf("after the retry: cache %q (%s), want a hit", again.Stats.Cache, again.Stats.CacheNote)
			}
			_ = root
		})
	}
}

// TestIndexedChangeCaughtAfterMounts: a launch that planned on the
// index of a cache the tree has moved away from (a match added deep
// down, a directory replaced) is refused by Verify, which runs after
// the mounts, and the retry finds the change.
func TestIndexedChangeCaughtAfterMounts(t *testing.T) {
	root, pats, opts, _ := indexWorld(t)
	mkTree(t, root, "p/a/b/c/d/new.env")
	res := launchExpand(t, pats, opts)
	if res.snap.pending == nil {
		t.Fatalf("the launch did not plan on the index")
	}
	for _, m := range res.Matches {
		if filepath.Base(m.Path) == "new.env" {
			t.Fatalf("the index knew of the new match")
		}
	}
	var ce *ChangeError
	if err := res.Verify(nil); !errors.As(err, &ce) {
		t.Fatalf("Verify: %v, want a change", err)
	}
	retry := expandT(t, pats, opts)
	if err := retry.Verify(nil); err != nil {
		t.Fatalf("retry: Verify: %v", err)
	}
	checkAgainstOracleRegions(t, pats, false, opts.Regions, retry)
}
