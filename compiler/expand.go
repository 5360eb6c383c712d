package compiler

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"polc/diag"
	"polc/internal/globwalk"
	"polc/ir"
)

// hostGlob is a deny glob bound to this host.
type hostGlob struct {
	// sym is the policy's symbolic pattern, which matches report.
	sym           string
	pattern, base string
	maxDepth      int
	// pos is where the glob is written.
	pos diag.Pos
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
		b, err := g.Bind(ir.Env{Bindings: s.bindings})
		if err != nil {
			continue
		}
		hg = append(hg, hostGlob{sym: g.Pattern, pattern: b.Pattern, base: b.Base, maxDepth: b.MaxDepth, pos: g.Origin.Pos})
	}
	var regions []globwalk.Region
	if dec, err := ir.NewDecider(pol, ir.Env{Bindings: s.bindings}); err == nil {
		for _, r := range dec.Regions() {
			regions = append(regions, globwalk.Region{Path: r.Path, Uncapped: r.Writable})
		}
	}
	exp, errs := expander(hg, regions, s.opts.ExpandCacheDir, s.opts.ExpandCacheKey)
	s.expansion = exp
	s.reportBeyondCap(exp.BeyondCap)
	s.reportScanErrors(hg, errs)
}

// shownPaths is how many paths a grouped diagnostic names without
// --verbose.
const shownPaths = 3

// showable reports whether a diagnostic may name the host path p without
// --verbose: it lies in the project or the user's home. Other places
// (other users' homes, system directories) are counted, not named.
func (s *state) showable(p string) bool {
	return s.opts.Verbose || ir.HasPathPrefix(p, s.dir) || s.home != "" && ir.HasPathPrefix(p, s.home)
}

// sample names the first shownPaths showable items (every item with
// --verbose) and says how many it leaves out.
func (s *state) sample(paths, items []string) string {
	var named []string
	hidden := 0
	for i, p := range paths {
		switch {
		case !s.showable(p):
			hidden++
		case len(named) < shownPaths || s.opts.Verbose:
			named = append(named, items[i])
		}
	}
	out := strings.Join(named, ", ")
	var extra []string
	if n := len(paths) - len(named) - hidden; n > 0 {
		extra = append(extra, fmt.Sprintf("%d more", n))
	}
	if hidden > 0 {
		extra = append(extra, fmt.Sprintf("%d outside the project and the home", hidden))
	}
	if len(extra) == 0 {
		return out
	}
	rest := strings.Join(extra, " and ") + " (--verbose lists them)"
	if out == "" {
		return rest
	}
	return out + ", " + rest
}

// reportBeyondCap says, once per deny glob, which files it matches
// beyond glob_scan_max_depth where the sandbox cannot write (POL061): a
// glob anchored high up can match thousands, and one line each would
// bury everything else.
func (s *state) reportBeyondCap(beyond []ExpandedMatch) {
	byPattern := map[string][]ExpandedMatch{}
	var order []string
	for _, m := range beyond {
		if byPattern[m.Pattern] == nil {
			order = append(order, m.Pattern)
		}
		byPattern[m.Pattern] = append(byPattern[m.Pattern], m)
	}
	for _, pat := range order {
		ms := byPattern[pat]
		g := s.globByPattern(pat)
		deepest := 0
		paths := make([]string, len(ms))
		for i, m := range ms {
			deepest = max(deepest, m.Depth)
			paths[i] = m.Path
		}
		code := diag.BeyondScanDepth
		d := diag.Diagnostic{Code: code, Severity: code.Severity(), Pos: g.Origin.Pos, Fix: s.scanDepthFix(deepest)}
		if len(ms) == 1 && s.showable(ms[0].Path) {
			d.Message = fmt.Sprintf("deny glob `%s` matches %s at depth %d, beyond glob_scan_max_depth %d where the sandbox cannot write: Linux and Windows leave it readable", g.Origin.Key, ms[0].Path, ms[0].Depth, g.MaxDepth)
		} else {
			files, them := fmt.Sprintf("%d files", len(ms)), "them"
			if len(ms) == 1 {
				files, them = "1 file", "it"
			}
			d.Message = fmt.Sprintf("deny glob `%s` matches %s beyond glob_scan_max_depth %d where the sandbox cannot write (down to depth %d): Linux and Windows leave %s readable: %s",
				g.Origin.Key, files, g.MaxDepth, deepest, them, s.sample(paths, paths))
		}
		if s.opts.Strict {
			d.Severity = diag.Error
		}
		s.diags = append(s.diags, d)
	}
}

// reportScanErrors says once which directories the deny-glob scan could
// not read (POL063), at the glob whose walk met the first of them.
func (s *state) reportScanErrors(hg []hostGlob, errs []error) {
	if len(errs) == 0 {
		return
	}
	var paths, items []string
	var pos diag.Pos
	for _, e := range errs {
		p, item := "", e.Error()
		var se globwalk.ScanError
		if errors.As(e, &se) {
			p, item = se.Path, fmt.Sprintf("%s (%s)", se.Path, se.Err)
		}
		if pos.IsZero() && p != "" {
			for _, g := range hg {
				if ir.HasPathPrefix(p, g.base) {
					pos = g.pos
					break
				}
			}
		}
		paths, items = append(paths, p), append(items, item)
	}
	fix := "make the directory readable, or deny it with an exact rule"
	if len(errs) == 1 && s.showable(paths[0]) {
		s.diags.Addf(diag.GlobScanError, pos, fix, "deny glob scan: %v", errs[0])
		return
	}
	dirs := fmt.Sprintf("%d directories", len(errs))
	if len(errs) == 1 {
		dirs = "1 directory"
	}
	s.diags.Addf(diag.GlobScanError, pos, "make the directories readable, or deny them with exact rules",
		"deny glob scan could not read %s, so a deny glob may miss matches there: %s", dirs, s.sample(paths, items))
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
