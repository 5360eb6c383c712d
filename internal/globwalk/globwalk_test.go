package globwalk

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bmatcuk/doublestar/v4"
)

// mkTree builds a tree under root from conformance-style lines: "a/b" is
// a file, "a/d/" a directory, "l -> target" a symlink.
func mkTree(t testing.TB, root string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if name, target, ok := strings.Cut(l, " -> "); ok {
			p := filepath.Join(root, name)
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, os.Symlink(target, p))
			continue
		}
		p := filepath.Join(root, l)
		if strings.HasSuffix(l, "/") {
			must(t, os.MkdirAll(p, 0o755))
			continue
		}
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte("content of "+l), 0o644))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rels lists match paths relative to root, with ":N" for the pattern
// index when more than one pattern is in play.
func rels(root string, ms []Match, withPat bool) []string {
	out := []string{}
	for _, m := range ms {
		r := strings.TrimPrefix(m.Path, root+"/")
		if withPat {
			r += fmt.Sprintf(":%d", m.Pattern)
		}
		out = append(out, r)
	}
	return out
}

func pat(root, rel string, depth int) Pattern {
	return Pattern{Pattern: root + "/" + rel, MaxDepth: depth}
}

func TestExpandTable(t *testing.T) {
	cases := []struct {
		name     string
		tree     []string
		pats     []string // relative to root; "@N" suffix sets MaxDepth
		beyond   bool
		want     []string
		wantBC   []string
		maxReads int // 0: unchecked
	}{
		{
			name: "conformance 001: cap 3 leaves depth 4 beyond",
			tree: []string{"proj/.env", "proj/a.txt", "proj/sub/x.env", "proj/sub/deep/y.env",
				"proj/sub/deep/deeper/z.env", "proj/.git/config", "proj/.codex/"},
			pats:   []string{"proj/**/*.env@3"},
			beyond: true,
			want:   []string{"proj/.env", "proj/sub/deep/y.env", "proj/sub/x.env"},
			wantBC: []string{"proj/sub/deep/deeper/z.env"},
		},
		{
			name:     "cap without reporting stops the walk at the cap",
			tree:     []string{"p/.env", "p/a/.env", "p/a/b/.env", "p/a/b/c/.env", "p/a/b/c/d/.env"},
			pats:     []string{"p/**/*.env@2"},
			want:     []string{"p/.env", "p/a/.env"},
			maxReads: 2, // p and p/a: p/a/b could only hold depth-3 entries
		},
		{
			name: "depth 1 means directly in base",
			tree: []string{"p/x.env", "p/d/y.env"},
			pats: []string{"p/**/*.env@1"},
			want: []string{"p/x.env"},
		},
		{
			name: "** matches zero directories and is unbounded without a cap",
			tree: []string{"p/.env", "p/a/b/c/d/e/f/deep.env", "p/ok.txt"},
			pats: []string{"p/**/*.env"},
			want: []string{"p/.env", "p/a/b/c/d/e/f/deep.env"},
		},
		{
			name: "classes and ? (conformance 014)",
			tree: []string{"p/id_rsa", "p/keys/id_ed25519", "p/keys/server.key", "p/keys/server.pey",
				"p/keys/server.cert", "p/notes/secret1.txt", "p/notes/secret12.txt"},
			pats: []string{"p/**/id_*@4", "p/**/*.[pk]ey@4", "p/**/secret?.txt@4"},
			want: []string{"p/id_rsa:0", "p/keys/id_ed25519:0", "p/keys/server.key:1", "p/keys/server.pey:1", "p/notes/secret1.txt:2"},
		},
		{
			name:     "a glob without ** covers its own level only (conformance 006)",
			tree:     []string{"p/cert.pem", "p/sub/cert.pem", "p/config/db.secret", "p/config/deep/db.secret", "p/config/db.txt"},
			pats:     []string{"p/*.pem", "p/config/*.secret"},
			want:     []string{"p/cert.pem:0", "p/config/db.secret:1"},
			maxReads: 2, // p and p/config, in one walk
		},
		{
			name: "* and ** match hidden names; no ignore files",
			tree: []string{"p/.hidden/.env", "p/.gitignore", "p/node_modules/x.env", "p/.x"},
			pats: []string{"p/**/*.env", "p/.*"},
			want: []string{"p/.gitignore:1", "p/.hidden:1", "p/.hidden/.env:0", "p/.x:1", "p/node_modules/x.env:0"},
		},
		{
			name: "a matched directory is reported once and not descended for its pattern",
			tree: []string{"p/secrets/secrets/x", "p/secrets/a.env", "p/b/secrets/"},
			pats: []string{"p/**/secrets", "p/**/*.env"},
			want: []string{"p/b/secrets:0", "p/secrets:0", "p/secrets/a.env:1"},
		},
		{
			name: "trailing ** matches everything below, reported at the top",
			tree: []string{"p/d/a", "p/d/e/f", "p/x"},
			pats: []string{"p/d/**"},
			want: []string{"p/d/a", "p/d/e"},
		},
		{
			name:     "middle literal segments prune",
			tree:     []string{"p/a/k/v.key", "p/b/k/v.key", "p/b/j/v.key", "p/c/z/k/v.key"},
			pats:     []string{"p/*/k/*.key"},
			want:     []string{"p/a/k/v.key", "p/b/k/v.key"},
			maxReads: 6, // p, a, b, c, a/k, b/k
		},
		{
			name: "braces fall back to whole-path matching",
			tree: []string{"p/a/x.env", "p/a/y/z.env", "p/a/y/x.env", "p/b/x.env", "p/x.env"},
			pats: []string{"p/*/{x,y/z}.env"},
			want: []string{"p/a/x.env", "p/a/y/z.env", "p/b/x.env"},
		},
		{
			name: "missing base is no error and no match",
			tree: []string{"p/x"},
			pats: []string{"nope/**/*.env"},
			want: []string{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			mkTree(t, root, tc.tree...)
			var pats []Pattern
			for _, p := range tc.pats {
				rel, d := p, 0
				if i := strings.LastIndex(p, "@"); i >= 0 {
					rel = p[:i]
					fmt.Sscan(p[i+1:], &d)
				}
				pats = append(pats, pat(root, rel, d))
			}
			res, err := Expand(pats, Options{ReportBeyondCap: tc.beyond})
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if got := rels(root, res.Matches, len(pats) > 1); !reflect.DeepEqual(got, want) {
				t.Errorf("matches\n got %q\nwant %q", got, want)
			}
			wantBC := tc.wantBC
			if wantBC == nil {
				wantBC = []string{}
			}
			if got := rels(root, res.BeyondCap, len(pats) > 1); !reflect.DeepEqual(got, wantBC) {
				t.Errorf("beyond cap\n got %q\nwant %q", got, wantBC)
			}
			if len(res.Errors) > 0 {
				t.Errorf("errors: %v", res.Errors)
			}
			if tc.maxReads > 0 && res.Stats.DirsRead > tc.maxReads {
				t.Errorf("listed %d directories, want at most %d", res.Stats.DirsRead, tc.maxReads)
			}
			checkAgainstOracle(t, pats, tc.beyond, res)
		})
	}
}

