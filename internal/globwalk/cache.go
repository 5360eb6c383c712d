package globwalk

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"polc/internal/statekey"
)

// Cache file layout (all integers little-endian or uvarint):
//
//	magic "POLCGLB\n" | version u32 | key [32] | index length u32 |
//	index mac [32] | tree mac [32] | index | tree
//	index: nodes, child slots, matches (the tree's totals), clean byte,
//	       nroots, then per root: path, present byte, and if present
//	       the root's node without its subtree (its fields, matches and
//	       the names of its children), the number of directories
//	       below its children, and the matches below the root
//	       (path relative to the root, pattern, depth, type, beyond,
//	       dev, ino)
//	tree:  nroots, then per root: path, present byte, node
//	node:  name, dev, ino, mtime, ctime, flags, err, nmatches,
//	       matches (name, pattern, depth, type, beyond, dev, ino),
//	       nchildren, children; dev, mtime and ctime relative to the
//	       parent's dev, the parent's mtime and the node's own mtime
//	       (see appendFields)
//
// The key hashes everything the result depends on besides the tree: the
// patterns, bases, caps, scan roots, ReportBeyondCap, the regions and
// the format version. The index mac is HMAC-SHA256 under
// Options.CacheKey of the fixed header and the index; the tree mac of
// the index mac and the tree: a file polc did not write under this
// user's key, or wrote for other patterns or roots, is never used.
//
// The index is what a deferred launch plans with (see expandIndexed):
// its matches, without the tree, which is decoded while the sandbox is
// set up and is checked and decoded whole before Verify uses it. clean
// says that no directory below a root is racy or unreadable, so that
// the matches are all a deferred walk would take from the tree.
//
// Version 2: the MAC (was a plain SHA-256, which anyone able to write
// the file could recompute), the roots in the key, matches' dev and ino.
// Version 3: the index ahead of the tree, and a MAC for each.
const cacheVersion = 3

// cacheKeySize is the length Options.CacheKey must have.
const cacheKeySize = statekey.Size

// cacheDomain separates the cache's MACs from those of polc's other
// state made under the same key.
const cacheDomain = "polc globwalk cache"

var cacheMagic = []byte("POLCGLB\n")

// Offsets in the fixed header.
const (
	offVersion  = 8
	offKey      = 12
	offIndexLen = 44
	offIndexMAC = 48
	offTreeMAC  = 80
	headerLen   = 112
)

// maxCacheFile bounds what a load reads: a larger file is not ours.
const maxCacheFile = 256 << 20

