package globwalk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// testKey stands for polc's per-user state key (internal/statekey).
var testKey = bytes.Repeat([]byte{0x5a}, cacheKeySize)

// resign recomputes the MACs of a cache file's bytes under testKey, as
// far as its index length lets it, so that a test reaches the decoding.
func resign(data []byte) {
	n := int(binary.LittleEndian.Uint32(data[offIndexLen:]))
	if headerLen+n > len(data) {
		return
	}
	imac := cacheMAC(testKey, indexDomain, data[:offIndexMAC], data[headerLen:headerLen+n])
	copy(data[offIndexMAC:], imac)
	copy(data[offTreeMAC:], cacheMAC(testKey, treeDomain, imac, data[headerLen+n:]))
}

// cacheWorld is a tree whose directories are old enough not to be racy
// (the kernel stamps with a clock tick of at most 10 ms), and a cache dir.
func cacheWorld(t *testing.T) (root, cache string, pats []Pattern) {
	t.Helper()
	root = t.TempDir()
	cache = filepath.Join(t.TempDir(), "cache")
	mkTree(t, root, "p/.env", "p/a/b/c/d/e.env", "p/a/b/keep.txt", "p/x/y/z/", "p/m.txt")
	time.Sleep(60 * time.Millisecond)
	pats = []Pattern{pat(root, "p/**/*.env", 0), pat(root, "p/**/*.pem", 3)}
	return root, cache, pats
}

func expandT(t *testing.T, pats []Pattern, opts Options) *Result {
	t.Helper()
	res, err := Expand(pats, opts)
	must(t, err)
	return res
}

func TestCacheHitMissInvalidate(t *testing.T) {
	root, cache, pats := cacheWorld(t)
	opts := Options{CacheDir: cache, CacheKey: testKey, ReportBeyondCap: true}

	cold := expandT(t, pats, opts)
	if cold.Stats.Cache != CacheMiss || cold.Stats.CacheNote != "" {
		t.Fatalf("first call: cache %q (%s), want miss and saved", cold.Stats.Cache, cold.Stats.CacheNote)
	}
	uncached := expandT(t, pats, Options{ReportBeyondCap: true})
	if !reflect.DeepEqual(cold.Matches, uncached.Matches) {
		t.Fatalf("cached cold run differs from an uncached run")
	}

	warm := expandT(t, pats, opts)
	if warm.Stats.Cache != CacheHit || warm.Stats.DirsRead != 0 {
		t.Fatalf("second call: cache %q, %d dirs listed; want a hit that lists none", warm.Stats.Cache, warm.Stats.DirsRead)
	}
	if warm.Stats.DirsReused != cold.Stats.DirsRead {
		t.Errorf("revalidated %d dirs, want the %d the cold walk listed", warm.Stats.DirsReused, cold.Stats.DirsRead)
	}
	if !reflect.DeepEqual(warm.Matches, cold.Matches) {
		t.Fatalf("warm matches %q, cold %q", rels(root, warm.Matches, true), rels(root, cold.Matches, true))
	}

	// A file added in a deep directory is found, and only that directory
	// is listed again.
	mkTree(t, root, "p/a/b/c/d/new.env")
	stale := expandT(t, pats, opts)
	if stale.Stats.Cache != CacheStale || stale.Stats.DirsRead != 1 {
		t.Errorf("after adding a file: cache %q, %d dirs listed; want stale, 1", stale.Stats.Cache, stale.Stats.DirsRead)
	}
	want := []string{"p/.env:0", "p/a/b/c/d/e.env:0", "p/a/b/c/d/new.env:0"}
	if got := rels(root, stale.Matches, true); !reflect.DeepEqual(got, want) {
		t.Errorf("after adding a file: %q, want %q", got, want)
	}
	checkAgainstOracle(t, pats, true, stale)

	// The refreshed cache is a hit again (the changed directory is racy
	// until a tick has passed).
	time.Sleep(60 * time.Millisecond)
	expandT(t, pats, opts)
	again := expandT(t, pats, opts)
	if again.Stats.Cache != CacheHit || !reflect.DeepEqual(again.Matches, stale.Matches) {
		t.Errorf("after refresh: cache %q, matches %q", again.Stats.Cache, rels(root, again.Matches, true))
	}

	// A new directory, a removal and a new beyond-cap match.
	mkTree(t, root, "p/x/y/z/deep/k.pem", "p/n/o.env")
	must(t, os.Remove(filepath.Join(root, "p/.env")))
	res := expandT(t, pats, opts)
	checkAgainstOracle(t, pats, true, res)
	if got := rels(root, res.BeyondCap, true); !reflect.DeepEqual(got, []string{"p/x/y/z/deep/k.pem:1"}) {
		t.Errorf("beyond cap %q", got)
	}
}