func TestDepthAndFlags(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, "p/a/b/c.env", "p/d.env/")
	res, err := Expand([]Pattern{pat(root, "p/**/*.env", 0)}, Options{})
	must(t, err)
	got := map[string]Match{}
	for _, m := range res.Matches {
		got[strings.TrimPrefix(m.Path, root+"/")] = m
	}
	if m := got["p/a/b/c.env"]; m.Depth != 3 || m.IsDir || m.IsSymlink {
		t.Errorf("p/a/b/c.env: %+v, want depth 3, a file", m)
	}
	if m := got["p/d.env"]; m.Depth != 1 || !m.IsDir {
		t.Errorf("p/d.env: %+v, want depth 1, a directory", m)
	}
}

func TestSymlinksNotFollowed(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, "outside/x.env", "outside/sub/", "p/ok.env",
		"p/link -> ../outside", "p/loop -> .", "p/key.env -> ../outside/x.env", "p/dangling.env -> nowhere/y.env")
	res, err := Expand([]Pattern{pat(root, "p/**/*.env", 0), pat(root, "p/lin*", 0)}, Options{})
	must(t, err)
	got := rels(root, res.Matches, true)
	want := []string{"p/dangling.env:0", "p/key.env:0", "p/link:1", "p/ok.env:0"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("matches %q, want %q (links must not be followed)", got, want)
	}
	byPath := map[string]Match{}
	for _, m := range res.Matches {
		byPath[strings.TrimPrefix(m.Path, root+"/")] = m
	}
	realRoot, _ := filepath.EvalSymlinks(root)
	if m := byPath["p/link"]; !m.IsSymlink || !m.IsDir || m.LinkTarget != realRoot+"/outside" {
		t.Errorf("p/link: %+v, want a symlink to directory %s/outside", m, realRoot)
	}
	if m := byPath["p/key.env"]; !m.IsSymlink || m.IsDir || m.LinkTarget != realRoot+"/outside/x.env" {
		t.Errorf("p/key.env: %+v, want a symlink to file outside/x.env", m)
	}
	if m := byPath["p/dangling.env"]; !m.IsSymlink || m.LinkTarget != root+"/p/nowhere/y.env" {
		t.Errorf("p/dangling.env: %+v, want its lexical target", m)
	}
}

