package globwalk

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"unsafe"

	"github.com/bmatcuk/doublestar/v4"

	"polc/ir"
)

// segKind says how one pattern segment (the text between two slashes) is
// tested against a directory entry name.
type segKind uint8

const (
	segLiteral  segKind = iota // exact name
	segAny                     // "*": any name, hidden ones too
	segSuffix                  // "*lit"
	segPrefix                  // "lit*"
	segStars                   // literals and stars only ("*secret*.json")
	segGeneral                 // anything else: doublestar.Match on the name
	segGlobstar                // "**": zero or more directories
	segSlow                    // full-path doublestar.Match; see compilePattern
)

type seg struct {
	kind segKind
	s    string
	// parts are the literals between the stars of a segStars segment.
	parts []string
}

// matchStars matches a name against literals separated by stars, as
// doublestar does within one segment (where "**" is a plain star).
// Greedy leftmost matching of the middle parts is exact for "*" globs.
func matchStars(parts []string, name string) bool {
	first, last := parts[0], parts[len(parts)-1]
	if len(name) < len(first)+len(last) || !strings.HasPrefix(name, first) || !strings.HasSuffix(name, last) {
		return false
	}
	rest := name[len(first) : len(name)-len(last)]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return true
}

// match tests one name; buf is the caller's scratch for segGeneral (a
// walk's workers share the compiled segments).
func (g *seg) match(name string, buf *[]byte) bool {
	switch g.kind {
	case segLiteral:
		return name == g.s
	case segAny:
		return true
	case segSuffix:
		return strings.HasSuffix(name, g.s)
	case segPrefix:
		return strings.HasPrefix(name, g.s)
	case segStars:
		return matchStars(g.parts, name)
	case segGeneral:
		// A sentinel segment after both sides keeps doublestar's
		// end-of-name rules out of a middle segment: alone, "*a***" does
		// not match "a" (the trailing "***" is not a zero-length form),
		// but within "/r/*a***/b" it matches "/r/a/b". Acceptance at
		// the end is confirmed on the whole path anyway.
		b := append(append((*buf)[:0], name...), sentinel...)
		*buf = b
		ok, _ := doublestar.Match(g.s, unsafe.String(unsafe.SliceData(b), len(b)))
		return ok
	}
	return false
}

const sentinel = "/\x00"

// cpat is one compiled pattern.
type cpat struct {
	full     string // the pattern, slash-separated
	base     string
	maxDepth int
	root     int // index into compiled.roots
	// baseDepth is the number of components from the walk root to Base.
	baseDepth int
	// segs run from the walk root: Base's components below the root as
	// literals, then the pattern's own segments (or one segSlow).
	segs []seg
	// dead patterns cannot match anything under Base (a Base component
	// that the pattern's own segment does not match); they get no states.
	dead bool
}

// compiled is the set of patterns as one automaton. A state is a flat
// index: off[p]+pos means "the path so far matched segs[:pos] of pattern p";
// pos == len(segs) is the accepting state.
type compiled struct {
	pats  []cpat
	roots []string
	off   []int32
	// statePat and statePos decode a flat state.
	statePat, statePos []int32
	// closure[s] is s plus the states reachable from it through "**"
	// matching zero directories, including accepting ones.
	closure [][]int32
	// zero[s] is set when the rest of the pattern from s could match an
	// empty string by doublestar's rules ("", "*", "**" segments): then
	// doublestar.Match may accept a path that ends here (it lets
	// "/a/**/" match "/a"), so the entry is a candidate to confirm.
	zero []bool
	// initial[r] is the closed start set of root r.
	initial [][]int32
}

func (c *compiled) accepting(s int32) bool {
	return int(c.statePos[s]) == len(c.pats[c.statePat[s]].segs)
}

