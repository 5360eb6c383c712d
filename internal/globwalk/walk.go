package globwalk

import (
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/bmatcuk/doublestar/v4"
)

// entType is what a directory entry is, from the dirent type byte.
type entType uint8

const (
	typUnknown entType = iota
	typDir
	typLink
	typOther
)

// dirStat identifies a directory and its last change for the cache.
type dirStat struct {
	dev, ino     uint64
	mtime, ctime int64 // nanoseconds since the epoch
}

// stateSet is an interned, sorted set of non-accepting states: where the
// walk stands in every pattern at one directory. Sets repeat (every
// directory under `**` has the same one), so the per-directory plan and
// the default child are computed once per set, not once per directory.
type stateSet struct {
	states []int32
	// testers need a name test (their segment is not "**").
	testers []int32
	testSeg []*seg
	// A name can pass some tester only if its last byte is in lastSet
	// (testers that fix the last byte: "*.env", literals), its first byte
	// in firstSet (testers that fix only the first: "id_rsa*"), or some
	// tester fixes neither (anyTest). Most names fail both lookups, and
	// then fifteen globs cost what one does.
	lastSet, firstSet byteSet
	anyTest           bool
	// slow states test whole paths; they stay, like "**".
	slow []int32
	// defNext is the closed set every entry reaches through "**" states
	// (accepting states removed); defDone are patterns every entry may
	// match through them (a trailing "**"), to be confirmed per entry.
	defNext []int32
	defDone []int32
	// defChild[z][depth] memoizes the child set of an entry that no
	// tester matched, by the entry's zone; -1 means not computed yet.
	defChild [3][]int32
	// zone is the directory's (see zone): the states are the same in
	// every zone, but which caps cut them is not.
	zone zone
}

// emptySet is the id of the empty set: nothing below can match.
const emptySet int32 = 0

// zone says how Options.Regions bear on the entries of one directory, so
// that only directories on a region's boundary look at paths.
type zone uint8

const (
	// zCapped: no uncapped region at or below the directory: every cap
	// applies below it (the only zone without regions).
	zCapped zone = iota
	// zFree: inside an uncapped region, with no capped region below: no
	// cap applies below it.
	zFree
	// zMixed: region boundaries lie below: each entry's own path decides.
	zMixed
)

type walker struct {
	c    *compiled
	opts Options
	res  *Result

	sets   []*stateSet
	setIdx map[string]int32

	// mark and gen deduplicate states while building a set.
	mark []uint32
	gen  uint32
	// donePat marks patterns accepted at the current entry.
	donePat []uint32
	doneGen uint32

	scratch []int32
	done    []int32
	pending []pendingChild
	keyBuf  []byte // intern's lookup key
	segBuf  []byte // seg.match's scratch

	// regions are Options.Regions in slash form; fold is set where paths
	// compare case-insensitively (Windows).
	regions []Region
	fold    bool
	// The entry stepEntry last saw (its directory's set), and its zone
	// once entryZone computed it: childSet and record ask about the same
	// entry. Its path is passed along, never kept: a stored closure would
	// escape to the heap, one allocation per entry.
	entSet  *stateSet
	entOK   bool
	entZone zone
	entIn   bool

	// tree is set when the walk keeps a node per directory: for the
	// cache (caching) or the snapshot Result.Verify checks.
	tree bool
	// pool is the walk's task stack while the walker works on it, and
	// tasks its scratch list of children to push (pool.go).
	pool  *pool
	tasks []task
	// dirState is the platform's directory reading state (dir_linux.go,
	// dir_portable.go).
	dirState

	// cache state
	caching   bool
	scanStart time.Time
	// changed is set when the walk's tree differs from the cache's for
	// the globs; drift counts directories listed again to the same
	// effect (sameListing).
	changed bool
	drift   int
	// revalidateFlag is the flag file Verify leaves when a deferred
	// walk's cache has drifted (cache.go).
	revalidateFlag string
	// treeReady waits for the tree behind an expansion from the cache's
	// index (indexed.go); nil when the tree is there.
	treeReady func() error
	// releaseGC ends a deferred expansion's hold on the collector
	// (gc.go), in Verify.
	releaseGC func()
	// cacheFile is the cache file of a cached walk; treeGen, for a
	// deferred one whose tree came from it, the tree's MAC: the change
	// feed's name for that tree (watch.go).
	cacheFile string
	treeGen   []byte
}