func TestNestedBasesShareOneWalk(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, "p/a.pem", "p/sub/b.pem", "p/sub/deep/c.pem", "p/sub/deep/d.env", "q/e.env")
	pats := []Pattern{
		pat(root, "p/*.pem", 0),
		pat(root, "p/sub/**/*.pem", 1), // depth is counted from p/sub
		pat(root, "p/sub/deep/*.env", 0),
		pat(root, "q/**/*.env", 0),
	}
	res, err := Expand(pats, Options{ReportBeyondCap: true})
	must(t, err)
	if res.Stats.Roots != 2 {
		t.Errorf("walk roots = %d, want 2 (p and q)", res.Stats.Roots)
	}
	want := []string{"p/a.pem:0", "p/sub/b.pem:1", "p/sub/deep/d.env:2", "q/e.env:3"}
	if got := rels(root, res.Matches, true); !reflect.DeepEqual(got, want) {
		t.Errorf("matches %q, want %q", got, want)
	}
	if got := rels(root, res.BeyondCap, true); !reflect.DeepEqual(got, []string{"p/sub/deep/c.pem:1"}) {
		t.Errorf("beyond cap %q", got)
	}
	for _, m := range res.Matches {
		if m.Pattern == 1 && m.Depth != 1 {
			t.Errorf("%s: depth %d, want 1 (from its own base)", m.Path, m.Depth)
		}
	}
}

func TestBeyondCapCoveredByOtherPattern(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, "p/a/b/c/x.env", "p/a/b/c/y.env")
	// Pattern 1 masks p/a/b/c whole, so nothing under it stays readable.
	res, err := Expand([]Pattern{pat(root, "p/**/*.env", 2), pat(root, "p/*/*/c", 0)}, Options{ReportBeyondCap: true})
	must(t, err)
	if len(res.BeyondCap) != 0 {
		t.Errorf("beyond cap %q: covered by the p/a/b/c match", rels(root, res.BeyondCap, true))
	}
	if got := rels(root, MaskRoots(res.Matches), true); !reflect.DeepEqual(got, []string{"p/a/b/c:1"}) {
		t.Errorf("mask roots %q", got)
	}
}

// TestRegionsLiftCaps: the attack the regions close (a secret moved
// below the cap inside a writable root), a read-only carve-out where the
// cap stays, a writable carve-out below it, and a matched directory
// beyond the cap in a read-only place that leads to a writable one.
func TestRegionsLiftCaps(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, "p/x/y/z/w/a/b/c/d.env", "p/x/e.env", "p/ro/q/r/s.env", "p/ro/q/w/t/u.env",
		"p/ro/s1/s2/secrets/k", "p/ro/s1/s2/secrets/w/secrets/k", "p/ro/s1/s2/secrets/w/v.env", "p/ro/s1/s2/other/deep/n.env")
	regions := []Region{
		{Path: root + "/p", Uncapped: true},
		{Path: root + "/p/ro"},
		{Path: root + "/p/ro/q/w", Uncapped: true},
		{Path: root + "/p/ro/s1/s2/secrets/w", Uncapped: true},
	}
	pats := []Pattern{pat(root, "p/**/*.env", 2), pat(root, "p/**/secrets", 2)}
	for _, cached := range []bool{false, true} {
		for _, beyond := range []bool{false, true} {
			opts := Options{Regions: regions, ReportBeyondCap: beyond}
			if cached {
				opts.CacheDir = t.TempDir()
				_, err := Expand(pats, opts)
				must(t, err)
			}
			res, err := Expand(pats, opts)
			must(t, err)
			want := []string{"p/ro/q/w/t/u.env:0", "p/ro/s1/s2/secrets/w/secrets:1", "p/ro/s1/s2/secrets/w/v.env:0", "p/x/e.env:0", "p/x/y/z/w/a/b/c/d.env:0"}
			if got := rels(root, res.Matches, true); !reflect.DeepEqual(got, want) {
				t.Errorf("cached=%v beyond=%v: matches %q, want %q", cached, beyond, got, want)
			}
			wantB := []string{}
			if beyond {
				wantB = []string{"p/ro/q/r/s.env:0", "p/ro/s1/s2/other/deep/n.env:0", "p/ro/s1/s2/secrets:1"}
			}
			if got := rels(root, res.BeyondCap, true); !reflect.DeepEqual(got, wantB) {
				t.Errorf("cached=%v beyond=%v: beyond cap %q, want %q", cached, beyond, got, wantB)
			}
			checkAgainstOracleRegions(t, pats, beyond, regions, res)
		}
	}
	// Without regions the cap applies everywhere: the moved file is missed.
	res, err := Expand(pats, Options{})
	must(t, err)
	if got := rels(root, res.Matches, true); !reflect.DeepEqual(got, []string{"p/x/e.env:0"}) {
		t.Errorf("no regions: matches %q", got)
	}
}

