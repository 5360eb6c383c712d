package globwalk

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// loadTestCache expands pats once with a cache and loads that cache back
// with a walker ready to prefetch it.
func loadTestCache(t *testing.T, pats []Pattern) (*walker, []*node) {
	t.Helper()
	opts := Options{CacheDir: filepath.Join(t.TempDir(), "cache")}
	expandT(t, pats, opts)
	c, err := compile(pats)
	must(t, err)
	key := cacheKey(c.pats, opts)
	old, err := loadCache(cacheFile(opts.CacheDir, key), key, c.roots)
	must(t, err)
	return newWalker(c, opts, &Result{}), old
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
// directory (taken relative to open parents, on several threads, from a
// tree wide enough to be shared out) is "unchanged" when nothing
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
	mkTree(t, root, lines...)
	pats := []Pattern{pat(root, "p/**/*.env", 0), pat(root, "nope/*.env", 0)}
	w, old := loadTestCache(t, pats)
	w.prefetch(old)
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
	if count != 2+40*(1+2*2) {
		t.Errorf("%d cached directories, want %d", count, 2+40*(1+2*2))
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
	w, old := loadTestCache(t, pats)
	for _, d := range []string{"p/inner", "p/leaf2"} {
		must(t, os.Rename(filepath.Join(root, d), filepath.Join(root, d+".old")))
		must(t, os.Symlink(filepath.Join(root, "elsewhere"), filepath.Join(root, d)))
	}
	w.prefetch(old)
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
	res := expandT(t, pats, Options{CacheDir: w.opts.CacheDir})
	checkAgainstOracle(t, pats, false, res)
}