type pendingChild struct {
	name string
	set  int32
}

// node is one listed directory in the cache tree.
type node struct {
	name     string
	st       dirStat
	children []*node
	// x holds the rare fields (nil: no match, no error), so that a
	// node is 88 bytes, not 120: a warm launch decodes one per cached
	// directory into fresh memory.
	x       *nodeExtra
	racy    bool
	missing bool // a walk root that did not exist
	// cached: decoded from the cache file, stamps as the file has them
	// (a directory listed again gets a new node). The change feed
	// vouches only for such nodes (watch.go).
	cached bool

	// pre is set by prefetch for a warm run, not stored: the outcome of
	// the directory's stat taken ahead of time, in parallel. Only the
	// outcome is kept, so that a decoded node stays small (a warm run
	// decodes one per directory).
	pre preState
}

// preState is the outcome of a prefetched stat.
type preState uint8

const (
	preNone    preState = iota // not prefetched: revalidate stats it
	preSame                    // same identity and timestamps as cached
	preChanged                 // changed, or the stat failed
	preGone                    // not there, or no longer a directory
)

// setPre records the outcome of stat-ing n.
func (n *node) setPre(st dirStat, err error) {
	switch {
	case err != nil && isNotExist(err):
		n.pre = preGone
	case err != nil || st != n.st:
		n.pre = preChanged
	default:
		n.pre = preSame
	}
}

// nodeExtra is what few directories have: matches, or the error that
// kept the walk from listing them.
type nodeExtra struct {
	err     string
	matches []nodeMatch
}

// errMsg is the error that kept the walk from listing n ("" if none).
func (n *node) errMsg() string {
	if n.x == nil {
		return ""
	}
	return n.x.err
}

// ms are n's matches.
func (n *node) ms() []nodeMatch {
	if n.x == nil {
		return nil
	}
	return n.x.matches
}

// extra is n.x, made when missing.
func (n *node) extra() *nodeExtra {
	if n.x == nil {
		n.x = &nodeExtra{}
	}
	return n.x
}

// addCached adds m, a match the cache kept, found at path: to
// BeyondCap when it lies past its glob's scan depth, else to Matches.
func (r *Result) addCached(m nodeMatch, path string) {
	mm := Match{Path: path, Pattern: int(m.pat), Depth: int(m.depth), IsDir: m.typ == typDir, IsSymlink: m.typ == typLink, Dev: m.dev, Ino: m.ino}
	if m.beyond {
		r.BeyondCap = append(r.BeyondCap, mm)
	} else {
		r.Matches = append(r.Matches, mm)
	}
}

type nodeMatch struct {
	name     string
	pat      int32
	depth    int32
	typ      entType
	beyond   bool
	dev, ino uint64
}

func newWalker(c *compiled, opts Options, res *Result) *walker {
	w := &walker{c: c, opts: opts, res: res, setIdx: map[string]int32{},
		mark: make([]uint32, len(c.statePat)), donePat: make([]uint32, len(c.pats))}
	w.fold = runtime.GOOS == "windows"
	for _, r := range opts.Regions {
		p := filepath.ToSlash(filepath.Clean(r.Path))
		if w.fold {
			p = strings.ToLower(p)
		}
		w.regions = append(w.regions, Region{Path: p, Uncapped: r.Uncapped})
	}
	w.intern(nil, zCapped) // id 0: the empty set
	return w
}