// TestCacheSeesResetMtime: a sandboxed process can add a file and set the
// directory's mtime back with utimes, but that moves ctime.
func TestCacheSeesResetMtime(t *testing.T) {
	root, cache, pats := cacheWorld(t)
	opts := Options{CacheDir: cache, CacheKey: testKey}
	expandT(t, pats, opts)
	dir := filepath.Join(root, "p/a/b")
	fi, err := os.Stat(dir)
	must(t, err)
	mkTree(t, root, "p/a/b/sneaky.env")
	must(t, os.Chtimes(dir, fi.ModTime(), fi.ModTime()))
	res := expandT(t, pats, opts)
	if res.Stats.Cache != CacheStale {
		t.Errorf("cache %q, want stale", res.Stats.Cache)
	}
	checkAgainstOracle(t, pats, false, res)
}

func TestCacheRacyDirectoriesAreListed(t *testing.T) {
	root := t.TempDir()
	cache := filepath.Join(t.TempDir(), "cache")
	mkTree(t, root, "p/a/x.env")
	pats := []Pattern{pat(root, "p/**/*.env", 0)}
	opts := Options{CacheDir: cache, CacheKey: testKey}
	expandT(t, pats, opts)
	// The tree is younger than a clock tick: a change now might not move
	// the stamps, so the warm call must list the racy directories.
	mkTree(t, root, "p/a/y.env")
	res := expandT(t, pats, opts)
	if res.Stats.DirsRead == 0 {
		t.Errorf("racy directories were trusted")
	}
	checkAgainstOracle(t, pats, false, res)
}

func TestCacheCorruptOrUntrusted(t *testing.T) {
	root, cache, pats := cacheWorld(t)
	opts := Options{CacheDir: cache, CacheKey: testKey}
	cold := expandT(t, pats, opts)
	files, _ := filepath.Glob(filepath.Join(cache, "globwalk-*.cache"))
	if len(files) != 1 {
		t.Fatalf("cache files %q, want one", files)
	}
	file := files[0]
	good, err := os.ReadFile(file)
	must(t, err)

	damage := map[string][]byte{
		"flipped body byte": func() []byte { b := append([]byte(nil), good...); b[len(b)-3] ^= 0x40; return b }(),
		"truncated":         good[:len(good)/2],
		"empty":             {},
		"other version":     func() []byte { b := append([]byte(nil), good...); b[8] = 99; return b }(),
		"garbage":           []byte("POLCGLB\n not a cache at all, but long enough for a header ......................."),
	}
	for name, data := range damage {
		must(t, os.WriteFile(file, data, 0o600))
		res := expandT(t, pats, opts)
		if res.Stats.Cache != CacheCorrupt {
			t.Errorf("%s: cache %q, want corrupt", name, res.Stats.Cache)
		}
		if !reflect.DeepEqual(res.Matches, cold.Matches) {
			t.Errorf("%s: matches %q, want a full scan's", name, rels(root, res.Matches, false))
		}
		// The full scan rewrote a good cache.
		if res2 := expandT(t, pats, opts); res2.Stats.Cache != CacheHit {
			t.Errorf("%s: after rewrite cache %q, want hit", name, res2.Stats.Cache)
		}
	}

	if os.Geteuid() >= 0 { // Unix: a group- or world-writable cache is not trusted
		must(t, os.Chmod(file, 0o666))
		res := expandT(t, pats, opts)
		if res.Stats.Cache != CacheCorrupt {
			t.Errorf("world-writable cache: %q, want it refused", res.Stats.Cache)
		}
	}

	// A different cap is a different key: no reuse of the other result.
	pats[1].MaxDepth = 5
	if res := expandT(t, pats, opts); res.Stats.Cache != CacheMiss {
		t.Errorf("changed cap: cache %q, want miss", res.Stats.Cache)
	}
}

func TestCacheUnwritableDirIsNotFatal(t *testing.T) {
	root, _, pats := cacheWorld(t)
	blocker := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(blocker, nil, 0o600))
	res := expandT(t, pats, Options{CacheDir: filepath.Join(blocker, "cache"), CacheKey: testKey})
	if res.Stats.CacheNote == "" {
		t.Errorf("no note about the unsaved cache")
	}
	checkAgainstOracle(t, pats, false, res)
	_ = root
}

