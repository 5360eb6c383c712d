package globwalk

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// A walk is not atomic: a directory renamed while it is listed can be
// missed by getdents (POSIX lets a listing skip an entry that moves), and
// one moved into a directory already listed is never seen. The matches
// of such a walk are a consistent picture of nothing. With
// Options.Snapshot the walk keeps its tree: for every directory it
// listed or reused from the cache, a node with its identity and
// timestamps as stat-ed before the listing (or revalidated), the
// matches it holds and the subdirectories the walk went into: the names
// that matter. Result.Verify, run once the caller has acted on the
// matches, stats each directory again and lists the ones that changed
// (or whose stamps were too recent to prove anything): if a name that
// matters appeared or went, the walk's picture was not the tree's, and
// the caller walks again. A change that matters to no pattern (a
// temporary file in a busy directory) passes. The tree is the cache's
// own (a warm walk keeps the decoded nodes it reused), so a snapshot
// costs no copy of the paths.

// snapshot is a walk's trees, with what it needs to list a directory
// again as the walk did.
type snapshot struct {
	c     *compiled
	opts  Options
	trees []*node
	w     *walker // lists again; made on the first relisting
	// flag is the revalidation flag of a deferred walk's cache (see
	// cache.go), drift the directories Verify listed again to no effect.
	flag  string
	drift int
	// pending, when set, waits for trees (indexed.go): they are not
	// there, or not verified, until it returns nil.
	pending func() error
	// releaseGC, when set, ends the expansion's hold on the collector
	// (gc.go), gcResumeDelay after Verify.
	releaseGC func()
	// file is the cache file of a cached walk, gen the MAC of the tree
	// a deferred walk took from it: what the change feed is asked about
	// (watch.go).
	file string
	gen  []byte
}