// zoneOf is the zone of the directory (or entry) at path p, and whether
// p itself lies in an uncapped region.
func (w *walker) zoneOf(p string) (zone, bool) {
	if len(w.regions) == 0 {
		return zCapped, false
	}
	if w.fold {
		p = strings.ToLower(p)
	}
	best := -1
	for i, r := range w.regions {
		// Both are prefixes of p: the longer one is the deeper.
		if hasPrefix(p, r.Path) && (best < 0 || len(r.Path) >= len(w.regions[best].Path)) {
			best = i
		}
	}
	inside := best >= 0 && w.regions[best].Uncapped
	for _, r := range w.regions {
		if r.Uncapped != inside && r.Path != p && hasPrefix(r.Path, p) {
			return zMixed, inside
		}
	}
	if inside {
		return zFree, true
	}
	return zCapped, false
}

// entryZone is the zone of the entry stepEntry is at (as a directory),
// and whether the entry lies in an uncapped region; it looks at the
// entry's path (fullPath) only below a zMixed directory.
func (w *walker) entryZone(fullPath func() string) (zone, bool) {
	switch z := w.entSet.zone; {
	case z != zMixed:
		return z, z == zFree
	case !w.entOK:
		w.entZone, w.entIn = w.zoneOf(fullPath())
		w.entOK = true
	}
	return w.entZone, w.entIn
}

// intern returns the id of the set with these (sorted) states in zone z.
func (w *walker) intern(states []int32, z zone) int32 {
	if len(states) == 0 && len(w.sets) > 0 {
		return emptySet
	}
	// The key is the states' bytes (4 each) and the zone's byte.
	w.keyBuf = w.keyBuf[:0]
	if len(states) > 0 {
		w.keyBuf = append(w.keyBuf, unsafe.String((*byte)(unsafe.Pointer(&states[0])), len(states)*4)...)
	}
	w.keyBuf = append(w.keyBuf, byte(z))
	if id, ok := w.setIdx[string(w.keyBuf)]; ok {
		return id
	}
	st := &stateSet{states: append([]int32(nil), states...), zone: z}
	key := string(w.keyBuf)
	c := w.c
	w.gen++
	var nextRaw []int32
	for _, s := range st.states {
		p := &c.pats[c.statePat[s]]
		g := &p.segs[c.statePos[s]]
		switch g.kind {
		case segGlobstar, segSlow:
			if g.kind == segSlow {
				st.slow = append(st.slow, s)
			}
			// The state stays for every entry; its closure is reached too.
			for _, t := range c.closure[s] {
				if w.mark[t] != w.gen {
					w.mark[t] = w.gen
					nextRaw = append(nextRaw, t)
				}
			}
		default:
			st.testers = append(st.testers, s)
			st.testSeg = append(st.testSeg, g)
			first, last := g.fixedEnds()
			switch {
			case last >= 0:
				st.lastSet.add(byte(last))
			case first >= 0:
				st.firstSet.add(byte(first))
			default:
				st.anyTest = true
			}
		}
	}
	for _, t := range nextRaw {
		if c.zero[t] {
			st.defDone = append(st.defDone, c.statePat[t])
		}
		if !c.accepting(t) {
			st.defNext = append(st.defNext, t)
		}
	}
	sortInt32(st.defNext)
	id := int32(len(w.sets))
	w.sets = append(w.sets, st)
	w.setIdx[key] = id
	return id
}