func TestBadPatterns(t *testing.T) {
	for _, p := range []Pattern{
		{Pattern: "relative/*.env"},
		{Pattern: "/p/[ab.env"},
		{Pattern: "/p/x\x00/*.env"},
		{Pattern: "/p/**/*.env", Base: "/q"},
		{Pattern: "/p/**/*.env", Base: "/p/"},
		{Pattern: "/p/*.env", MaxDepth: -1},
	} {
		_, err := Expand([]Pattern{{Pattern: "/ok/*"}, p}, Options{})
		var pe *PatternError
		if !errors.As(err, &pe) || pe.Index != 1 {
			t.Errorf("%+v: err %v, want a *PatternError for index 1", p, err)
		}
	}
}

func TestUnreadableDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every directory")
	}
	root := t.TempDir()
	mkTree(t, root, "p/a.env", "p/locked/b.env", "p/open/c.env")
	must(t, os.Chmod(filepath.Join(root, "p/locked"), 0))
	defer os.Chmod(filepath.Join(root, "p/locked"), 0o755)
	res, err := Expand([]Pattern{pat(root, "p/**/*.env", 0)}, Options{})
	must(t, err)
	if len(res.Errors) != 1 || res.Errors[0].Path != root+"/p/locked" {
		t.Errorf("errors %v, want one for p/locked", res.Errors)
	}
	if got := rels(root, res.Matches, false); !reflect.DeepEqual(got, []string{"p/a.env", "p/open/c.env"}) {
		t.Errorf("matches %q: the walk must go on past an unreadable directory", got)
	}
}

// checkAgainstOracle compares a result with a brute-force expansion: every
// entry under each base, matched with doublestar.Match on the whole path.
func checkAgainstOracle(t testing.TB, pats []Pattern, beyond bool, res *Result) {
	t.Helper()
	checkAgainstOracleRegions(t, pats, beyond, nil, res)
}

// checkAgainstOracleRegions is checkAgainstOracle for an expansion with
// Options.Regions.
func checkAgainstOracleRegions(t testing.TB, pats []Pattern, beyond bool, regions []Region, res *Result) {
	t.Helper()
	wantM, wantB := oracle(pats, beyond, regions)
	if got := keys(res.Matches); !reflect.DeepEqual(got, wantM) {
		t.Errorf("oracle disagrees on matches\n got %q\nwant %q", got, wantM)
	}
	if got := keys(res.BeyondCap); !reflect.DeepEqual(got, wantB) {
		t.Errorf("oracle disagrees on beyond-cap\n got %q\nwant %q", got, wantB)
	}
}

func keys(ms []Match) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s:%d:%d", m.Path, m.Pattern, m.Depth))
	}
	return out
}

