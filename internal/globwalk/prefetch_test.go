package globwalk

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// testCache expands pats once with a cache; load loads it back and
// prefetches it as a warm run does.
func testCache(t *testing.T, pats []Pattern) (load func() (*walker, []*node)) {
	t.Helper()
	opts := Options{CacheDir: filepath.Join(t.TempDir(), "cache"), CacheKey: testKey}
	expandT(t, pats, opts)
	c, err := compile(pats)
	must(t, err)
	return func() (*walker, []*node) {
		w := newWalker(c, opts, &Result{})
		key := cacheKey(c.pats, c.roots, opts)
		hook, wait := w.startPrefetch()
		old, err := loadCache(cacheFile(opts.CacheDir, key), key, opts.CacheKey, c.roots, hook)
		wait(old)
		must(t, err)
		return w, old
	}
}

// eachNode calls fn for every cached directory with its path.
func eachNode(roots []string, trees []*node, fn func(n *node, path string, isRoot bool)) {
	var rec func(n *node, path string, isRoot bool)
	rec = func(n *node, path string, isRoot bool) {
		fn(n, path, isRoot)
		for _, c := range n.children {
			rec(c, joinPath(path, c.name), false)
		}
	}
	for i, t := range trees {
		if t != nil {
			rec(t, roots[i], true)
		}
	}
}

// TestPrefetchAgreesWithStat: the prefetched outcome for every cached
// directory (taken relative to open parents, on several threads, while
// the cache is decoded, from a tree that is wide at the top and from
// one that widens only below a chain) is "unchanged" when nothing
// changed, and "gone" for a root that does not exist.
func TestPrefetchAgreesWithStat(t *testing.T) {
	root := t.TempDir()
	var lines []string
	for i := range 40 {
		for j := range 2 {
			lines = append(lines, fmt.Sprintf("p/d%02d/e%d/f/", i, j))
		}
		lines = append(lines, fmt.Sprintf("p/d%02d/x.env", i))
	}
	lines = append(lines, "p/leaf1/", "p/leaf2/", "p/d00/e0/f/leaf/")
	for i := range 30 {
		lines = append(lines, fmt.Sprintf("q/chain/a/w%02d/x/", i))
	}
	mkTree(t, root, lines...)
	pats := []Pattern{pat(root, "p/**/*.env", 0), pat(root, "nope/*.env", 0), pat(root, "q/**/*.pem", 0)}
	w, old := testCache(t, pats)()
	count := 0
	eachNode(w.c.roots, old, func(n *node, path string, isRoot bool) {
		count++
		want := preSame
		if n.missing {
			want = preGone
		}
		if n.pre != want {
			t.Errorf("%s: prefetched as %d, want %d (the tree did not change)", path, n.pre, want)
		}
	})
	if count != 2+40*(1+2*2)+3+3+30*2 {
		t.Errorf("%d cached directories, want %d", count, 2+40*(1+2*2)+3+3+30*2)
	}
}

// TestPrefetchDoesNotFollowSwappedLinks: a cached directory, with or
// without cached children, swapped for a symlink to a directory is not
// stat-ed through the link: the prefetch reports an error, so the warm
// run lists the parent again instead of trusting the target's stamps.
func TestPrefetchDoesNotFollowSwappedLinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	root := t.TempDir()
	mkTree(t, root, "p/inner/leaf/a.env", "p/leaf2/", "elsewhere/deep/b.env")
	pats := []Pattern{pat(root, "p/**/*.env", 0)}
	load := testCache(t, pats)
	for _, d := range []string{"p/inner", "p/leaf2"} {
		must(t, os.Rename(filepath.Join(root, d), filepath.Join(root, d+".old")))
		must(t, os.Symlink(filepath.Join(root, "elsewhere"), filepath.Join(root, d)))
	}
	w, old := load()
	seen := 0
	eachNode(w.c.roots, old, func(n *node, path string, isRoot bool) {
		rel, _ := filepath.Rel(root, path)
		if rel != "p/inner" && rel != "p/leaf2" {
			return
		}
		seen++
		if n.pre == preSame || n.pre == preNone {
			t.Errorf("%s: prefetch outcome %d, want a change seen (not the link's target)", rel, n.pre)
		}
	})
	if seen != 2 {
		t.Fatalf("saw %d swapped directories in the cache, want 2", seen)
	}
	res := expandT(t, pats, Options{CacheDir: w.opts.CacheDir, CacheKey: testKey})
	checkAgainstOracle(t, pats, false, res)
}

// openFDs counts this process's open descriptors (Linux), or -1.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// TestPrefetchClosesDescriptors: warm runs, and a cache whose checksum is
// right but whose tree is cut short (so decoding fails while subtrees are
// already being stat-ed), leave no directory open and are not a result.
func TestPrefetchClosesDescriptors(t *testing.T) {
	if openFDs() < 0 {
		t.Skip("no /proc/self/fd")
	}
	root := t.TempDir()
	var lines []string
	for i := range 20 {
		lines = append(lines, fmt.Sprintf("p/d%02d/e/f/", i), fmt.Sprintf("p/d%02d/g/", i))
	}
	mkTree(t, root, lines...)
	pats := []Pattern{pat(root, "p/**/*.env", 0)}
	opts := Options{CacheDir: filepath.Join(t.TempDir(), "cache"), CacheKey: testKey}
	expandT(t, pats, opts)
	before := openFDs()
	for range 3 {
		if res := expandT(t, pats, opts); res.Stats.Cache != CacheHit && res.Stats.Cache != CacheStale {
			t.Fatalf("cache %q (%s)", res.Stats.Cache, res.Stats.CacheNote)
		}
	}
	if after := openFDs(); after != before {
		t.Errorf("%d descriptors open after warm runs, %d before", after, before)
	}

	c, err := compile(pats)
	must(t, err)
	key := cacheKey(c.pats, c.roots, opts)
	good, err := os.ReadFile(cacheFile(opts.CacheDir, key))
	must(t, err)
	for cut := headerLen + 1; cut < len(good); cut += max(1, (len(good)-headerLen)/37) {
		data := append([]byte(nil), good[:cut]...)
		resign(data)
		w := newWalker(c, opts, &Result{})
		hook, wait := w.startPrefetch()
		trees, err := decodeCache(data, key, testKey, c.roots, hook)
		wait(trees)
		if err == nil {
			t.Fatalf("cut at %d of %d: decoded", cut, len(good))
		}
	}
	if after := openFDs(); after != before {
		t.Errorf("%d descriptors open after failed decodes, %d before", after, before)
	}
}