// stepEntry moves the automaton over one entry named name at depth
// (components below the walk root). It leaves the patterns the entry
// matches (confirmed by doublestar.Match) in w.done and returns the child set: the states from which a
// path below the entry could still match. This is the "could a path under
// this directory still match" test that pruning needs: doublestar.Match on
// a partial path cannot answer it (it says whether the prefix matches the
// whole pattern, not whether it can be extended to a match), while the
// automaton knows exactly which segment each pattern would need next.
//
// fullPath is called only for patterns that need whole-path matching.
func (w *walker) stepEntry(setID int32, depth int, name string, fullPath func() string) int32 {
	st := w.sets[setID]
	c := w.c
	w.done = w.done[:0]
	w.entSet, w.entOK = st, false
	hit := false
	testers := st.testers
	if !st.anyTest && len(name) > 0 && !st.lastSet.has(name[len(name)-1]) && !st.firstSet.has(name[0]) {
		testers = nil
	}
	for i, s := range testers {
		if st.testSeg[i].match(name, &w.segBuf) {
			if !hit {
				hit = true
				w.gen++
				w.scratch = w.scratch[:0]
				for _, t := range st.defNext {
					w.mark[t] = w.gen
					w.scratch = append(w.scratch, t)
				}
			}
			for _, t := range c.closure[s+1] {
				if w.mark[t] == w.gen {
					continue
				}
				w.mark[t] = w.gen
				if c.zero[t] {
					w.done = append(w.done, c.statePat[t])
				}
				if !c.accepting(t) {
					w.scratch = append(w.scratch, t)
				}
			}
		}
	}
	slowHit := false
	if len(st.slow) > 0 {
		full := fullPath()
		for _, s := range st.slow {
			p := c.statePat[s]
			if ok, _ := doublestar.Match(c.pats[p].full, full); ok {
				w.done = append(w.done, p)
				slowHit = true
			}
		}
	}
	w.done = append(w.done, st.defDone...)
	w.dropShallowDone(depth, fullPath)
	if !hit && !slowHit && len(st.defDone) == 0 {
		return w.defaultChild(st, depth, fullPath)
	}
	if !hit {
		w.gen++
		w.scratch = append(w.scratch[:0], st.defNext...)
	}
	return w.childSet(w.scratch, depth, fullPath)
}

// dropShallowDone removes acceptances at or above a pattern's Base (a
// nested Base itself, or "**" accepting its own Base): a pattern matches
// only entries below its Base.
//
// It also confirms each acceptance with doublestar.Match on the whole
// path, so that a match is exactly what ir.Decide calls one, quirks
// included (doublestar does not let "a*/**" match "a" itself, while the
// automaton would). Acceptances are rare, so this costs little; a
// rejected one simply leaves the pattern's states alive below the entry.
func (w *walker) dropShallowDone(depth int, fullPath func() string) {
	kept := w.done[:0]
	w.doneGen++
	full := ""
	for _, p := range w.done {
		cp := &w.c.pats[p]
		if depth-cp.baseDepth < 1 || w.donePat[p] == w.doneGen {
			continue
		}
		if cp.segs[len(cp.segs)-1].kind != segSlow {
			if full == "" {
				full = fullPath()
			}
			if ok, _ := doublestar.Match(cp.full, full); !ok {
				continue
			}
		}
		w.donePat[p] = w.doneGen
		kept = append(kept, p)
	}
	w.done = kept
}

// defaultChild is childSet for an entry no tester matched (no pattern is
// done there), memoized by depth and the entry's zone.
func (w *walker) defaultChild(st *stateSet, depth int, fullPath func() string) int32 {
	z, _ := w.entryZone(fullPath)
	memo := &st.defChild[z]
	for len(*memo) <= depth {
		*memo = append(*memo, -1)
	}
	if id := (*memo)[depth]; id >= 0 {
		return id
	}
	w.scratch = append(w.scratch[:0], st.defNext...)
	id := w.childSet(w.scratch, depth, fullPath)
	st.defChild[z][depth] = id
	return id
}

// childSet filters candidate states for the entry stepEntry is at (at
// depth) and interns them in the entry's zone. A pattern that matched the
// entry stops there (a matched directory is masked whole) unless the
// match is beyond the cap outside every uncapped region and an uncapped
// region lies below: there a deeper match counts. A pattern whose cap
// the entry reaches stops unless beyond-cap matches are reported or an
// uncapped region is at or below the entry. w.donePat must hold this
// entry's matches.
func (w *walker) childSet(cand []int32, depth int, fullPath func() string) int32 {
	c := w.c
	kept := cand[:0]
	for _, s := range cand {
		p := c.statePat[s]
		cp := &c.pats[p]
		rel := depth - cp.baseDepth
		if w.donePat[p] == w.doneGen {
			if cp.maxDepth == 0 || rel <= cp.maxDepth {
				continue
			}
			if z, in := w.entryZone(fullPath); in || z != zMixed {
				continue
			}
		}
		if cp.maxDepth > 0 && !w.opts.ReportBeyondCap && rel >= cp.maxDepth {
			if z, _ := w.entryZone(fullPath); z == zCapped {
				continue
			}
		}
		kept = append(kept, s)
	}
	if len(kept) == 0 {
		return emptySet
	}
	sortInt32(kept)
	z, _ := w.entryZone(fullPath)
	return w.intern(kept, z)
}

