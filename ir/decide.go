package ir

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Env is the host a policy is judged on.
type Env struct {
	Bindings Bindings
	// Platform selects MinimalRoots. Empty means the platform polc runs
	// on.
	Platform Platform
	// Resolve canonicalizes a host path (symlinks in its existing part).
	// Nil means ResolvePath on the real filesystem.
	Resolve func(string) string
	// Exists reports whether a host path exists, for SkipIfMissing rules.
	// Nil means Exists on the real filesystem.
	Exists func(string) bool
	// Inputs maps the names the compiler gives input files that lie
	// under no variable ("--requirements:NAME", "--config:NAME") to the
	// files as the user named them, for display (HostFile).
	Inputs map[string]string
}

// Decision is the answer for one path and operation.
type Decision struct {
	Path    string `json:"path"`
	Op      Op     `json:"-"`
	Allowed bool   `json:"allowed"`
	// Access is the effective access the exact rules give the path
	// (Deny when none applies); a glob can still deny it.
	Access Access `json:"access"`
	// Rule is the deciding exact rule; nil when no rule matched (default
	// deny), for :minimal roots, and for an unrestricted policy.
	Rule *Rule `json:"rule,omitempty"`
	// Glob is the deny glob that decided, if one did.
	Glob *Glob `json:"glob,omitempty"`
	// GlobMatch is the path (the path itself or an ancestor) the glob matched.
	GlobMatch string `json:"glob_match,omitempty"`
	// Minimal is set when a :minimal system root decided.
	Minimal bool `json:"minimal,omitempty"`
	// AllowedWithinCap is the decision when glob matches deeper than the
	// glob's MaxDepth are ignored, except where the sandbox can write:
	// what snapshot-expanding platforms (Linux, Windows) enforce. It
	// equals Allowed unless BeyondCap.
	AllowedWithinCap bool `json:"allowed_within_cap"`
	// BeyondCap is set when only glob matches beyond the scan depth, in
	// places the sandbox cannot write, deny the path.
	BeyondCap bool `json:"beyond_cap,omitempty"`
	// env names origin files on the host in Reason (nil: as recorded).
	env *Env
}

// Reason is a one-line explanation of the decision. It names the files
// of origins on the host the Decider was built for (Env.HostOrigin).
func (d Decision) Reason() string {
	verdict := "denied"
	if d.Allowed {
		verdict = "allowed"
	}
	origin := func(o Origin) Origin {
		if d.env == nil {
			return o
		}
		return d.env.HostOrigin(o)
	}
	switch {
	case d.Glob != nil:
		s := fmt.Sprintf("%s: deny glob %q matches %s (%s)", verdict, d.Glob.Pattern, d.GlobMatch, origin(d.Glob.Origin))
		if d.BeyondCap {
			s += fmt.Sprintf("; beyond glob_scan_max_depth %d where the sandbox cannot write, so Linux and Windows leave it %s", d.Glob.MaxDepth, map[bool]string{true: "allowed", false: "denied"}[d.AllowedWithinCap])
		}
		return s
	case d.Rule != nil:
		return fmt.Sprintf("%s: %s rule %q (%s)", verdict, d.Rule.Access, d.Rule.Path, origin(d.Rule.Origin))
	case d.Minimal:
		return fmt.Sprintf("%s: :minimal system root (read)", verdict)
	case d.Access == Write:
		return verdict + ": unrestricted (sandbox disabled)"
	}
	return verdict + ": no rule grants access (default deny)"
}

type boundRule struct {
	rule    *Rule // nil for :minimal roots
	path    string
	depth   int
	access  Access
	missing bool // SkipIfMissing and absent: ignored
}

type boundGlob struct {
	glob    *Glob
	pattern string // Glob.Bind's host pattern
	base    string // and resolved base
}

// Decider answers Decide for one policy on one host; build it once with
// NewDecider and ask it many times.
type Decider struct {
	policy *Policy
	env    Env
	rules  []boundRule
	globs  []boundGlob
}

// NewDecider binds and resolves the policy's paths for env.
func NewDecider(p *Policy, env Env) (*Decider, error) {
	if env.Resolve == nil {
		env.Resolve = ResolvePath
	}
	if env.Exists == nil {
		env.Exists = Exists
	}
	if env.Platform == "" {
		env.Platform = HostPlatform()
	}
	n := len(p.Rules)
	if p.Minimal != nil {
		n += len(MinimalRoots[env.Platform])
	}
	d := &Decider{policy: p, env: env, rules: make([]boundRule, 0, n), globs: make([]boundGlob, 0, len(p.Globs))}
	for i := range p.Rules {
		r := &p.Rules[i]
		host, ok := env.Bindings.BindOK(r.Path)
		if !ok {
			return nil, fmt.Errorf("rule path %s: variable not bound", r.Path)
		}
		host = env.Resolve(host)
		d.rules = append(d.rules, boundRule{rule: r, path: host, depth: Depth(host), access: r.Access,
			missing: r.SkipIfMissing && !env.Exists(host)})
	}
	if p.Minimal != nil {
		for _, root := range MinimalRoots[env.Platform] {
			host := env.Resolve(root)
			d.rules = append(d.rules, boundRule{path: host, depth: Depth(host), access: Read})
		}
	}
	for i := range p.Globs {
		g := &p.Globs[i]
		hg, err := g.Bind(env)
		if err != nil {
			return nil, err
		}
		d.globs = append(d.globs, boundGlob{glob: g, pattern: hg.Pattern, base: hg.Base})
	}
	return d, nil
}