// TestCacheForgeries: whoever can write the cache directory (a sandbox
// that renames an ancestor of it away and makes its own) can write any
// bytes there but cannot compute a MAC under the user's key. A forged
// cache with the right directory stats and matches left out, a link to a
// genuine cache, a hard link, and a genuine cache for other roots are all
// refused, and the walk finds every match.
func TestCacheForgeries(t *testing.T) {
	root, cache, pats := cacheWorld(t)
	opts := Options{CacheDir: cache, CacheKey: testKey}
	cold := expandT(t, pats, opts)
	if len(cold.Matches) == 0 {
		t.Fatal("no matches to omit")
	}
	c, err := compile(pats)
	must(t, err)
	key := cacheKey(c.pats, c.roots, opts)
	file := cacheFile(cache, key)
	good, err := os.ReadFile(file)
	must(t, err)
	trees, err := decodeCache(good, key, testKey, c.roots, nil)
	must(t, err)
	var strip func(n *node)
	strip = func(n *node) {
		if n.x != nil {
			n.x.matches = nil
		}
		for _, k := range n.children {
			strip(k)
		}
	}
	for _, n := range trees {
		strip(n)
	}
	check := func(name string) {
		t.Helper()
		res := expandT(t, pats, opts)
		if res.Stats.Cache != CacheCorrupt {
			t.Errorf("%s: cache %q (%s), want it refused", name, res.Stats.Cache, res.Stats.CacheNote)
		}
		if !reflect.DeepEqual(rels(root, res.Matches, false), rels(root, cold.Matches, false)) {
			t.Errorf("%s: matches %q, want %q", name, rels(root, res.Matches, false), rels(root, cold.Matches, false))
		}
	}

	// The forger's own key: stats right, matches gone.
	forged := encodeCache(key, bytes.Repeat([]byte{1}, cacheKeySize), c.roots, trees)
	must(t, os.WriteFile(file, forged, 0o600))
	check("forged under another key")
	// The same file under the user's key is accepted: the forgery above
	// failed for its MAC alone.
	must(t, os.WriteFile(file, encodeCache(key, testKey, c.roots, trees), 0o600))
	if res := expandT(t, pats, opts); res.Stats.Cache != CacheHit || len(res.Matches) != 0 {
		t.Fatalf("control: cache %q, %d matches; want the stripped cache used", res.Stats.Cache, len(res.Matches))
	}

	// A symlink to a genuine cache elsewhere (say in the project).
	elsewhere := filepath.Join(t.TempDir(), "genuine.cache")
	must(t, os.WriteFile(elsewhere, good, 0o600))
	must(t, os.Remove(file))
	must(t, os.Symlink(elsewhere, file))
	check("symlink")
	must(t, os.Remove(file))
	// A hard link to one.
	must(t, os.Link(elsewhere, file))
	check("hard link")
	must(t, os.Remove(file))

	// A genuine cache made for other roots, renamed to this key's file.
	other := t.TempDir()
	mkTree(t, other, "p/q.txt")
	otherPats := []Pattern{pat(other, "p/**/*.env", 0), pat(other, "p/**/*.pem", 3)}
	otherCache := filepath.Join(t.TempDir(), "cache")
	expandT(t, otherPats, Options{CacheDir: otherCache, CacheKey: testKey})
	oc, err := compile(otherPats)
	must(t, err)
	ob, err := os.ReadFile(cacheFile(otherCache, cacheKey(oc.pats, oc.roots, opts)))
	must(t, err)
	must(t, os.WriteFile(file, ob, 0o600))
	check("other roots")

	// A cache directory reached through a symlinked ancestor is used (by
	// its real path), not refused.
	link := filepath.Join(t.TempDir(), "link")
	must(t, os.Symlink(filepath.Dir(cache), link))
	viaLink := Options{CacheDir: filepath.Join(link, filepath.Base(cache)), CacheKey: testKey}
	expandT(t, pats, viaLink)
	if res := expandT(t, pats, viaLink); res.Stats.Cache != CacheHit {
		t.Errorf("cache through a symlinked ancestor: %q (%s), want hit", res.Stats.Cache, res.Stats.CacheNote)
	}
}