// listing is the directory visit is reading, for its matches' identity:
// its device is known when caching, else taken from one stat on its
// first match.
type listing struct {
	h       dirHandle
	path    string
	dev     uint64
	haveDev bool
}

// record turns w.done into matches for the entry; ino is its dirent's
// inode (0 where the listing has none).
func (w *walker) record(dir, name string, depth int, typ entType, n *node, l *listing, ino uint64) {
	var dev uint64
	if len(w.done) > 0 {
		if !l.haveDev {
			l.dev, l.haveDev = handleDev(l.h, l.path), true
		}
		dev, ino = entryID(l.h, l.path, name, typ, l.dev, ino)
	}
	for _, p := range w.done {
		cp := &w.c.pats[p]
		rel := depth - cp.baseDepth
		beyond := w.beyond(p, depth, dir, name)
		if beyond && !w.opts.ReportBeyondCap {
			continue
		}
		m := Match{Path: joinPath(dir, name), Pattern: int(p), Depth: rel, IsDir: typ == typDir, IsSymlink: typ == typLink, Dev: dev, Ino: ino}
		if beyond {
			w.res.BeyondCap = append(w.res.BeyondCap, m)
		} else {
			w.res.Matches = append(w.res.Matches, m)
		}
		if n != nil {
			x := n.extra()
			x.matches = append(x.matches, nodeMatch{name: m.Path[len(m.Path)-len(name):], pat: p, depth: int32(rel), typ: typ, beyond: beyond, dev: dev, ino: ino})
		}
	}
}

// beyond reports whether pattern p's match at the entry stepEntry is at
// (dir/name, at depth) lies beyond the pattern's cap outside every
// uncapped region: where the sandbox can write, a match is a match at
// any depth.
func (w *walker) beyond(p int32, depth int, dir, name string) bool {
	cp := &w.c.pats[p]
	if cp.maxDepth == 0 || depth-cp.baseDepth <= cp.maxDepth {
		return false
	}
	_, in := w.entryZone(func() string { return joinPath(dir, name) })
	return !in
}

// dropped reports whether record leaves pattern p's match at the entry
// out of the result.
func (w *walker) dropped(p int32, depth int, dir, name string) bool {
	return !w.opts.ReportBeyondCap && w.beyond(p, depth, dir, name)
}