// compile checks the patterns, groups them into walk roots and builds the
// automaton.
func compile(patterns []Pattern) (*compiled, error) {
	c := &compiled{pats: make([]cpat, len(patterns))}
	for i, p := range patterns {
		cp, err := compilePattern(i, p)
		if err != nil {
			return nil, err
		}
		c.pats[i] = cp
	}
	c.assignRoots()
	var n int32
	for i := range c.pats {
		c.off = append(c.off, n)
		for pos := 0; pos <= len(c.pats[i].segs); pos++ {
			c.statePat = append(c.statePat, int32(i))
			c.statePos = append(c.statePos, int32(pos))
		}
		n += int32(len(c.pats[i].segs) + 1)
	}
	c.zero = make([]bool, n)
	for s := n - 1; s >= 0; s-- {
		p := &c.pats[c.statePat[s]]
		pos := int(c.statePos[s])
		if pos == len(p.segs) {
			c.zero[s] = true
		} else if k := p.segs[pos]; k.kind == segGlobstar || k.kind == segAny || k.kind == segLiteral && k.s == "" {
			c.zero[s] = c.zero[s+1]
		}
	}
	c.closure = make([][]int32, n)
	for s := int32(0); s < n; s++ {
		p := &c.pats[c.statePat[s]]
		for pos := int(c.statePos[s]); ; pos++ {
			c.closure[s] = append(c.closure[s], c.off[c.statePat[s]]+int32(pos))
			if pos == len(p.segs) || p.segs[pos].kind != segGlobstar {
				break
			}
		}
	}
	c.initial = make([][]int32, len(c.roots))
	for i := range c.pats {
		if c.pats[i].dead {
			continue
		}
		r := c.pats[i].root
		for _, s := range c.closure[c.off[i]] {
			if !c.accepting(s) { // accepting here would be the root itself: never a match
				c.initial[r] = append(c.initial[r], s)
			}
		}
	}
	for _, in := range c.initial {
		sort.Slice(in, func(a, b int) bool { return in[a] < in[b] })
	}
	return c, nil
}

func compilePattern(i int, p Pattern) (cpat, error) {
	bad := func(reason string) (cpat, error) {
		return cpat{}, &PatternError{Index: i, Pattern: p.Pattern, Reason: reason}
	}
	full, base := p.Pattern, p.Base
	if runtime.GOOS == "windows" {
		full, base = filepath.ToSlash(full), filepath.ToSlash(base)
	}
	if strings.IndexByte(full, 0) >= 0 {
		return bad("NUL byte in pattern")
	}
	if !isAbs(full) {
		return bad("pattern is not absolute")
	}
	if !doublestar.ValidatePattern(full) {
		return bad("malformed pattern (unclosed [ or {, or a trailing \\)")
	}
	if p.MaxDepth < 0 {
		return bad("negative depth cap")
	}
	if base == "" {
		base = ir.GlobBase(full)
	}
	if runtime.GOOS == "windows" && len(base) == 2 && base[1] == ':' {
		base += "/" // a drive root, not the drive's current directory
	}
	if path := cleanSlash(base); path != base || !isAbs(base) {
		return bad("base " + base + " is not a clean absolute path")
	}
	rest, ok := strings.CutPrefix(full, base)
	if !ok || (base != "/" && !strings.HasPrefix(rest, "/")) && !strings.HasSuffix(base, "/") {
		return bad("base " + base + " is not a directory prefix of the pattern")
	}
	rest = strings.TrimPrefix(rest, "/")
	cp := cpat{full: full, base: base, maxDepth: p.MaxDepth}

	// The pattern's own segments for Base's components must accept those
	// literal names, or nothing under Base can match (doublestar would
	// read "{a,b}" in a base as alternatives, while the walk enters the
	// literal directory).
	patSegs := splitSegs(full)
	baseComps := splitSegs(base)
	if len(patSegs) < len(baseComps) {
		cp.dead = true
	} else {
		for k, comp := range baseComps {
			g := classify(patSegs[k])
			if g.kind == segGlobstar || g.kind == segGeneral && !doublestar.ValidatePattern(patSegs[k]) || !g.match(comp, new([]byte)) {
				cp.dead = true
				break
			}
		}
	}

	// Segment-wise matching is exact only when every segment is a pattern
	// of its own. Braces may hold a slash ("{a,b/c}"), a class may hold one
	// ("[/]"), and "\/" escapes one; such patterns fall back to a slow
	// state that tests whole paths with doublestar.Match and prunes only by
	// the depth cap. A class that matches "/" itself ("[!0]": doublestar
	// lets a negated class match the separator) spans segments too. They
	// are rare in deny rules.
	slow := strings.ContainsAny(rest, "{}") || strings.Contains(rest, `\/`) || classMatchesSlash(rest)
	var segs []seg
	if !slow && rest != "" {
		for _, s := range strings.Split(rest, "/") {
			g := classify(s)
			if g.kind == segGeneral && !doublestar.ValidatePattern(s) {
				slow = true
				break
			}
			segs = append(segs, g)
		}
	}
	if slow {
		segs = []seg{{kind: segSlow, s: full}}
	}
	if rest == "" { // the pattern is its base: it never matches below it
		cp.dead = true
	}
	cp.segs = segs
	return cp, nil
}

