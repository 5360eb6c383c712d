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
	"sync"
	"unsafe"

	"polc/internal/statekey"
)

// Cache file layout (all integers little-endian or uvarint):
//
//	magic "POLCGLB\n" | version u32 | key [32] | mac [32] | body
//	body: nroots, then per root: path, present byte, node
//	node: name, dev, ino, mtime, ctime, flags, err, nmatches,
//	      matches (name, pattern, depth, type, beyond, dev, ino),
//	      nchildren, children
//
// The key hashes everything the result depends on besides the tree: the
// patterns, bases, caps, scan roots, ReportBeyondCap, the regions and
// the format version. mac is HMAC-SHA256 under Options.CacheKey of the bytes before
// it and the body: a file polc did not write under this user's key, or
// wrote for other patterns or roots, is never used.
//
// Version 2: the MAC (was a plain SHA-256, which anyone able to write
// the file could recompute), the roots in the key, matches' dev and ino.
const cacheVersion = 2

// cacheKeySize is the length Options.CacheKey must have.
const cacheKeySize = statekey.Size

// cacheDomain separates the cache's MACs from those of polc's other
// state made under the same key.
const cacheDomain = "polc globwalk cache"

var cacheMagic = []byte("POLCGLB\n")

const headerLen = 8 + 4 + 32 + 32

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
	w.caching = true
	var hook decodeHook
	wait := func([]*node) {}
	flag := file + ".revalidate"
	if _, err := os.Lstat(flag); err != nil && w.opts.DeferRevalidation && w.opts.Snapshot && firstExpansion(file) {
		hook, st.Deferred = trustCached{}, true
		w.revalidateFlag = flag
	} else {
		hook, wait = w.startPrefetch()
	}
	old, err := loadCache(file, key, mac, c.roots, hook)
	wait(old)
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

// loadCache reads, checks and decodes a cache file; hook, when not nil,
// sees each node as it is decoded (see decodeHook). The file is opened
// without following a symlink anywhere on its path (file is under the
// resolved cache directory) and must be what it claims (see
// trustedCacheFile) before its MAC is even checked.
func loadCache(file string, key [32]byte, mac []byte, roots []string, hook decodeHook) ([]*node, error) {
	f, err := openNoFollow(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := trustedCacheFile(f, file); err != nil {
		return nil, fmt.Errorf("cache %s not trusted: %v", file, err)
	}
	data, err := readCache(f)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %v", file, err)
	}
	trees, err := decodeCache(data, key, mac, roots, hook)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %v", file, err)
	}
	return trees, nil
}