func joinPath(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// visit lists one directory and pushes a task for each child that can
// still match. parent is the open parent directory (noHandle: open by
// path); root directories follow a symlink, every other directory is
// opened without following one, so a swapped-in link is not entered.
// old is the directory's cached node, whose children are revalidated
// rather than listed.
func (w *walker) visit(parent dirHandle, path string, setID int32, depth int, old *node, isRoot bool) *node {
	var n *node
	if w.tree {
		n = &node{name: baseName(path)}
	}
	h, err := w.openDir(parent, baseName(path), path, isRoot)
	if err != nil {
		if isRoot && isNotExist(err) {
			if n != nil {
				n.missing = true
			}
			w.changed = true
			return n
		}
		w.scanError(path, err, n, old)
		return n
	}
	if n != nil {
		// Stat-ed before the listing: a change during it moves the stamps.
		n.st, err = w.statHandle(h, path)
		if err != nil {
			closeDir(h)
			w.scanError(path, err, n, old)
			return n
		}
		n.racy = w.isRacy(n.st)
	}
	w.res.Stats.DirsRead++
	start := len(w.pending)
	l := listing{h: h, path: path}
	if n != nil {
		l.dev, l.haveDev = n.st.dev, true
	}
	err = w.readDir(h, path, func(name string, typ entType, ino uint64) {
		w.res.Stats.Entries++
		child := w.stepEntry(setID, depth+1, name, func() string { return joinPath(path, name) })
		if len(w.done) == 0 && (child == emptySet || typ != typDir && typ != typUnknown) {
			return
		}
		if typ == typUnknown {
			typ = lstatType(h, path, name)
		}
		name = strings.Clone(name) // name points into the read buffer
		w.record(path, name, depth+1, typ, n, &l, ino)
		if typ == typDir && child != emptySet && !(path == "/" && pseudoFS[name]) {
			w.pending = append(w.pending, pendingChild{name: name, set: child})
		}
	})
	if err != nil {
		w.pending = w.pending[:start]
		closeDir(h)
		w.scanError(path, err, n, old)
		return n
	}
	kids := w.pending[start:]
	w.pending = w.pending[:start]
	if w.caching {
		// A directory cached racy that is settled now is worth saving:
		// it is then reused, not listed again at every launch.
		if old != nil && old.errMsg() == "" && (!old.racy || n.racy) && sameListing(old, n, kids) {
			w.drift++
		} else {
			w.changed = true
		}
	}
	if len(kids) == 0 {
		closeDir(h)
		return n
	}
	if n != nil {
		n.children = make([]*node, len(kids))
	}
	// Keep the directory open while its children are opened (openat is
	// cheaper than a path lookup and cannot be redirected by a renamed
	// ancestor), unless the walk is deep enough to run short of fds.
	var ref *dirRef
	if depth < maxOpenDepth {
		ref = &dirRef{h: h}
		ref.refs.Store(int32(len(kids)))
	} else {
		closeDir(h)
	}
	ts := w.tasks[:0]
	var byName map[string]*node
	if old != nil && len(old.children) > 16 {
		// A wide directory listed again: one map, not a scan per child.
		byName = make(map[string]*node, len(old.children))
		for _, c := range old.children {
			if c != nil {
				byName[c.name] = c
			}
		}
	}
	for i, ch := range kids {
		var oc *node
		if byName != nil {
			oc = byName[ch.name]
		} else if old != nil {
			oc = old.child(ch.name)
		}
		t := task{parent: ref, path: joinPath(path, ch.name), set: w.sets[ch.set], depth: depth + 1, old: oc}
		if n != nil {
			t.slot = &n.children[i]
		}
		ts = append(ts, t)
	}
	w.pool.push(ts)
	clear(ts)
	w.tasks = ts[:0]
	return n
}

// pseudoFS are the kernel's pseudo-filesystems under / that a walk never
// descends into: their files are no one's secrets, they change between
// any two listings, and some block or fail when read (/proc/1/fdinfo of
// a process one may not trace). A pattern based inside one (/proc/...)
// still walks it.
var pseudoFS = map[string]bool{"proc": true, "sys": true}

// maxOpenDepth bounds how many directory fds one walk keeps open.
const maxOpenDepth = 128

func (w *walker) scanError(path string, err error, n, old *node) {
	msg := errText(err)
	w.res.Errors = append(w.res.Errors, ScanError{Path: path, Err: msg})
	if n != nil {
		n.extra().err = msg
	}
	if n == nil || old == nil || old.errMsg() != n.errMsg() || old.st != n.st {
		w.changed = true
	}
}

// sameListing reports whether a directory listed again (n, whose
// children are kids) holds what its cached node old held: the same
// matches, entry for entry, and the same subdirectories walked into.
// Only its stamps moved (a file no glob cares about came or went), so
// the cache need not be rewritten for it: it is merely listed again
// next time (see maxDrift).
func sameListing(old, n *node, kids []pendingChild) bool {
	if len(old.ms()) != len(n.ms()) || len(old.children) != len(kids) {
		return false
	}
	for _, m := range n.ms() {
		if !slices.Contains(old.ms(), m) {
			return false
		}
	}
	if len(kids) == 0 {
		return true
	}
	names := make(map[string]bool, len(kids))
	for _, k := range kids {
		names[k.name] = true
	}
	for _, c := range old.children {
		if c == nil || !names[c.name] {
			return false
		}
	}
	return true
}

// maxDrift is how many directories a cached walk may list again with
// nothing changed for the globs (sameListing) before the cache is
// rewritten with their new stamps: listing a few again costs less than
// encoding and writing a large cache on every launch (which is what the
// mount points a launch makes in the project root would otherwise
// cause).
const maxDrift = 32

// child finds a cached child by name (children are in listing order, so
// a map would cost more than it saves for typical fan-outs).
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c != nil && c.name == name {
			return c
		}
	}
	return nil
}