// TestCacheNeedsKey: without a key there is no cache at all, neither
// read nor written.
func TestCacheNeedsKey(t *testing.T) {
	_, cache, pats := cacheWorld(t)
	res := expandT(t, pats, Options{CacheDir: cache})
	if res.Stats.Cache != CacheOff || res.Stats.CacheNote == "" {
		t.Errorf("no key: cache %q (%s), want off with a note", res.Stats.Cache, res.Stats.CacheNote)
	}
	if files, _ := filepath.Glob(filepath.Join(cache, "*")); len(files) != 0 {
		t.Errorf("no key, yet wrote %q", files)
	}
}

// TestCacheWideDirectoryListedAgain: a changed directory with many
// cached subdirectories is listed again alone; its unchanged
// subdirectories are reused, not listed.
func TestCacheWideDirectoryListedAgain(t *testing.T) {
	root := t.TempDir()
	cache := filepath.Join(t.TempDir(), "cache")
	var paths []string
	for i := range 40 {
		paths = append(paths, fmt.Sprintf("p/w/d%02d/f.txt", i))
	}
	mkTree(t, root, append(paths, "p/w/d07/s.env")...)
	time.Sleep(60 * time.Millisecond)
	pats := []Pattern{pat(root, "p/**/*.env", 0)}
	opts := Options{CacheDir: cache, CacheKey: testKey}
	expandT(t, pats, opts)
	mkTree(t, root, "p/w/new.txt")
	res := expandT(t, pats, opts)
	if res.Stats.DirsRead != 1 || res.Stats.DirsReused < 40 {
		t.Errorf("%d listed, %d reused; want the changed directory listed alone", res.Stats.DirsRead, res.Stats.DirsReused)
	}
	checkAgainstOracle(t, pats, false, res)
}

// TestCacheSweepsOldVersions: saving a cache removes the caches of older
// format versions (their names are keyed by the version, so they would
// stay forever) and nothing else: not a newer polc's, not this version's
// caches of other walks, not a file that is not a cache.
func TestCacheSweepsOldVersions(t *testing.T) {
	_, cache, pats := cacheWorld(t)
	must(t, os.MkdirAll(cache, 0o700))
	header := func(version uint32) []byte {
		b := append([]byte(nil), cacheMagic...)
		return binary.LittleEndian.AppendUint32(b, version)
	}
	files := map[string][]byte{
		"globwalk-00000000000000000000000000000002.cache": append(header(cacheVersion-1), make([]byte, 64)...),
		"globwalk-00000000000000000000000000000009.cache": append(header(cacheVersion+1), make([]byte, 64)...),
		"globwalk-0000000000000000000000000000000c.cache": append(header(cacheVersion), make([]byte, 64)...),
		"globwalk-0000000000000000000000000000000d.cache": []byte("not a cache at all"),
		"notes.txt": header(cacheVersion - 1),
	}
	for name, data := range files {
		must(t, os.WriteFile(filepath.Join(cache, name), data, 0o600))
	}
	opts := Options{CacheDir: cache, CacheKey: testKey}
	if res := expandT(t, pats, opts); res.Stats.Cache != CacheMiss || res.Stats.CacheNote != "" {
		t.Fatalf("cache %q (%s), want a miss, saved", res.Stats.Cache, res.Stats.CacheNote)
	}
	for name := range files {
		_, err := os.Stat(filepath.Join(cache, name))
		gone := os.IsNotExist(err)
		if want := name == "globwalk-00000000000000000000000000000002.cache"; gone != want {
			t.Errorf("%s: removed %v, want %v", name, gone, want)
		}
	}
	if res := expandT(t, pats, opts); res.Stats.Cache != CacheHit {
		t.Errorf("the cache just saved: %q, want a hit", res.Stats.Cache)
	}
}

// The whole-file readers below serve the tests: a launch reads the
// index and the tree apart (cacheReader), the tree maybe on another
// goroutine (expandIndexed).

// loadCache reads, checks and decodes a cache file, index then tree;
// hook, when not nil, sees each node of the tree as it is decoded (see
// decodeHook).
func loadCache(file string, key [32]byte, mac []byte, roots []string, hook decodeHook) ([]*node, error) {
	r, err := openCache(file)
	if err != nil {
		return nil, err
	}
	defer r.close()
	idx, err := r.index(key, mac, roots)
	if err != nil {
		return nil, err
	}
	return r.tree(idx, mac, roots, hook)
}

// decodeCache decodes a whole cache file: its index, then its tree.
func decodeCache(data []byte, key [32]byte, mac []byte, roots []string, hook decodeHook) ([]*node, error) {
	idx, err := decodeIndex(data, key, mac, roots)
	if err != nil {
		return nil, err
	}
	return decodeTree(idx, data[idx.treeAt:], mac, roots, hook)
}
