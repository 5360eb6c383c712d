package compiler

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"polc/diag"
	"polc/ir"
)

// hostGlob is a deny glob bound to this host.
type hostGlob struct {
	// sym is the policy's symbolic pattern, which matches report.
	sym           string
	pattern, base string
	maxDepth      int
}

// expander expands host globs; it is a variable so the walk can be
// switched to the shared one-walk engine (polc/globwalk).
var expander = walkExpand

// expandGlobs expands every deny glob against the tree as it is now, so
// that check and explain can name what each covers, and reports every
// file that matches beyond glob_scan_max_depth (Linux and Windows leave
// those readable).
func (s *state) expandGlobs() {
	pol := s.policy
	if pol == nil || pol.Unrestricted || s.opts.NoExpand || len(pol.Globs) == 0 {
		return
	}
	var hg []hostGlob
	for _, g := range pol.Globs {
		base, ok := s.bindings.BindOK(g.Base)
		if !ok {
			continue
		}
		pat, _ := s.bindings.BindOK(g.Pattern)
		rb := ir.ResolvePath(base)
		suffix := strings.TrimPrefix(pat, base)
		bound := rb + suffix
		if rb == "/" {
			bound = "/" + strings.TrimPrefix(suffix, "/")
		}
		hg = append(hg, hostGlob{sym: g.Pattern, pattern: bound, base: rb, maxDepth: g.MaxDepth})
	}
	exp, errs := expander(hg)
	s.expansion = exp
	for _, m := range exp.BeyondCap {
		g := s.globByPattern(m.Pattern)
		code := diag.BeyondScanDepth
		d := diag.Diagnostic{Code: code, Severity: code.Severity(), Pos: g.Origin.Pos,
			Message: fmt.Sprintf("deny glob `%s` matches %s at depth %d, beyond glob_scan_max_depth %d: Linux and Windows leave it readable", g.Origin.Key, m.Path, m.Depth, g.MaxDepth),
			Fix:     fmt.Sprintf("raise glob_scan_max_depth to at least %d, or deny the file with an exact rule", m.Depth)}
		if s.opts.Strict {
			d.Severity = diag.Error
		}
		s.diags = append(s.diags, d)
	}
	for _, e := range errs {
		s.diags.Addf(diag.GlobScanError, diag.Pos{}, "make the directory readable, or deny it with an exact rule", "deny glob scan: %v", e)
	}
}

func (s *state) globByPattern(p string) ir.Glob {
	for _, g := range s.policy.Globs {
		if g.Pattern == p {
			return g
		}
	}
	return ir.Glob{}
}

// walkExpand is a plain per-glob walk: it does not follow symlinks, does
// not descend into a matched directory, and keeps walking below the cap
// only to list what lies beyond it.
func walkExpand(globs []hostGlob) (*Expansion, []error) {
	exp := &Expansion{}
	var errs []error
	for _, g := range globs {
		limit := -1 // unbounded walk
		if !strings.Contains(g.pattern, "**") {
			limit = ir.Depth(g.pattern) - ir.Depth(g.base)
		}
		_ = filepath.WalkDir(g.base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p != g.base {
					errs = append(errs, err)
				}
				return nil
			}
			if p == g.base {
				return nil
			}
			depth := ir.Depth(p) - ir.Depth(g.base)
			if ok, _ := doublestar.Match(g.pattern, p); ok {
				m := ExpandedMatch{Path: p, Pattern: g.sym, Depth: depth, IsDir: d.IsDir()}
				if g.maxDepth == 0 || depth <= g.maxDepth {
					exp.Matches = append(exp.Matches, m)
				} else {
					exp.BeyondCap = append(exp.BeyondCap, m)
				}
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() && limit >= 0 && depth >= limit {
				return fs.SkipDir
			}
			return nil
		})
	}
	sortMatches(exp.Matches)
	sortMatches(exp.BeyondCap)
	return exp, errs
}

func sortMatches(ms []ExpandedMatch) {
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Path != ms[j].Path {
			return ms[i].Path < ms[j].Path
		}
		return ms[i].Pattern < ms[j].Pattern
	})
}