// classify picks the cheapest exact test for one segment.
func classify(s string) seg {
	const meta = `*?[]{}\`
	switch {
	case s == "**":
		return seg{kind: segGlobstar}
	case s == "*":
		return seg{kind: segAny}
	case !strings.ContainsAny(s, meta):
		return seg{kind: segLiteral, s: s}
	case s[0] == '*' && !strings.ContainsAny(s[1:], meta):
		return seg{kind: segSuffix, s: s[1:]}
	case s[len(s)-1] == '*' && !strings.ContainsAny(s[:len(s)-1], meta):
		return seg{kind: segPrefix, s: s[:len(s)-1]}
	}
	if !strings.ContainsAny(s, `?[]{}\`) {
		return seg{kind: segStars, s: s, parts: strings.Split(s, "*")}
	}
	return seg{kind: segGeneral, s: s + sentinel}
}

// assignRoots groups patterns into walks: a Base under another Base rides
// the outer walk, unless a component in between is a symlink or missing
// (the walk does not follow links, while opening a Base does).
func (c *compiled) assignRoots() {
	order := make([]int, len(c.pats))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(c.pats[order[a]].base) < len(c.pats[order[b]].base) })
	for _, i := range order {
		p := &c.pats[i]
		if p.dead {
			p.root = -1
			continue
		}
		root := -1
		for r, rp := range c.roots {
			if hasPrefix(p.base, rp) && realDirsBetween(rp, p.base) {
				root = r
				break
			}
		}
		if root < 0 {
			root = len(c.roots)
			c.roots = append(c.roots, p.base)
		}
		p.root = root
		var lits []seg
		for _, comp := range splitSegs(strings.TrimPrefix(p.base, c.roots[root])) {
			lits = append(lits, seg{kind: segLiteral, s: comp})
		}
		p.baseDepth = len(lits)
		p.segs = append(lits, p.segs...)
	}
}

// realDirsBetween reports whether every component of below under top is
// an existing directory and not a symlink.
func realDirsBetween(top, below string) bool {
	cur := strings.TrimSuffix(top, "/")
	for _, comp := range splitSegs(strings.TrimPrefix(below, top)) {
		cur += "/" + comp
		fi, err := os.Lstat(cur)
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// hasPrefix is ir.HasPathPrefix for slash paths, also for a Windows
// drive root such as "C:/".
func hasPrefix(p, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(p, prefix)
	}
	return ir.HasPathPrefix(p, prefix)
}

func splitSegs(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func isAbs(p string) bool {
	if strings.HasPrefix(p, "/") {
		return true
	}
	return runtime.GOOS == "windows" && len(p) >= 3 && p[1] == ':' && p[2] == '/'
}

func cleanSlash(p string) string {
	if runtime.GOOS == "windows" {
		return filepath.ToSlash(filepath.Clean(filepath.FromSlash(p)))
	}
	return filepath.Clean(p)
}

// classMatchesSlash reports whether some [...] class in p can match "/".
func classMatchesSlash(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			j := i + 1
			if j < len(p) && (p[j] == '!' || p[j] == '^') {
				j++
			}
			for k := j; k < len(p); k++ {
				if p[k] == '\\' {
					k++
					continue
				}
				if p[k] == ']' && k > j {
					if ok, _ := doublestar.Match(p[i:k+1], "/"); ok {
						return true
					}
					i = k
					break
				}
			}
		}
	}
	return false
}

// fixedEnds returns the byte every name this segment matches must start
// with and end with, or -1 when it is not fixed.
func (g *seg) fixedEnds() (first, last int) {
	first, last = -1, -1
	switch g.kind {
	case segLiteral:
		if g.s != "" {
			first, last = int(g.s[0]), int(g.s[len(g.s)-1])
		}
	case segSuffix:
		if g.s != "" {
			last = int(g.s[len(g.s)-1])
		}
	case segPrefix:
		if g.s != "" {
			first = int(g.s[0])
		}
	case segStars:
		if p := g.parts[0]; p != "" {
			first = int(p[0])
		}
		if p := g.parts[len(g.parts)-1]; p != "" {
			last = int(p[len(p)-1])
		}
	}
	return first, last
}
