package globwalk

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
)

var segPool = []string{"**", "**", "*", "*.env", "a*", "?", "[ab]*", "[!a]", "b", ".*", "{a,b}", "x", "*a*", "a/b", "\\a"}

var namePool = []string{"a", "b", "x", ".env", "a.env", ".hid", "ab", "ba", "c.env", "xa"}

// randomTree builds a small random tree: directories, files and links.
func randomTree(t testing.TB, r *rand.Rand, root string) {
	var build func(dir string, depth int)
	build = func(dir string, depth int) {
		n := r.Intn(5)
		for i := 0; i < n; i++ {
			p := filepath.Join(dir, namePool[r.Intn(len(namePool))])
			if _, err := os.Lstat(p); err == nil {
				continue
			}
			switch k := r.Intn(10); {
			case k < 4 && depth < 4:
				must(t, os.Mkdir(p, 0o755))
				build(p, depth+1)
			case k == 4:
				must(t, os.Symlink("..", p))
			default:
				must(t, os.WriteFile(p, nil, 0o644))
			}
		}
	}
	must(t, os.MkdirAll(root, 0o755))
	build(root, 0)
}

func randomPattern(r *rand.Rand, root string) Pattern {
	n := 1 + r.Intn(4)
	segs := make([]string, n)
	for i := range segs {
		segs[i] = segPool[r.Intn(len(segPool))]
	}
	return Pattern{Pattern: root + "/" + strings.Join(segs, "/"), MaxDepth: r.Intn(4)}
}

// TestRandomAgainstOracle compares the automaton with brute force on
// random trees and random pattern sets (several patterns per walk, caps,
// beyond-cap reporting, nested bases).
func TestRandomAgainstOracle(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for iter := 0; iter < 150; iter++ {
		root := filepath.Join(t.TempDir(), "r")
		randomTree(t, r, root)
		var pats []Pattern
		for k := 1 + r.Intn(4); k > 0; k-- {
			p := randomPattern(r, root)
			if r.Intn(4) == 0 { // nested base
				p.Pattern = root + "/a/" + strings.TrimPrefix(p.Pattern, root+"/")
			}
			if !doublestar.ValidatePattern(p.Pattern) {
				continue
			}
			pats = append(pats, p)
		}
		beyond := r.Intn(2) == 0
		res, err := Expand(pats, Options{ReportBeyondCap: beyond})
		if err != nil {
			t.Fatalf("%v: %v", pats, err)
		}
		checkAgainstOracle(t, pats, beyond, res)
		if t.Failed() {
			t.Fatalf("iteration %d, patterns %+v, beyond %v", iter, pats, beyond)
		}
	}
}

// TestRandomRegionsAgainstOracle: random uncapped and capped regions on
// random trees (regions nested in each other, on files, on missing
// paths), with and without beyond-cap reporting and through the cache:
// the walk past the caps finds what brute force finds.
func TestRandomRegionsAgainstOracle(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for iter := 0; iter < 200; iter++ {
		root := filepath.Join(t.TempDir(), "r")
		randomTree(t, r, root)
		var all []string
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			all = append(all, p)
			return nil
		})
		var pats []Pattern
		for k := 1 + r.Intn(3); k > 0; k-- {
			p := randomPattern(r, root)
			p.MaxDepth = 1 + r.Intn(2)
			if r.Intn(4) == 0 { // nested base
				p.Pattern = root + "/a/" + strings.TrimPrefix(p.Pattern, root+"/")
			}
			if !doublestar.ValidatePattern(p.Pattern) {
				continue
			}
			pats = append(pats, p)
		}
		var regions []Region
		for k := 1 + r.Intn(4); k > 0; k-- {
			p := all[r.Intn(len(all))]
			if r.Intn(6) == 0 {
				p += "/missing"
			}
			regions = append(regions, Region{Path: p, Uncapped: r.Intn(3) != 0})
		}
		beyond := r.Intn(2) == 0
		opts := Options{ReportBeyondCap: beyond, Regions: regions}
		if r.Intn(2) == 0 {
			opts.CacheDir = t.TempDir()
			if _, err := Expand(pats, opts); err != nil {
				t.Fatal(err)
			}
		}
		res, err := Expand(pats, opts)
		if err != nil {
			t.Fatalf("%v: %v", pats, err)
		}
		checkAgainstOracleRegions(t, pats, beyond, regions, res)
		if t.Failed() {
			t.Fatalf("iteration %d, patterns %+v, regions %+v, beyond %v", iter, pats, regions, beyond)
		}
	}
}

var fuzzRoot struct {
	once sync.Once
	dir  string
}

// FuzzExpandPattern runs arbitrary pattern text against a small fixed
// tree: Expand must never panic, every match must really match by
// doublestar.Match, and nothing a brute-force walk finds may be missed.
func FuzzExpandPattern(f *testing.F) {
	for _, s := range []string{"**/*.env", "*", "a/**", "**/a/**/b", "[ab]*/?", "{a,b/x}/*", "a\\*", ".*/**/.env", "**", "a//b", "*/", "[!a]*", "**/x*/**/*.env"} {
		f.Add(s, uint8(0), false)
		f.Add(s, uint8(2), true)
	}
	f.Fuzz(func(t *testing.T, rel string, depth uint8, beyond bool) {
		fuzzRoot.once.Do(func() {
			dir, err := os.MkdirTemp("", "globwalk-fuzz-")
			if err != nil {
				panic(err)
			}
			fuzzRoot.dir = filepath.Join(dir, "r")
			randomTree(t, rand.New(rand.NewSource(7)), fuzzRoot.dir)
			mkTree(t, fuzzRoot.dir, "a/b/x.env", "a/.env", "b/a/b/c", "x/a*", "x/[ab]")
		})
		root := fuzzRoot.dir
		full := root + "/" + rel
		p := Pattern{Pattern: full, MaxDepth: int(depth % 6)}
		res, err := Expand([]Pattern{p}, Options{ReportBeyondCap: beyond})
		if err != nil {
			return // a malformed pattern is refused, not expanded
		}
		base := globBaseForTest(full)
		if !strings.HasPrefix(base+"/", root+"/") || strings.Contains(rel, "..") {
			return // outside the fixed tree: no oracle for it
		}
		for _, m := range append(res.Matches, res.BeyondCap...) {
			if ok, _ := doublestar.Match(full, m.Path); !ok {
				t.Fatalf("%q: %s is not a match", full, m.Path)
			}
		}
		checkAgainstOracle(t, []Pattern{p}, beyond, res)
	})
}