// oracle walks every pattern's base in full. With regions, a match
// beyond its cap counts where the nearest region at or above it is
// uncapped; and a matched directory that does not count (beyond the cap,
// not in an uncapped region) is still entered when an uncapped region
// lies below it, where a deeper match counts.
func oracle(pats []Pattern, reportBeyond bool, regions []Region) (matches, beyond []string) {
	inside := func(p string) bool {
		best := -1
		for i, r := range regions {
			if hasPrefix(p, r.Path) && (best < 0 || len(r.Path) >= len(regions[best].Path)) {
				best = i
			}
		}
		return best >= 0 && regions[best].Uncapped
	}
	uncappedBelow := func(p string) bool {
		for _, r := range regions {
			if r.Uncapped && r.Path != p && hasPrefix(r.Path, p) {
				return true
			}
		}
		return false
	}
	type hit struct {
		path       string
		pat, depth int
	}
	var in, out []hit
	covered := map[string]bool{}
	for i, p := range pats {
		base := p.Base
		if base == "" {
			base = globBaseForTest(p.Pattern)
		}
		start := base
		if fi, err := os.Lstat(base); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			start = base + "/" // Expand opens a Base through a link
		}
		filepath.WalkDir(start, func(path string, d os.DirEntry, err error) error {
			if err != nil || path == start {
				return nil
			}
			ok, _ := doublestar.Match(p.Pattern, path)
			if !ok {
				return nil
			}
			depth := strings.Count(strings.TrimPrefix(path, base), "/")
			if base == "/" {
				depth++
			}
			if p.MaxDepth == 0 || depth <= p.MaxDepth || inside(path) {
				in = append(in, hit{path, i, depth})
				covered[path] = true
			} else {
				if reportBeyond {
					out = append(out, hit{path, i, depth})
				}
				if d.IsDir() && uncappedBelow(path) {
					return nil
				}
			}
			if d.IsDir() {
				return filepath.SkipDir // a matched directory is masked whole
			}
			return nil
		})
	}
	sort.Slice(in, func(a, b int) bool {
		if in[a].path != in[b].path {
			return in[a].path < in[b].path
		}
		return in[a].pat < in[b].pat
	})
	sort.Slice(out, func(a, b int) bool {
		if out[a].path != out[b].path {
			return out[a].path < out[b].path
		}
		return out[a].pat < out[b].pat
	})
	matches, beyond = []string{}, []string{}
	for _, h := range in {
		matches = append(matches, fmt.Sprintf("%s:%d:%d", h.path, h.pat, h.depth))
	}
	for _, h := range out {
		if !coveredBy(covered, h.path) {
			beyond = append(beyond, fmt.Sprintf("%s:%d:%d", h.path, h.pat, h.depth))
		}
	}
	return matches, beyond
}

func globBaseForTest(p string) string {
	i := strings.IndexAny(p, "*?[")
	if i < 0 {
		return filepath.Dir(p)
	}
	j := strings.LastIndex(p[:i], "/")
	if j <= 0 {
		return "/"
	}
	return p[:j]
}

// TestMatchIdentity: every match carries the device and inode of the
// entry itself (a symlink's own), as lstat reports them, whether the walk
// listed its directory or took it from the cache.
func TestMatchIdentity(t *testing.T) {
	root := t.TempDir()
	mkTree(t, root, "p/a.env", "p/d/b.env", "p/dir.env/", "p/dir.env/inner.txt")
	must(t, os.Symlink("a.env", filepath.Join(root, "p/link.env")))
	time.Sleep(60 * time.Millisecond) // not racy: the warm run reuses the cache
	pats := []Pattern{pat(root, "p/**/*.env", 0)}
	for name, opts := range map[string]Options{
		"uncached": {},
		"cached":   {CacheDir: filepath.Join(t.TempDir(), "cache"), CacheKey: bytes.Repeat([]byte{3}, cacheKeySize)},
	} {
		for run := range 2 {
			res := expandT(t, pats, opts)
			if len(res.Matches) != 4 {
				t.Fatalf("%s: %d matches, want 4", name, len(res.Matches))
			}
			for _, m := range res.Matches {
				dev, ino, ok := lstatID(m.Path)
				if !ok {
					if m.Dev != 0 || m.Ino != 0 {
						t.Errorf("%s: %s: identity %d/%d where the platform has none", name, m.Path, m.Dev, m.Ino)
					}
					continue
				}
				if m.Dev != dev || m.Ino != ino {
					t.Errorf("%s run %d (%s): %s: dev/ino %d/%d, lstat says %d/%d", name, run, res.Stats.Cache, m.Path, m.Dev, m.Ino, dev, ino)
				}
			}
		}
	}
}

// TestPseudoFilesystemsNotWalked: a walk from / never descends into /proc
// or /sys (their files change between listings and some cannot be read),
// while a pattern based inside /proc still walks it.
func TestPseudoFilesystemsNotWalked(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc here")
	}
	res, err := Expand([]Pattern{{Pattern: "/*/self", Base: "/", MaxDepth: 2}, {Pattern: "/*/kernel", Base: "/", MaxDepth: 2}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Matches {
		if strings.HasPrefix(m.Path, "/proc/") || strings.HasPrefix(m.Path, "/sys/") {
			t.Errorf("walk from / descended into a pseudo-filesystem: %s", m.Path)
		}
	}
	for _, e := range res.Errors {
		if strings.HasPrefix(e.Path, "/proc") || strings.HasPrefix(e.Path, "/sys") {
			t.Errorf("walk from / listed a pseudo-filesystem: %v", e)
		}
	}
	res, err = Expand([]Pattern{{Pattern: "/proc/self/status", Base: "/proc/self", MaxDepth: 1}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 1 {
		t.Errorf("a pattern based in /proc found %v", res.Matches)
	}
}