// readCache reads the whole file with one read when its size is known.
func readCache(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxCacheFile {
		return nil, errors.New("too large")
	}
	// One byte more than the size, so that a file that grew since the
	// stat is read whole (and then fails the checksum, or not).
	data := make([]byte, 0, fi.Size()+1)
	for {
		n, err := f.Read(data[len(data):cap(data)])
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
// being decoded (the file is authenticated whole first, so a node handed
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

func decodeCache(data []byte, key [32]byte, mac []byte, roots []string, hook decodeHook) ([]*node, error) {
	if len(data) > maxCacheFile {
		return nil, errors.New("too large")
	}
	if len(data) < headerLen || !bytes.Equal(data[:8], cacheMagic) {
		return nil, errors.New("not a globwalk cache")
	}
	if v := binary.LittleEndian.Uint32(data[8:12]); v != cacheVersion {
		return nil, fmt.Errorf("format version %d, want %d", v, cacheVersion)
	}
	if !bytes.Equal(data[12:44], key[:]) {
		return nil, errors.New("key mismatch")
	}
	body := data[headerLen:]
	if len(mac) != cacheKeySize || !hmac.Equal(cacheMAC(mac, data[:44], body), data[44:76]) {
		return nil, errors.New("authentication failed (not written by this user's polc)")
	}
	// One string for the whole body: names are substrings of it. data is
	// never written after this, so the string can share its memory.
	d := &decoder{s: unsafe.String(unsafe.SliceData(body), len(body)), hook: hook}
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
			trees[i] = d.node(0, ctx)
		}
	}
	if d.err == nil && d.pos != len(d.s) {
		d.err = errors.New("trailing data")
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
	nodes   []node
	kids    []*node
	matches []nodeMatch
}

const slabLen = 1024

func (d *decoder) newNode() *node {
	if len(d.nodes) == cap(d.nodes) {
		d.nodes = make([]node, 0, slabLen)
	}
	d.nodes = d.nodes[:len(d.nodes)+1]
	return &d.nodes[len(d.nodes)-1]
}

// slabOf returns a slice of length and capacity n from *slab, so that
// appending to it reallocates instead of overwriting a neighbour.
func slabOf[T any](slab *[]T, n int) []T {
	if cap(*slab)-len(*slab) < n {
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

func (d *decoder) node(depth int, parent any) *node {
	if depth > maxTreeDepth {
		d.fail("tree too deep")
		return nil
	}
	n := d.newNode()
	n.name = d.str()
	n.st.dev, n.st.ino = d.uint(), d.uint()
	n.st.mtime, n.st.ctime = d.int(), d.int()
	flags := d.byte()
	n.racy, n.missing = flags&1 != 0, flags&2 != 0
	n.err = d.str()
	if nm := d.count(); nm > 0 {
		n.matches = slabOf(&d.matches, nm)
		for i := range n.matches {
			m := &n.matches[i]
			m.name = d.str()
			m.pat = int32(d.uint())
			m.depth = int32(d.uint())
			m.typ = entType(d.byte())
			m.beyond = d.byte() == 1
			m.dev, m.ino = d.uint(), d.uint()
		}
	}
	nc := d.count()
	hooked := d.hook != nil && d.err == nil
	var ctx any
	if hooked {
		ctx = d.hook.enter(n, depth, nc, parent)
	}
	if nc > 0 {
		n.children = slabOf(&d.kids, nc)
		for i := 0; i < nc && d.err == nil; i++ {
			n.children[i] = d.node(depth+1, ctx)
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

// cacheMAC authenticates a cache file's fixed header and its body.
func cacheMAC(mac, head, body []byte) []byte {
	h := statekey.New(mac, cacheDomain)
	h.Write(head)
	h.Write(body)
	return h.Sum(nil)
}

func encodeCache(key [32]byte, mac []byte, roots []string, trees []*node) []byte {
	buf := make([]byte, headerLen, 1<<16)
	copy(buf, cacheMagic)
	binary.LittleEndian.PutUint32(buf[8:], cacheVersion)
	copy(buf[12:], key[:])
	buf = binary.AppendUvarint(buf, uint64(len(roots)))
	for i, r := range roots {
		buf = appendStr(buf, r)
		if trees[i] == nil {
			buf = append(buf, 0)
			continue
		}
		buf = append(buf, 1)
		buf = appendNode(buf, trees[i])
	}
	copy(buf[44:], cacheMAC(mac, buf[:44], buf[headerLen:]))
	return buf
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendNode(b []byte, n *node) []byte {
	b = appendStr(b, n.name)
	b = binary.AppendUvarint(b, n.st.dev)
	b = binary.AppendUvarint(b, n.st.ino)
	b = binary.AppendVarint(b, n.st.mtime)
	b = binary.AppendVarint(b, n.st.ctime)
	var flags byte
	if n.racy {
		flags |= 1
	}
	if n.missing {
		flags |= 2
	}
	b = append(b, flags)
	b = appendStr(b, n.err)
	b = binary.AppendUvarint(b, uint64(len(n.matches)))
	for _, m := range n.matches {
		b = appendStr(b, m.name)
		b = binary.AppendUvarint(b, uint64(m.pat))
		b = binary.AppendUvarint(b, uint64(m.depth))
		beyond := byte(0)
		if m.beyond {
			beyond = 1
		}
		b = append(b, byte(m.typ), beyond)
		b = binary.AppendUvarint(b, m.dev)
		b = binary.AppendUvarint(b, m.ino)
	}
	kids := 0
	for _, c := range n.children {
		if c != nil {
			kids++
		}
	}
	b = binary.AppendUvarint(b, uint64(kids))
	for _, c := range n.children {
		if c != nil {
			b = appendNode(b, c)
		}
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
	}
	return werr
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