// names returns the names that mattered in n (its matches and the
// subdirectories walked into), sorted and without repeats (a matched
// directory may be walked into too).
func (n *node) names() []string {
	names := make([]string, 0, len(n.ms())+len(n.children))
	for _, m := range n.ms() {
		names = append(names, m.name)
	}
	for _, c := range n.children {
		if c != nil {
			names = append(names, c.name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// matters reports whether an entry the automaton just stepped over (w.done
// and child set by stepEntry) matters to the walk: it is a match that
// record keeps, or the walk goes into it.
func (w *walker) matters(dir, name string, depth int, child int32, typ entType) bool {
	if typ == typDir && child != emptySet {
		// The walk never enters /proc or /sys (pseudoFS): neither does
		// the check.
		return !(dir == "/" && pseudoFS[name])
	}
	for _, p := range w.done {
		if !w.dropped(p, depth, dir, name) {
			return true
		}
	}
	return false
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
// *ChangeError, but for a walk planned on the cache's index whose tree
// failed its MAC or its decoding (Verify waits for that tree first):
// then every Verify of the Result fails, with another error.
//
// The stats run on every core, as a warm walk's do (statTrees: each
// directory looked up relative to its open parent); the rare directory
// whose stamps moved is stat-ed again by path, to tell a replacement
// from a change, and listed again here, as the automaton is not safe for
// concurrent use.
func (r *Result) Verify(ignore func(path string) bool) error {
	s := r.snap
	if s == nil {
		return fmt.Errorf("globwalk: Verify needs Options.Snapshot")
	}
	if s.releaseGC != nil {
		defer func() { time.AfterFunc(gcResumeDelay, s.releaseGC) }()
	}
	if s.pending != nil {
		// Kept on failure: every later Verify fails too.
		if err := s.pending(); err != nil {
			return fmt.Errorf("globwalk: the glob cache's tree: %v", err)
		}
		s.pending = nil
	}
	r.Stats.Watch = WatchStats{}
	if !r.askFeed() {
		statTrees(s.c.roots, s.trees)
	}
	var err error
	for i, t := range s.trees {
		if t != nil && t.missing {
			// A root that was missing must still be.
			t.pre = preNone
			if _, e := statPath(s.c.roots[i], true); !isNotExist(e) && err == nil {
				err = &ChangeError{s.c.roots[i], "appeared since the walk"}
			}
		}
		if t != nil && !t.missing {
			buf := append(make([]byte, 0, len(s.c.roots[i])+128), s.c.roots[i]...)
			if e := s.check(i, t, buf, true, ignore); e != nil && err == nil {
				err = e
			}
		}
	}
	if err == nil && s.flag != "" && s.drift > maxDrift {
		// Best effort: without the flag the cache merely stays drifted.
		if f, e := os.OpenFile(s.flag, os.O_CREATE|os.O_WRONLY|syscallNoFollow, 0o600); e == nil {
			f.Close()
		}
	}
	s.drift = 0
	return err
}

// askFeed asks the cache's watcher which directories changed, and marks
// the nodes it vouches for (trustFeed); false when it was not asked or
// did not answer, and the nodes are unmarked.
func (r *Result) askFeed() bool {
	s := r.snap
	if !s.opts.Watch || s.gen == nil || !s.watchSized() {
		// No watcher is started for a small tree (WatchDue).
		return false
	}
	w := &r.Stats.Watch
	dirty, err := askWatcher(watchSocket(s.file), s.gen, s.opts.CacheKey)
	if err != nil {
		w.Note = err.Error()
		return false
	}
	w.Served, w.Dirty = true, len(dirty)
	w.Checked = s.trustFeed(dirty)
	return true
}

// check verifies n, at the path in buf, and its subtree; it clears every
// node's prefetched outcome on the way (a later walk or Verify stats
// again).
func (s *snapshot) check(root int, n *node, buf []byte, isRoot bool, ignore func(string) bool) error {
	pre := n.pre
	n.pre = preNone
	var err error
	if n.errMsg() == "" && (pre != preSame || n.racy) {
		err = s.checkDir(root, n, string(buf), isRoot, ignore)
	}
	l := len(buf)
	for _, c := range n.children {
		if c == nil {
			continue
		}
		buf = appendName(buf[:l], c.name)
		if e := s.check(root, c, buf, false, ignore); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// checkDir tells what happened to a directory whose stat differed (or
// was not taken, or was too recent to prove anything).
func (s *snapshot) checkDir(root int, n *node, path string, isRoot bool, ignore func(string) bool) error {
	st, err := statPath(path, isRoot)
	if err != nil {
		return &ChangeError{path, "gone since the walk (" + errText(err) + ")"}
	}
	if st.dev != n.st.dev || st.ino != n.st.ino {
		return &ChangeError{path, "replaced since the walk"}
	}
	if st == n.st && !n.racy {
		return nil
	}
	names, err := s.list(root, path, isRoot)
	if err != nil {
		return &ChangeError{path, "cannot be listed again (" + errText(err) + ")"}
	}
	if name, ok := sameNames(path, n.names(), names, ignore); !ok {
		return &ChangeError{joinPath(path, name), "appeared or went while the deny globs were expanded"}
	}
	s.drift++
	return nil
}

// list lists the directory at path (below root number root) again and
// returns the names that matter now, sorted. The automaton's state set
// there is found by stepping it from the root down the path, as the
// walk did.
func (s *snapshot) list(root int, path string, isRoot bool) ([]string, error) {
	if s.w == nil {
		s.w = newWalker(s.c, s.opts, &Result{})
	}
	w := s.w
	rp := s.c.roots[root]
	z, _ := w.zoneOf(rp)
	set := w.intern(s.c.initial[root], z)
	depth := 0
	if rel := strings.TrimPrefix(strings.TrimPrefix(path, rp), "/"); rel != "" && len(path) > len(rp) {
		cur := rp
		for _, comp := range strings.Split(rel, "/") {
			depth++
			set = w.stepEntry(set, depth, comp, func() string { return joinPath(cur, comp) })
			cur = joinPath(cur, comp)
		}
	}
	h, err := w.openDir(noHandle, baseName(path), path, isRoot)
	if err != nil {
		return nil, err
	}
	defer closeDir(h)
	var names []string
	err = w.readDir(h, path, func(name string, typ entType, ino uint64) {
		child := w.stepEntry(set, depth+1, name, func() string { return joinPath(path, name) })
		if len(w.done) == 0 && (child == emptySet || typ != typDir && typ != typUnknown) {
			return
		}
		if typ == typUnknown {
			typ = lstatType(h, path, name)
		}
		if w.matters(path, name, depth+1, child, typ) {
			names = append(names, strings.Clone(name))
		}
	})
	slices.Sort(names)
	return names, err
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