// Decide is the reference decision for one path and operation. See
// docs/design.md §2: deny globs (on the path or any ancestor) deny;
// mandatory denies deny; otherwise the deepest exact rule covering the
// path decides, ties going deny > write > read; no rule means deny. A glob match deeper than the
// glob's MaxDepth denies in Allowed; AllowedWithinCap, what Linux and
// Windows enforce, ignores it unless the exact rules let the sandbox
// write the matched path (it could have moved it below the cap there).
func (d *Decider) Decide(hostPath string, op Op) Decision {
	p := d.env.Resolve(hostPath)
	dec := Decision{Path: p, Op: op, env: &d.env}
	if d.policy.Unrestricted {
		dec.Access = Write
		dec.Allowed, dec.AllowedWithinCap = true, true
		return dec
	}

	best := d.exact(p)
	dec.Access = Deny
	if best != nil {
		dec.Access = best.access
		dec.Rule = best.rule
		dec.Minimal = best.rule == nil
	}
	exactAllowed := allows(dec.Access, op)

	// Deny globs: the path or any ancestor matching denies it. A match
	// deeper than the glob's cap still counts as within it where the
	// sandbox can write: there it could have moved the file down from
	// within the cap (mv a x/y/z/w/), and a snapshot platform that
	// stopped at the cap would leave it readable at the next launch.
	inCap, anyMatch := false, false
	var first *boundGlob
	firstMatch := ""
	for i := range d.globs {
		bg := &d.globs[i]
		for cand := p; HasPathPrefix(cand, bg.base) && cand != bg.base; cand = path.Dir(cand) {
			ok, _ := doublestar.Match(bg.pattern, cand)
			if !ok {
				continue
			}
			within := bg.glob.MaxDepth == 0 || Depth(cand)-Depth(bg.base) <= bg.glob.MaxDepth || d.writable(cand)
			if first == nil || (within && !inCap) {
				first, firstMatch = bg, cand
			}
			anyMatch = true
			if within {
				inCap = true
			}
		}
	}
	if anyMatch {
		dec.Glob, dec.GlobMatch = first.glob, firstMatch
		dec.Allowed = false
		dec.AllowedWithinCap = !inCap && exactAllowed
		dec.BeyondCap = !inCap
		return dec
	}
	dec.Allowed = exactAllowed
	dec.AllowedWithinCap = exactAllowed
	return dec
}

// exact is the exact rule that decides a resolved path: the deepest
// rule on it or an ancestor, ties by access order (deny > write > read),
// except that a mandatory deny wins outright. Nil means none (deny).
func (d *Decider) exact(p string) *boundRule {
	var best *boundRule
	var mandatory *boundRule
	for i := range d.rules {
		br := &d.rules[i]
		if br.missing || !HasPathPrefix(p, br.path) {
			continue
		}
		if br.rule != nil && br.rule.Mandatory && br.access == Deny {
			if mandatory == nil || br.depth < mandatory.depth {
				mandatory = br
			}
			continue
		}
		if best == nil || br.depth > best.depth || (br.depth == best.depth && br.access > best.access) {
			best = br
		}
	}
	if mandatory != nil {
		return mandatory
	}
	return best
}

// writable reports whether the exact rules let the sandbox write the
// resolved path p: create it, or move something there.
func (d *Decider) writable(p string) bool {
	best := d.exact(p)
	return best != nil && best.access == Write
}

// Region is a directory where the deny globs' depth cap is lifted or kept
// (globwalk.Region): the nearest (deepest) region at or above a path says
// whether the sandbox can write there.
type Region struct {
	Path     string
	Writable bool
}

// Regions lists, for a snapshot expansion, where the sandbox can write
// and where it cannot, as Decide judges it: for every bound rule path,
// whether the nearest region at or above a resolved path is writable
// equals whether Decide's exact rules grant write there. Rules below a
// mandatory deny are left out (the mandatory deny wins over them), and
// rules on one path keep the strongest access, as Decide breaks ties.
func (d *Decider) Regions() []Region {
	if d.policy.Unrestricted {
		return []Region{{Path: "/", Writable: true}}
	}
	var out []Region
	idx := map[string]int{}
	for i := range d.rules {
		br := &d.rules[i]
		if br.missing {
			continue
		}
		// The deciding rule on the path itself: a mandatory deny above it
		// makes it unwritable, as Decide's exact rules say.
		best := d.exact(br.path)
		w := best != nil && best.access == Write
		if j, ok := idx[br.path]; ok {
			out[j].Writable = w
			continue
		}
		idx[br.path] = len(out)
		out = append(out, Region{Path: br.path, Writable: w})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func allows(a Access, op Op) bool {
	switch op {
	case OpRead:
		return a == Read || a == Write
	case OpWrite:
		return a == Write
	}
	return false
}

// Decide is NewDecider followed by one Decide.
func Decide(p *Policy, env Env, hostPath string, op Op) (Decision, error) {
	d, err := NewDecider(p, env)
	if err != nil {
		return Decision{}, err
	}
	return d.Decide(hostPath, op), nil
}

// GlobBase returns the literal directory prefix of a pattern before its
// first glob character (* ? [): where a scan for it starts.
func GlobBase(pattern string) string {
	i := strings.IndexAny(pattern, "*?[")
	if i < 0 {
		return path.Dir(pattern)
	}
	j := strings.LastIndex(pattern[:i], "/")
	if j <= 0 {
		return "/"
	}
	return pattern[:j]
}

// HasGlobMeta reports whether s contains a glob character (* ? [ ]).
func HasGlobMeta(s string) bool { return strings.ContainsAny(s, "*?[]") }
