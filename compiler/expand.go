package compiler

import (
	"fmt"
	"sort"
	"strings"

	"polc/diag"
	"polc/globwalk"
	"polc/ir"
)

// hostGlob is a deny glob bound to this host.
type hostGlob struct {
	// sym is the policy's symbolic pattern, which matches report.
	sym           string
	pattern, base string
	maxDepth      int
}

// expander expands host globs (a variable, so tests can count or stub walks).
var expander = globwalkExpand

// expandGlobs expands every deny glob against the tree as it is now, so
// that check and explain can name what each covers, and reports every
// file that matches beyond glob_scan_max_depth where the sandbox cannot
// write (Linux and Windows leave those readable; where it can write they
// lift the cap, as ir.Decide's AllowedWithinCap says, so a match there is
// covered whatever its depth).
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
	var regions []globwalk.Region
	if dec, err := ir.NewDecider(pol, ir.Env{Bindings: s.bindings}); err == nil {
		for _, r := range dec.Regions() {
			regions = append(regions, globwalk.Region{Path: r.Path, Uncapped: r.Writable})
		}
	}
	exp, errs := expander(hg, regions, s.opts.ExpandCacheDir, s.opts.ExpandCacheKey)
	s.expansion = exp
	for _, m := range exp.BeyondCap {
		g := s.globByPattern(m.Pattern)
		code := diag.BeyondScanDepth
		d := diag.Diagnostic{Code: code, Severity: code.Severity(), Pos: g.Origin.Pos,
			Message: fmt.Sprintf("deny glob `%s` matches %s at depth %d, beyond glob_scan_max_depth %d where the sandbox cannot write: Linux and Windows leave it readable", g.Origin.Key, m.Path, m.Depth, g.MaxDepth),
			Fix:     s.scanDepthFix(m.Depth)}
		if s.opts.Strict {
			d.Severity = diag.Error
		}
		s.diags = append(s.diags, d)
	}
	for _, e := range errs {
		s.diags.Addf(diag.GlobScanError, diag.Pos{}, "make the directory readable, or deny it with an exact rule", "deny glob scan: %v", e)
	}
}

// globByPattern finds the glob a match came from; the capped one when a
// requirement glob has the same pattern (only a capped glob has matches
// beyond its cap).
func (s *state) globByPattern(p string) ir.Glob {
	var found ir.Glob
	for _, g := range s.policy.Globs {
		if g.Pattern == p && (found.Pattern == "" || g.MaxDepth > 0) {
			found = g
		}
	}
	return found
}

// scanDepthFix names the setting that causes the cap: the profile's
// glob_scan_max_depth and where it is written.
func (s *state) scanDepthFix(depth int) string {
	where := "glob_scan_max_depth"
	if s.prof != nil && s.prof.scanDepthPos.File != "" {
		where = fmt.Sprintf("glob_scan_max_depth at %s (profile `%s`)", s.prof.scanDepthPos, s.prof.id)
	}
	return fmt.Sprintf("raise %s to at least %d, or deny the file with an exact rule", where, depth)
}

// globwalkExpand runs the shared one-walk engine (polc/globwalk) over
// every glob at once, listing beyond-cap matches too; the regions lift
// the caps where the sandbox can write, as at launch.
func globwalkExpand(globs []hostGlob, regions []globwalk.Region, cacheDir string, cacheKey []byte) (*Expansion, []error) {
	pats := make([]globwalk.Pattern, len(globs))
	for i, g := range globs {
		pats[i] = globwalk.Pattern{Pattern: g.pattern, Base: g.base, MaxDepth: g.maxDepth}
	}
	res, err := globwalk.Expand(pats, globwalk.Options{ReportBeyondCap: true, CacheDir: cacheDir, CacheKey: cacheKey, Regions: regions})
	if err != nil {
		return &Expansion{}, []error{err}
	}
	conv := func(ms []globwalk.Match) []ExpandedMatch {
		out := make([]ExpandedMatch, 0, len(ms))
		for _, m := range ms {
			out = append(out, ExpandedMatch{Path: m.Path, Pattern: globs[m.Pattern].sym, Depth: m.Depth, IsDir: m.IsDir})
		}
		sortMatches(out)
		return out
	}
	exp := &Expansion{Matches: conv(res.Matches), BeyondCap: conv(res.BeyondCap)}
	var errs []error
	for _, e := range res.Errors {
		errs = append(errs, e)
	}
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