func cacheKey(patterns []cpat, roots []string, opts Options) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "globwalk v%d %s beyond=%t\n", cacheVersion, runtime.GOOS, opts.ReportBeyondCap)
	for _, p := range patterns {
		fmt.Fprintf(h, "%q %q %d\n", p.full, p.base, p.maxDepth)
	}
	for _, r := range roots {
		fmt.Fprintf(h, "root %q\n", r)
	}
	for _, r := range opts.Regions {
		fmt.Fprintf(h, "region %q %t\n", r.Path, r.Uncapped)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func cacheFile(dir string, key [32]byte) string {
	return filepath.Join(dir, "globwalk-"+hex.EncodeToString(key[:16])+".cache")
}

// expandCached runs the walk against the cache in Options.CacheDir and
// saves the new tree when anything was listed; it returns the trees.
func (w *walker) expandCached() []*node {
	c, st := w.c, &w.res.Stats
	key := cacheKey(c.pats, c.roots, w.opts)
	dir, err := cacheDirReal(w.opts.CacheDir)
	if err != nil {
		// Nowhere trustworthy to keep it: walk without a cache.
		st.Cache, st.CacheNote = CacheCorrupt, fmt.Sprintf("cache directory %s not used: %v", w.opts.CacheDir, err)
		return w.walkTrees(nil)
	}
	file := cacheFile(dir, key)
	mac := w.opts.CacheKey
	w.caching, w.cacheFile = true, file
	flag := file + ".revalidate"
	_, ferr := os.Lstat(flag)
	deferred := ferr != nil && w.opts.DeferRevalidation && w.opts.Snapshot && firstExpansion(file)
	r, err := openCache(file)
	var idx *cacheIndex
	if err == nil {
		// r is closed once read (r.tree), here or on the goroutine
		// expandIndexed starts.
		if idx, err = r.index(key, mac, c.roots); err != nil {
			r.close()
		}
	}
	if deferred {
		st.Deferred, w.revalidateFlag = true, flag
		w.releaseGC = holdGC()
		if err == nil && idx.clean {
			if trees := w.expandIndexed(r, idx, mac); trees != nil {
				w.treeGen = idx.treeMAC
				return trees
			}
		}
	}
	var hook decodeHook
	wait := func([]*node) {}
	if deferred {
		hook = trustCached{}
	} else if err == nil {
		hook, wait = w.startPrefetch()
	}
	var old []*node
	if err == nil {
		old, err = r.tree(idx, mac, c.roots, hook)
	}
	wait(old)
	if deferred && old != nil {
		w.treeGen = idx.treeMAC
	}
	switch {
	case err == nil:
	case errors.Is(err, os.ErrNotExist):
		st.Cache = CacheMiss
	default:
		st.Cache, st.CacheNote = CacheCorrupt, err.Error()
	}
	if old != nil {
		for i := range c.roots {
			if old[i] == nil {
				w.changed = true
			}
		}
	}
	trees := w.walkTrees(old)
	if old != nil {
		st.Cache = CacheHit
		if w.changed || st.DirsRead > 0 {
			st.Cache = CacheStale
		}
	}
	if old == nil || w.changed || w.drift > maxDrift {
		if err := saveCache(dir, file, key, mac, c.roots, trees); err != nil {
			st.CacheNote = "cache not saved: " + err.Error()
		} else if !st.Deferred {
			os.Remove(flag)
		}
	}
	return trees
}

// A deferred walk cannot refresh the cache: Verify lists the
// directories whose stamps moved, and when more than maxDrift did (the
// project's files were edited since the cache was written), it leaves a
// flag file beside the cache, FILE.revalidate, so that the next launch
// revalidates first and rewrites the cache (then removes the flag)
// instead of every launch listing them again. The flag only turns
// deferral off; a forged or missing one costs time, never a mask.

// expanded holds the cache files expanded in this process so far: only
// the first expansion of one defers its revalidation to Verify.
var expanded sync.Map

func firstExpansion(file string) bool {
	_, again := expanded.LoadOrStore(file, true)
	return !again
}

// trustCached is the decode hook of a deferred revalidation: every
// cached directory below a root is taken as unchanged (the roots are
// stat-ed by revalidate as usual). Result.Verify stats them all.
type trustCached struct{}

func (trustCached) root(string) any { return nil }

func (trustCached) enter(n *node, depth, nkids int, parent any) any {
	if depth > 0 {
		n.pre = preSame
	}
	return nil
}

func (trustCached) leave(*node, int, any, any, bool) {}

// cacheReader reads one cache file: its header and index first, the
// tree when it is needed (a deferred launch plans on the index while
// the tree is read and decoded on another goroutine). Each goes into a
// buffer of its own: the index into a small one, the tree into one the
// kernel may back with huge pages (largeSlice).
type cacheReader struct {
	f    *os.File
	name string
	size int64 // at open
	// head is the header and the index, once read.
	head []byte
}

// openCache opens a cache file for reading. It is opened without
// following a symlink anywhere on its path (file is under the resolved
// cache directory) and must be what it claims (see trustedCacheFile)
// before it is read. A missing file is the open's error as is.
func openCache(file string) (*cacheReader, error) {
	f, err := openNoFollow(file)
	if err != nil {
		return nil, err
	}
	if err := trustedCacheFile(f, file); err != nil {
		f.Close()
		return nil, fmt.Errorf("cache %s not trusted: %v", file, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() > maxCacheFile {
		err = errors.New("too large")
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cache %s: %v", file, err)
	}
	return &cacheReader{f: f, name: file, size: fi.Size()}, nil
}

// close closes the file (again: nothing).
func (r *cacheReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// index reads the header and the index, then checks and decodes them.
func (r *cacheReader) index(key [32]byte, mac []byte, roots []string) (*cacheIndex, error) {
	idx, err := r.readIndex(key, mac, roots)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %v", r.name, err)
	}
	return idx, nil
}

func (r *cacheReader) readIndex(key [32]byte, mac []byte, roots []string) (*cacheIndex, error) {
	head := make([]byte, headerLen)
	if _, err := io.ReadFull(r.f, head); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, errors.New("not a globwalk cache")
		}
		return nil, err
	}
	n := int64(binary.LittleEndian.Uint32(head[offIndexLen:]))
	if n > r.size-headerLen {
		// Checked again by decodeIndex: this only spares the buffer.
		n = 0
	}
	r.head = append(head, make([]byte, n)...)
	if _, err := io.ReadFull(r.f, r.head[headerLen:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, errors.New("truncated index")
		}
		return nil, err
	}
	return decodeIndex(r.head, key, mac, roots)
}

// tree reads the rest of the file, closes it, then checks and decodes
// the tree of the index (see decodeTree).
func (r *cacheReader) tree(idx *cacheIndex, mac []byte, roots []string, hook decodeHook) ([]*node, error) {
	body, err := r.readTree()
	r.close()
	var trees []*node
	if err == nil {
		trees, err = decodeTree(idx, body, mac, roots, hook)
	}
	if err != nil {
		return nil, fmt.Errorf("cache %s: %v", r.name, err)
	}
	return trees, nil
}

// readTree reads the rest of the file, with one read when its size has
// not changed since the open.
func (r *cacheReader) readTree() ([]byte, error) {
	// One byte more than the rest, so that a file that grew since the
	// open is read whole (and then fails its MAC, or not).
	rest := max(r.size-int64(len(r.head)), 0)
	data := largeSlice[byte](int(rest) + 1)[:0]
	for {
		n, err := r.f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
		if len(data) > maxCacheFile {
			return nil, errors.New("too large")
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}

// decodeHook lets the warm run's stats start while the cache is still
// being decoded (the tree is authenticated whole first, so a node handed
// to the hook comes from a file we wrote). enter is called once a node's
// fields are known, before its children, with the context its parent's
// enter returned (root's for a walk root); it returns the context for
// the children. leave is called after the node's subtree, ok false when
// decoding failed, so that enter's context can be released either way.
// If decoding fails the whole cache is a miss: a stat the hook started
// is then merely wasted.
type decodeHook interface {
	root(path string) any
	enter(n *node, depth, nkids int, parent any) any
	leave(n *node, depth int, parent, ctx any, ok bool)
}

// cacheIndex is a cache file's index, checked and decoded; tree is the
// rest of the file, not yet checked.
type cacheIndex struct {
	// nodes, kids and matches are the tree's totals: its decoding
	// allocates each kind once.
	nodes, kids, matches int
	// clean: no directory below a root is racy or unreadable.
	clean bool
	roots []indexRoot

	indexMAC, treeMAC []byte
	// treeAt is where the tree starts in the file.
	treeAt int
	// rootPaths are the roots as the file names them, when the caller
	// passed none.
	rootPaths []string
}

// indexRoot is one walk root in the index.
type indexRoot struct {
	// node is the root's node (nil: none kept) with its children as
	// stubs: name only, taken as unchanged (pre).
	node *node
	// below counts the directories under the root's children.
	below int
	// deep are the matches below the root, each named by its path
	// relative to the root.
	deep []nodeMatch
}

// fileVersion is the format version in a cache file's first bytes, and
// false when they do not start with the magic.
func fileVersion(head []byte) (uint32, bool) {
	if len(head) < offKey || !bytes.Equal(head[:offVersion], cacheMagic) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(head[offVersion:]), true
}

// decodeIndex checks a cache file's header and index, and decodes the
// index; data is the file, or as much of it as holds the index.
func decodeIndex(data []byte, key [32]byte, mac []byte, roots []string) (*cacheIndex, error) {
	if len(data) > maxCacheFile {
		return nil, errors.New("too large")
	}
	v, ok := fileVersion(data)
	if !ok || len(data) < headerLen {
		return nil, errors.New("not a globwalk cache")
	}
	if v != cacheVersion {
		return nil, fmt.Errorf("format version %d, want %d", v, cacheVersion)
	}
	// The zero key (no SHA-256 output) is the change feed's server,
	// which reads the file it was started for, whatever its key and
	// roots (watch_linux.go): the MAC vouches for both.
	anyFile := key == [32]byte{}
	if !anyFile && !bytes.Equal(data[offKey:offIndexLen], key[:]) {
		return nil, errors.New("key mismatch")
	}
	n := binary.LittleEndian.Uint32(data[offIndexLen:])
	if uint64(n) > uint64(len(data)-headerLen) {
		return nil, errors.New("truncated index")
	}
	index := data[headerLen : headerLen+int(n)]
	idx := &cacheIndex{indexMAC: data[offIndexMAC:offTreeMAC], treeMAC: data[offTreeMAC:headerLen], treeAt: headerLen + int(n)}
	if len(mac) != cacheKeySize || !hmac.Equal(cacheMAC(mac, indexDomain, data[:offIndexMAC], index), idx.indexMAC) {
		return nil, errors.New("authentication failed (not written by this user's polc)")
	}
	d := &decoder{s: unsafe.String(unsafe.SliceData(index), len(index))}
	idx.nodes, idx.kids, idx.matches = int(d.uint()), int(d.uint()), int(d.uint())
	if idx.nodes > maxCacheFile/9 || idx.kids > idx.nodes || idx.matches > maxCacheFile/7 {
		d.fail("bad totals")
	}
	idx.clean = d.byte() == 1
	nr := d.uint()
	if anyFile && nr <= uint64(len(index)) {
		roots = make([]string, nr)
		idx.rootPaths = roots
	}
	if nr != uint64(len(roots)) && d.err == nil {
		return nil, errors.New("root count changed")
	}
	idx.roots = make([]indexRoot, len(roots))
	for i := range idx.roots {
		if idx.rootPaths != nil {
			roots[i] = strings.Clone(d.str())
		} else if d.str() != roots[i] && d.err == nil {
			return nil, errors.New("roots changed")
		}
		if d.byte() != 1 {
			continue
		}
		r := &idx.roots[i]
		r.node = &node{}
		d.fields(r.node, dirStat{})
		nc := d.count()
		stubs := make([]node, nc)
		r.node.children = make([]*node, nc)
		for j := range stubs {
			stubs[j] = node{name: d.str(), pre: preSame}
			r.node.children[j] = &stubs[j]
		}
		if r.below = int(d.uint()); r.below > idx.nodes {
			d.fail("bad count")
		}
		r.deep = make([]nodeMatch, d.count())
		for j := range r.deep {
			d.match(&r.deep[j])
		}
	}
	if d.err == nil && d.pos != len(d.s) {
		d.err = errors.New("trailing data in the index")
	}
	if d.err != nil {
		return nil, d.err
	}
	return idx, nil
}

// decodeTree checks and decodes the tree (body: the rest of the file)
// of a cache file whose index decodeIndex accepted.
func decodeTree(idx *cacheIndex, body []byte, mac []byte, roots []string, hook decodeHook) ([]*node, error) {
	if len(body) > maxCacheFile {
		return nil, errors.New("too large")
	}
	// A node takes at least 9 bytes of the tree, a match 7: totals past
	// that are not the tree's.
	if idx.nodes > len(body)/9 || idx.matches > len(body)/7 {
		return nil, errors.New("bad totals")
	}
	if !hmac.Equal(cacheMAC(mac, treeDomain, idx.indexMAC, body), idx.treeMAC) {
		return nil, errors.New("authentication failed (not written by this user's polc)")
	}
	// One string for the whole body: names are substrings of it. data is
	// never written after this, so the string can share its memory.
	d := &decoder{s: unsafe.String(unsafe.SliceData(body), len(body)), hook: hook, exact: true}
	d.nodes = largeSlice[node](idx.nodes)[:0]
	d.kids = largeSlice[*node](idx.kids)[:0]
	d.matches = make([]nodeMatch, 0, idx.matches)
	n := d.uint()
	if n != uint64(len(roots)) {
		return nil, errors.New("root count changed")
	}
	trees := make([]*node, n)
	for i := range trees {
		if d.str() != roots[i] {
			return nil, errors.New("roots changed")
		}
		if d.byte() == 1 {
			var ctx any
			if hook != nil {
				ctx = hook.root(roots[i])
			}
			trees[i] = d.node(0, ctx, dirStat{})
		}
	}
	if d.err == nil && d.pos != len(d.s) {
		d.err = errors.New("trailing data")
	}
	if d.err == nil && (len(d.nodes) != cap(d.nodes) || len(d.kids) != cap(d.kids) || len(d.matches) != cap(d.matches)) {
		d.err = errors.New("the tree does not add up to the index's totals")
	}
	if d.err != nil {
		return nil, d.err
	}
	return trees, nil
}

type decoder struct {
	s    string
	pos  int
	err  error
	hook decodeHook

	// Nodes, child lists and matches are carved from slabs: a warm run
	// decodes one node per directory, and ten thousand small allocations
	// (and the GC work behind them) cost more than the stats they save.
	// With exact, the slabs are allocated once, to the index's totals,
	// and running out of one is an error.
	nodes   []node
	kids    []*node
	matches []nodeMatch
	exact   bool
}

const slabLen = 1024

func (d *decoder) newNode() *node {
	if len(d.nodes) == cap(d.nodes) {
		if d.exact {
			d.fail("more directories than the index counts")
			return &node{}
		}
		d.nodes = make([]node, 0, slabLen)
	}
	d.nodes = d.nodes[:len(d.nodes)+1]
	n := &d.nodes[len(d.nodes)-1]
	n.cached = true
	return n
}

// take returns a slice of length and capacity n from *slab, so that
// appending to it reallocates instead of overwriting a neighbour; nil
// (and d.err set) when an exact slab has run out.
func take[T any](d *decoder, slab *[]T, n int) []T {
	if cap(*slab)-len(*slab) < n {
		if d.exact {
			d.fail("more entries than the index counts")
			return nil
		}
		*slab = make([]T, 0, max(n, slabLen))
	}
	i := len(*slab)
	*slab = (*slab)[:i+n]
	return (*slab)[i : i+n : i+n]
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = errors.New(msg)
	}
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.pos >= len(d.s) {
			d.fail("truncated")
			return 0
		}
		b := d.s[d.pos]
		d.pos++
		if b < 0x80 {
			return x | uint64(b)<<s
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
	d.fail("bad varint")
	return 0
}

func (d *decoder) int() int64 {
	u := d.uint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) byte() byte {
	if d.err != nil || d.pos >= len(d.s) {
		d.fail("truncated")
		return 0
	}
	d.pos++
	return d.s[d.pos-1]
}

func (d *decoder) str() string {
	n := d.uint()
	if d.err != nil || n > uint64(len(d.s)-d.pos) {
		d.fail("truncated string")
		return ""
	}
	s := d.s[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s
}

// count reads a length that must fit in what is left (each item takes at
// least one byte), so a corrupt count cannot make us allocate gigabytes.
func (d *decoder) count() int {
	n := d.uint()
	if d.err != nil || n > uint64(len(d.s)-d.pos) {
		d.fail("bad count")
		return 0
	}
	return int(n)
}

// maxTreeDepth bounds decoding recursion.
const maxTreeDepth = 4096

// fields decodes a node's own fields and matches (appendFields), below
// a parent whose stamps were up (zero for a root).
func (d *decoder) fields(n *node, up dirStat) {
	n.name = d.str()
	n.st.dev, n.st.ino = d.uint()^up.dev, d.uint()
	n.st.mtime = d.int() + up.mtime
	n.st.ctime = d.int() + n.st.mtime
	flags := d.byte()
	n.racy, n.missing = flags&1 != 0, flags&2 != 0
	if e := d.str(); e != "" {
		n.extra().err = e
	}
	if nm := d.count(); nm > 0 {
		x := n.extra()
		x.matches = take(d, &d.matches, nm)
		for i := range x.matches {
			d.match(&x.matches[i])
		}
	}
}

// match decodes one match (appendMatch).
func (d *decoder) match(m *nodeMatch) {
	m.name = d.str()
	m.pat = int32(d.uint())
	m.depth = int32(d.uint())
	m.typ = entType(d.byte())
	m.beyond = d.byte() == 1
	m.dev, m.ino = d.uint(), d.uint()
}

func (d *decoder) node(depth int, parent any, up dirStat) *node {
	if depth > maxTreeDepth {
		d.fail("tree too deep")
		return nil
	}
	n := d.newNode()
	d.fields(n, up)
	nc := d.count()
	hooked := d.hook != nil && d.err == nil
	var ctx any
	if hooked {
		ctx = d.hook.enter(n, depth, nc, parent)
	}
	if nc > 0 {
		n.children = take(d, &d.kids, nc)
		for i := 0; i < len(n.children) && d.err == nil; i++ {
			n.children[i] = d.node(depth+1, ctx, n.st)
		}
	}
	if hooked {
		d.hook.leave(n, depth, parent, ctx, d.err == nil)
	}
	if d.err != nil {
		return nil
	}
	return n
}

// MAC domains of the index and of the tree.
const (
	indexDomain = cacheDomain + " index"
	treeDomain  = cacheDomain + " tree"
)

// cacheMAC authenticates one part of a cache file and what it is bound
// to (the fixed header for the index, the index's MAC for the tree).
func cacheMAC(mac []byte, domain string, bound, part []byte) []byte {
	h := statekey.New(mac, domain)
	h.Write(bound)
	h.Write(part)
	return h.Sum(nil)
}

func encodeCache(key [32]byte, mac []byte, roots []string, trees []*node) []byte {
	var tot totals
	body := make([]byte, 0, 1<<16)
	body = binary.AppendUvarint(body, uint64(len(roots)))
	for i, r := range roots {
		body = appendStr(body, r)
		if trees[i] == nil {
			body = append(body, 0)
			continue
		}
		body = append(body, 1)
		body = tot.appendNode(body, trees[i], 0, dirStat{})
	}
	index := tot.appendIndex(nil, roots, trees)
	buf := make([]byte, headerLen, headerLen+len(index)+len(body))
	copy(buf, cacheMagic)
	binary.LittleEndian.PutUint32(buf[offVersion:], cacheVersion)
	copy(buf[offKey:], key[:])
	binary.LittleEndian.PutUint32(buf[offIndexLen:], uint32(len(index)))
	buf = append(append(buf, index...), body...)
	imac := cacheMAC(mac, indexDomain, buf[:offIndexMAC], index)
	copy(buf[offIndexMAC:], imac)
	copy(buf[offTreeMAC:], cacheMAC(mac, treeDomain, imac, body))
	return buf
}

// totals counts what appendNode encodes, for the index.
type totals struct {
	nodes, kids, matches int
	unclean              bool
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendFields encodes a node's own fields and matches, below a parent
// whose stamps are up (zero for a root): the device as its difference
// from the parent's (usually none), mtime as its distance from the
// parent's and ctime from mtime (usually small), so that a directory
// takes about 15 bytes, not 33.
func appendFields(b []byte, n *node, up dirStat) []byte {
	b = appendStr(b, n.name)
	b = binary.AppendUvarint(b, n.st.dev^up.dev)
	b = binary.AppendUvarint(b, n.st.ino)
	b = binary.AppendVarint(b, n.st.mtime-up.mtime)
	b = binary.AppendVarint(b, n.st.ctime-n.st.mtime)
	var flags byte
	if n.racy {
		flags |= 1
	}
	if n.missing {
		flags |= 2
	}
	b = append(b, flags)
	b = appendStr(b, n.errMsg())
	b = binary.AppendUvarint(b, uint64(len(n.ms())))
	for _, m := range n.ms() {
		b = appendMatch(b, m, m.name)
	}
	return b
}

// appendMatch encodes m under name (its own, or a path to it).
func appendMatch(b []byte, m nodeMatch, name string) []byte {
	b = appendStr(b, name)
	b = binary.AppendUvarint(b, uint64(m.pat))
	b = binary.AppendUvarint(b, uint64(m.depth))
	beyond := byte(0)
	if m.beyond {
		beyond = 1
	}
	b = append(b, byte(m.typ), beyond)
	b = binary.AppendUvarint(b, m.dev)
	return binary.AppendUvarint(b, m.ino)
}

// kids is how many children n keeps.
func (n *node) kids() int {
	k := 0
	for _, c := range n.children {
		if c != nil {
			k++
		}
	}
	return k
}

func (t *totals) appendNode(b []byte, n *node, depth int, up dirStat) []byte {
	t.nodes++
	t.matches += len(n.ms())
	if depth > 0 && (n.racy || n.errMsg() != "" || n.missing) {
		t.unclean = true
	}
	b = appendFields(b, n, up)
	kids := n.kids()
	t.kids += kids
	b = binary.AppendUvarint(b, uint64(kids))
	for _, c := range n.children {
		if c != nil {
			b = t.appendNode(b, c, depth+1, n.st)
		}
	}
	return b
}

// appendIndex encodes the index of the trees appendNode encoded.
func (t *totals) appendIndex(b []byte, roots []string, trees []*node) []byte {
	b = binary.AppendUvarint(b, uint64(t.nodes))
	b = binary.AppendUvarint(b, uint64(t.kids))
	b = binary.AppendUvarint(b, uint64(t.matches))
	clean := byte(1)
	if t.unclean {
		clean = 0
	}
	b = append(b, clean)
	b = binary.AppendUvarint(b, uint64(len(roots)))
	for i, r := range roots {
		b = appendStr(b, r)
		n := trees[i]
		if n == nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = appendFields(b, n, dirStat{})
		b = binary.AppendUvarint(b, uint64(n.kids()))
		for _, c := range n.children {
			if c != nil {
				b = appendStr(b, c.name)
			}
		}
		below, ndeep := 0, 0
		var deep []byte
		var rec func(c *node, rel string, depth int)
		rec = func(c *node, rel string, depth int) {
			if depth > 1 {
				below++
			}
			for _, m := range c.ms() {
				ndeep++
				deep = appendMatch(deep, m, rel+"/"+m.name)
			}
			for _, k := range c.children {
				if k != nil {
					rec(k, rel+"/"+k.name, depth+1)
				}
			}
		}
		for _, c := range n.children {
			if c != nil {
				rec(c, c.name, 1)
			}
		}
		b = binary.AppendUvarint(b, uint64(below))
		b = binary.AppendUvarint(b, uint64(ndeep))
		b = append(b, deep...)
	}
	return b
}

// saveCache writes the cache atomically: a reader sees the old file or
// the new one, never half of one. dir is the resolved cache directory.
func saveCache(dir, file string, key [32]byte, mac []byte, roots []string, trees []*node) error {
	tmp, err := os.CreateTemp(dir, ".globwalk-*.tmp")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(encodeCache(key, mac, roots, trees))
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), file)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return werr
	}
	sweepOldVersions(dir)
	return nil
}

// sweepOldVersions removes the caches an older polc wrote in dir: their
// key names the format version, so no polc from this one on reads them
// again, and each holds a whole tree (megabytes on a large project). A
// newer polc's stay (the user may run both). It runs when a cache is
// saved, which a warm launch does not do. A file without the cache's
// magic is not polc's and stays.
func sweepOldVersions(dir string) {
	names, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, n := range names {
		name := n.Name()
		if !n.Type().IsRegular() || !strings.HasPrefix(name, "globwalk-") || !strings.HasSuffix(name, ".cache") {
			continue
		}
		p := filepath.Join(dir, name)
		if v, ok := fileVersion(cacheHead(p, offKey)); ok && v < cacheVersion {
			os.Remove(p)
		}
	}
}

// cacheHead reads the first n bytes of the cache file at p, opened
// without following a link (nil when it cannot, or is shorter).
func cacheHead(p string, n int) []byte {
	f, err := openNoFollow(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	head := make([]byte, n)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil
	}
	return head
}

// cacheDirReal creates the cache directory if needed and returns its
// real path, refusing one that another user owns or others can write
// (see trustedDir). Symlinked ancestors are resolved, not refused: the
// file inside is then opened by its real path with no link followed.
func cacheDirReal(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(real) {
		if real, err = filepath.Abs(real); err != nil {
			return "", err
		}
	}
	if err := trustedDir(real); err != nil {
		return "", err
	}
	return real, nil
}