func baseName(p string) string {
	if i := strings.LastIndexByte(strings.TrimSuffix(p, "/"), '/'); i >= 0 && p != "/" {
		return strings.TrimSuffix(p[i+1:], "/")
	}
	return p
}

func sortInt32(s []int32) {
	// insertion sort: sets are small
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// revalidate reuses a cached directory when its identity and timestamps
// are unchanged, and lists it again otherwise.
func (w *walker) revalidate(parent dirHandle, path string, setID int32, depth int, old *node, isRoot bool) *node {
	buf := make([]byte, len(path), len(path)+128)
	copy(buf, path)
	return w.revalidateAt(parent, buf, setID, depth, old, isRoot)
}

// revalidateAt is revalidate with the path in buf. The subtree's paths are
// built in buf's backing array, one component per level as a stack, and
// become strings only where one is kept (a match) or a whole path is
// needed: a warm run visits every cached directory, and a string per
// directory was a tenth of its allocations.
func (w *walker) revalidateAt(parent dirHandle, buf []byte, setID int32, depth int, old *node, isRoot bool) *node {
	if old.pre == preNone {
		old.setPre(statDir(parent, string(buf), isRoot))
	}
	pre := old.pre
	old.pre = preNone // a later run on this tree stats again
	if old.missing {
		if pre == preGone {
			return old
		}
		w.changed = true
		return w.visit(parent, string(buf), setID, depth, nil, isRoot)
	}
	if pre != preSame || old.racy || old.errMsg() != "" {
		return w.visit(parent, string(buf), setID, depth, old, isRoot)
	}
	w.res.Stats.DirsReused++
	n := len(buf)
	for _, m := range old.ms() {
		buf = appendName(buf[:n], m.name)
		w.res.addCached(m, string(buf))
	}
	kept := old.children[:0]
	for _, c := range old.children {
		cbuf := appendName(buf[:n], c.name)
		buf = cbuf[:n] // keep a grown array for the next child
		cs := w.stepEntry(setID, depth+1, c.name, func() string { return string(cbuf) })
		if cs == emptySet { // cannot happen for the same key; stay exact anyway
			w.changed = true
			continue
		}
		if cn := w.revalidateAt(noHandle, cbuf, cs, depth+1, c, false); cn != nil {
			kept = append(kept, cn)
		}
	}
	old.children = kept
	return old
}

// appendName appends /name to a directory path, as joinPath does.
func appendName(dir []byte, name string) []byte {
	if len(dir) == 0 || dir[len(dir)-1] != '/' {
		dir = append(dir, '/')
	}
	return append(dir, name...)
}

// now is the clock racy checks use; tests move it.
var now = time.Now

// isRacy reports whether a directory changed so close to the scan's start
// that a later change could leave its timestamps equal: file systems
// stamp with a coarse clock (a kernel tick with nanosecond fields, whole
// seconds on some), so a stamp within one tick of the scan proves nothing.
func (w *walker) isRacy(st dirStat) bool {
	t := max(st.mtime, st.ctime)
	window := int64(20 * time.Millisecond)
	if st.mtime%int64(time.Second) == 0 && st.ctime%int64(time.Second) == 0 {
		window = int64(3 * time.Second)
	}
	return t >= w.scanStart.UnixNano()-window
}

type byteSet [4]uint64

func (b *byteSet) add(c byte)      { b[c>>6] |= 1 << (c & 63) }
func (b *byteSet) has(c byte) bool { return b[c>>6]&(1<<(c&63)) != 0 }

// countUpTo counts the nodes of trees, stopping at limit.
func countUpTo(trees []*node, limit int) int {
	n := 0
	var walk func(t *node)
	walk = func(t *node) {
		if t == nil || n >= limit {
			return
		}
		n++
		for _, c := range t.children {
			walk(c)
		}
	}
	for _, t := range trees {
		walk(t)
	}
	return n
}
