package globwalk

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// Pattern is one deny glob on the host.
type Pattern struct {
	// Pattern is absolute, in doublestar syntax, with host paths bound.
	Pattern string
	// Base is the literal directory prefix of Pattern (ir.GlobBase): where
	// its scan starts. Empty means ir.GlobBase(Pattern).
	Base string
	// MaxDepth caps the expansion: 1 means entries directly in Base, 0 no cap.
	MaxDepth int
}

// Options tune one expansion.
type Options struct {
	// ReportBeyondCap lists matches deeper than their pattern's MaxDepth in
	// Result.BeyondCap. Without it the walk stops at the caps.
	ReportBeyondCap bool
	// CacheDir holds the revalidation cache; "" disables it. It must be a
	// directory the sandbox cannot write (see the package doc).
	CacheDir string
	// CacheKey authenticates the cache (HMAC-SHA256; polc passes its
	// per-user state key, see internal/statekey). The cache decides what
	// a launch masks, and a sandbox that can write an ancestor of
	// CacheDir can swap the directory, so a cache is read and written
	// only with a key of statekey.Size bytes: without one there is no
	// cache, never an unauthenticated one.
	CacheKey []byte
	// Snapshot keeps what the walk saw of each directory, for
	// Result.Verify (snapshot.go).
	Snapshot bool
	// Regions lift the caps where the sandbox can write (see Region).
	// None: every cap applies everywhere.
	Regions []Region
	// DeferRevalidation, with Snapshot and CacheDir, takes every cached
	// directory as unchanged without stat-ing it (the walk roots are
	// still stat-ed, and directories cached racy or unreadable listed):
	// a warm expansion is then the cache's decoding, and Result.Verify,
	// which stats every directory anyway, is its revalidation. It is for
	// a caller that always runs Verify before trusting the matches and
	// walks again when Verify fails: the first expansion of a cache in
	// the process defers; a later one of the same cache (the retry)
	// revalidates first and rewrites the cache, so the retry plans on
	// the tree as it is. Stats.Deferred says whether it deferred.
	// A deferred expansion from a clean cache returns the index's
	// matches before the tree is decoded (Verify waits for it, and
	// fails when it is not the index's), and holds the garbage
	// collector off until just after Verify (see the package doc).
	DeferRevalidation bool
	// Watch lets Verify ask the cache file's watcher, when one runs,
	// which directories changed, and stat only those (watch.go). For a
	// launch; see Result.WatchDue for starting the watcher.
	Watch bool
}

// Region marks a directory, and everything below it down to a deeper
// region, as a place where the depth caps are lifted (Uncapped) or kept.
// The nearest (deepest; the last one listed on a tie) region at or above
// an entry decides; an entry under no region keeps the caps.
//
// Backends lift the caps where the sandbox can write: a command there
// can move a matched file below any cap (mv a x/y/z/w/), and a snapshot
// that stopped at the cap would leave it readable at the next launch.
// Where it cannot write, nothing in the sandbox can have moved a file, so
// the cap keeps the walk short. A match beyond its cap in an uncapped
// region is in Result.Matches; the walk goes past a cap only into
// directories that lie in an uncapped region or lead to one.
type Region struct {
	Path     string
	Uncapped bool
}

// Match is one existing path a pattern matches.
type Match struct {
	Path string
	// Pattern is the index of the matching pattern in Expand's argument.
	Pattern int
	// Depth is the number of components below the pattern's Base.
	Depth int
	// IsDir is set when the entry, or for a symlink its resolved target,
	// is a directory.
	IsDir bool
	// IsSymlink is set when the entry itself is a symbolic link.
	IsSymlink bool
	// LinkTarget is the fully resolved target of a matched symlink (which
	// may not exist for a dangling link); "" otherwise.
	LinkTarget string
	// Dev and Ino identify the matched entry itself (a symlink's own
	// inode, not its target's) as the walk saw it, so that a caller can
	// tell whether the path still names the same file when it acts on it
	// (a mount made later). Ino is the directory entry's d_ino and Dev
	// its directory's device; a matched directory is stat-ed instead, so
	// that a mount point reports what is mounted there. Both are 0 where
	// the platform has no inode numbers (Windows).
	Dev, Ino uint64
}

// ScanError is a directory the walk could not read.
type ScanError struct {
	Path string
	Err  string
}

func (e ScanError) Error() string { return e.Path + ": " + e.Err }

// Cache states reported in Stats.Cache.
const (
	CacheOff     = "off"     // no CacheDir
	CacheMiss    = "miss"    // no cache for these patterns yet
	CacheHit     = "hit"     // every directory revalidated, none listed
	CacheStale   = "stale"   // cache used, but some directories changed and were listed again
	CacheCorrupt = "corrupt" // cache unreadable, corrupt or untrusted: full scan
)

// Stats describe the work an expansion did.
type Stats struct {
	// Roots is the number of walks (distinct scan roots).
	Roots int
	// DirsRead counts directories listed; DirsReused those revalidated
	// from the cache without listing.
	DirsRead, DirsReused int
	// Entries counts directory entries examined.
	Entries int
	// Cache is one of the Cache* states; CacheNote says why a cache was
	// not used or could not be saved.
	Cache     string
	CacheNote string
	// Deferred is set when the cached directories were taken as
	// unchanged, for Verify to check (Options.DeferRevalidation).
	Deferred bool
	// Watch is what the last Verify learnt from the cache's change
	// feed (watch.go).
	Watch   WatchStats
	Elapsed time.Duration
}

