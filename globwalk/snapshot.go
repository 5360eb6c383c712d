package globwalk

import (
	"runtime"

	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
)

// A walk is not atomic: a directory renamed while it is listed can be
// missed by getdents (POSIX lets a listing skip an entry that moves), and
// one moved into a directory already listed is never seen. The matches
// of such a walk are a consistent picture of nothing. With
// Options.Snapshot the walk keeps, for every directory it listed or
// reused from the cache, its identity and timestamps as stat-ed before
// the listing, and the names of the entries that mattered (those that
// matched a pattern or were walked into). Result.Verify, run once the
// caller has acted on the matches, stats each directory again and lists
// the ones that changed (or whose stamps were too recent to prove
// anything): if a name that matters appeared or went, the walk's picture
// was not the tree's, and the caller walks again. A change that matters
// to no pattern (a temporary file in a busy directory) passes.

// dirSnap is what the walk saw of one directory.
type dirSnap struct {
	path  string
	root  bool // a walk root: stat-ed following a symlink, as it was opened
	st    dirStat
	racy  bool
	set   int32 // the automaton's state set at the directory
	depth int
	// names are the entries that mattered, sorted.
	names []string
}

// snapshot is a walk's dirSnaps, with the walker whose automaton they
// refer to.
type snapshot struct {
	w     *walker
	dirs  []dirSnap
	names []string // scratch: the current listing's names that matter
}

// snap records the directory visit or revalidate is at; names may
// repeat (a matched directory walked into).
func (w *walker) snap(path string, root bool, st dirStat, racy bool, set int32, depth int, names []string) {
	slices.Sort(names)
	names = slices.Compact(names)
	w.snaps.dirs = append(w.snaps.dirs, dirSnap{path: path, root: root, st: st, racy: racy, set: set, depth: depth, names: names})
}

// matters reports whether an entry the automaton just stepped over (w.done
// and child set by stepEntry) matters to the walk: it matched, or the
// walk goes into it.
func (w *walker) matters(child int32, typ entType) bool {
	return len(w.done) > 0 || typ == typDir && child != emptySet
}

// ChangeError says where the tree changed in a way that matters to the
// patterns since the walk.
type ChangeError struct {
	Path string
	Why  string
}

func (e *ChangeError) Error() string { return e.Path + ": " + e.Why }

// Verify checks that no directory the walk saw has changed since, in a
// way that matters to the patterns: the walk's matches are then still
// the tree's (files created since excepted). ignore, when set, names
// paths whose appearance or disappearance does not count (mount points
// the caller made itself). It needs Options.Snapshot; the error is a
// *ChangeError.
func (r *Result) Verify(ignore func(path string) bool) error {
	s := r.snap
	if s == nil {
		return fmt.Errorf("globwalk: Verify needs Options.Snapshot")
	}
	// The stats run on every core (a large tree has tens of thousands of
	// directories: one statx each); listing again, rare, runs here, as
	// the automaton is not safe for concurrent use.
	relist := make([]bool, len(s.dirs))
	var g errgroup.Group
	g.SetLimit(verifyWorkers)
	for lo := 0; lo < len(s.dirs); lo += verifyChunk {
		hi := min(lo+verifyChunk, len(s.dirs))
		g.Go(func() error {
			for i := lo; i < hi; i++ {
				d := &s.dirs[i]
				st, err := statPath(d.path, d.root)
				if err != nil {
					return &ChangeError{d.path, "gone since the walk (" + errText(err) + ")"}
				}
				if st.dev != d.st.dev || st.ino != d.st.ino {
					return &ChangeError{d.path, "replaced since the walk"}
				}
				relist[i] = st != d.st || d.racy
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i := range s.dirs {
		if !relist[i] {
			continue
		}
		d := &s.dirs[i]
		names, err := s.list(d)
		if err != nil {
			return &ChangeError{d.path, "cannot be listed again (" + errText(err) + ")"}
		}
		if name, ok := sameNames(d.path, d.names, names, ignore); !ok {
			return &ChangeError{joinPath(d.path, name), "appeared or went while the deny globs were expanded"}
		}
	}
	return nil
}

// Verify's stats run in chunks of verifyChunk directories on at most
// verifyWorkers goroutines.
const verifyChunk = 512

var verifyWorkers = max(2, runtime.NumCPU())

// list lists d again and returns the names that matter now, sorted.
func (s *snapshot) list(d *dirSnap) ([]string, error) {
	w := s.w
	h, err := openDir(noHandle, baseName(d.path), d.path, d.root)
	if err != nil {
		return nil, err
	}
	defer closeDir(h)
	s.names = s.names[:0]
	err = w.readDir(h, d.path, func(name string, typ entType, ino uint64) {
		child := w.stepEntry(d.set, d.depth+1, name, func() string { return joinPath(d.path, name) })
		if len(w.done) == 0 && (child == emptySet || typ != typDir && typ != typUnknown) {
			return
		}
		if typ == typUnknown {
			typ = lstatType(h, d.path, name)
		}
		if w.matters(child, typ) {
			s.names = append(s.names, strings.Clone(name))
		}
	})
	slices.Sort(s.names)
	return s.names, err
}

// sameNames compares two sorted name lists of directory dir, leaving out
// the names ignore skips; when they differ, name is one in only one.
func sameNames(dir string, a, b []string, ignore func(string) bool) (name string, same bool) {
	keep := func(l []string) []string {
		if ignore == nil {
			return l
		}
		var out []string
		for _, n := range l {
			if !ignore(joinPath(dir, n)) {
				out = append(out, n)
			}
		}
		return out
	}
	a, b = keep(a), keep(b)
	for i := 0; i < len(a) || i < len(b); i++ {
		switch {
		case i == len(a):
			return b[i], false
		case i == len(b), a[i] < b[i]:
			return a[i], false
		case a[i] > b[i]:
			return b[i], false
		}
	}
	return "", true
}