// Result is the outcome of an expansion.
type Result struct {
	// Matches are within their pattern's cap or in an uncapped region,
	// sorted by Path then Pattern.
	Matches []Match
	// BeyondCap are matches deeper than their pattern's cap, outside
	// every uncapped region, that no match in Matches covers (path or
	// ancestor): what a snapshot platform leaves readable. Only with
	// Options.ReportBeyondCap.
	BeyondCap []Match
	// Errors are directories that could not be read, sorted by Path.
	Errors []ScanError
	Stats  Stats

	snap *snapshot // with Options.Snapshot
}

// PatternError reports a pattern Expand cannot use.
type PatternError struct {
	Index   int
	Pattern string
	Reason  string
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("deny glob %q: %s", e.Pattern, e.Reason)
}

// Expand finds the existing paths the patterns match. The error is a
// *PatternError for a malformed pattern; scan problems are in
// Result.Errors.
func Expand(patterns []Pattern, opts Options) (*Result, error) {
	start := time.Now()
	c, err := compile(patterns)
	if err != nil {
		return nil, err
	}
	res := &Result{Stats: Stats{Cache: CacheOff, Roots: len(c.roots)}}
	w := newWalker(c, opts, res)
	if opts.CacheDir != "" && len(opts.CacheKey) != cacheKeySize {
		res.Stats.CacheNote = "no cache key: the cache is neither read nor written"
		opts.CacheDir = ""
		w.opts.CacheDir = ""
	}
	w.tree = opts.Snapshot || opts.CacheDir != ""
	w.scanStart = now()
	var trees []*node
	if opts.CacheDir != "" {
		trees = w.expandCached()
	} else {
		trees = w.walkTrees(nil)
	}
	if opts.Snapshot {
		res.snap = &snapshot{c: c, opts: opts, trees: trees, flag: w.revalidateFlag, pending: w.treeReady, releaseGC: w.releaseGC,
			file: w.cacheFile, gen: w.treeGen}
	}
	w.finish()
	res.Stats.Elapsed = time.Since(start)
	return res, nil
}

// finish resolves matched symlinks, sorts, and drops beyond-cap matches
// that a within-cap match already covers.
func (w *walker) finish() {
	res := w.res
	for _, list := range [][]Match{res.Matches, res.BeyondCap} {
		for i := range list {
			if list[i].IsSymlink {
				list[i].LinkTarget, list[i].IsDir = resolveLink(list[i].Path)
			}
		}
	}
	if runtime.GOOS == "windows" {
		for _, list := range [][]Match{res.Matches, res.BeyondCap} {
			for i := range list {
				list[i].Path = filepath.FromSlash(list[i].Path)
			}
		}
	}
	sortMatches(res.Matches)
	if len(res.BeyondCap) > 0 {
		covered := make(map[string]bool, len(res.Matches))
		for _, m := range res.Matches {
			covered[m.Path] = true
		}
		kept := res.BeyondCap[:0]
		for _, m := range res.BeyondCap {
			if !coveredBy(covered, m.Path) {
				kept = append(kept, m)
			}
		}
		res.BeyondCap = kept
		sortMatches(res.BeyondCap)
	}
	sort.Slice(res.Errors, func(i, j int) bool { return res.Errors[i].Path < res.Errors[j].Path })
}

// coveredBy reports whether p or one of its ancestors is in set.
func coveredBy(set map[string]bool, p string) bool {
	sep := "/"
	if runtime.GOOS == "windows" {
		sep = `\`
	}
	for {
		if set[p] {
			return true
		}
		i := strings.LastIndex(p, sep)
		if i <= 0 {
			return false
		}
		p = p[:i]
	}
}

func sortMatches(ms []Match) {
	slices.SortFunc(ms, func(a, b Match) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return cmp.Compare(a.Pattern, b.Pattern)
	})
}

// MaskRoots returns the matches that no other match covers: a match below
// a matched directory is dropped, and a path matched by several patterns
// is kept once (the lowest pattern index). Backends mask exactly these,
// since a mask over a directory already hides everything inside it.
func MaskRoots(ms []Match) []Match {
	sorted := append([]Match(nil), ms...)
	sortMatches(sorted)
	var out []Match
	dirs := map[string]bool{}
	for _, m := range sorted {
		if len(out) > 0 && out[len(out)-1].Path == m.Path {
			continue
		}
		if coveredBy(dirs, parentOf(m.Path)) {
			continue
		}
		out = append(out, m)
		if m.IsDir && !m.IsSymlink {
			dirs[m.Path] = true
		}
	}
	return out
}

func parentOf(p string) string {
	i := strings.LastIndexAny(p, `/\`)
	if i <= 0 {
		return ""
	}
	return p[:i]
}

// resolveLink returns the resolved target of a symlink and whether it is
// a directory. A dangling or looping link yields its lexical target, so
// that a mask can still be placed where a later file would appear.
func resolveLink(p string) (string, bool) {
	if t, err := filepath.EvalSymlinks(p); err == nil {
		fi, err := os.Stat(t)
		return t, err == nil && fi.IsDir()
	}
	t, err := os.Readlink(p)
	if err != nil {
		return "", false
	}
	if !filepath.IsAbs(t) {
		t = filepath.Join(filepath.Dir(p), t)
	}
	return filepath.Clean(t), false
}
