package compiler

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"polc/diag"
	"polc/ir"
)

// check looks for the conflicts polc check reports (README, "polc check") in the bound policy: grants
// a requirement overrides, dead and redundant rules, grants that pierce
// protected metadata or hide below a denied directory, write roots that
// do not exist, and symlinks that would let the sandbox undo a deny.
func (s *state) check() {
	s.checkLandlock()
	pol := s.policy
	if pol == nil || pol.Unrestricted {
		return
	}
	dec, err := ir.NewDecider(pol, s.hostEnv())
	if err != nil {
		s.diags.Addf(diag.BadGlob, diag.Pos{}, "fix the rule", "cannot evaluate the policy: %v", err)
		return
	}
	for i := range pol.Rules {
		r := &pol.Rules[i]
		if r.Origin.Kind == ir.OriginProtected || r.Mandatory {
			continue
		}
		host, ok := s.bindings.BindOK(r.Path)
		if !ok {
			continue
		}
		user := r.Origin.Kind == ir.OriginConfig || r.Origin.Kind == ir.OriginLegacy
		op := ir.OpRead
		if r.Access == ir.Write {
			op = ir.OpWrite
		}
		d := dec.Decide(host, op)
		// A grant the requirements override: the user's is located at the
		// grant, whose removal changes nothing; a built-in's (the
		// profile's .git carve-out) has no line to edit, so it is located
		// at the requirement and needs no fix.
		//
		// Either way the fix keeps the requirement's deny: the grant is
		// what has no effect.
		grantAt := func(req diag.Pos, what string) (diag.Pos, diag.Related, string) {
			if user && !r.Origin.Pos.IsZero() {
				return r.Origin.Pos, diag.Rel(req, "the requirement's "+what),
					fmt.Sprintf("remove this grant, which has no effect: the requirement keeps %s denied whatever the profile says", r.Path)
			}
			return req, diag.Rel(r.Origin.Pos, r.Origin.Profile+"'s built-in grant"),
				fmt.Sprintf("none needed: the requirement wins over %s's built-in grant", r.Origin.Profile)
		}
		switch {
		case r.Access != ir.Deny && d.Rule != nil && d.Rule.Mandatory:
			pos, rel, fix := grantAt(d.Rule.Origin.Pos, "deny "+d.Rule.Path)
			s.related(diag.RequirementDenyConflict, pos, rel,
				fmt.Sprintf("%s grant on %s is overridden by the requirement deny %s (%s)", r.Access, r.Path, d.Rule.Path, d.Rule.Origin.Pos), fix)
		case r.Access != ir.Deny && d.Glob != nil && d.Glob.Mandatory && !d.BeyondCap:
			pos, rel, fix := grantAt(d.Glob.Origin.Pos, "deny glob "+d.Glob.Pattern)
			s.related(diag.RequirementDenyConflict, pos, rel,
				fmt.Sprintf("%s grant on %s is overridden by the requirement deny glob %s (%s)", r.Access, r.Path, d.Glob.Pattern, d.Glob.Origin.Pos), fix)
		case !user:
		case r.Access == ir.Deny && d.Rule != nil && d.Rule != r && d.Rule.Mandatory:
			// The user's own deny repeats the admin's: defence in depth,
			// worth a note and nothing to fix (removing the requirement's
			// entry would drop the deny for every other profile).
			s.repeatsRequirement(r.Origin.Pos, d.Rule.Origin.Pos, "deny rule "+r.Path)
		// POL031: a rule that decides nothing. The fix only ever removes
		// the rule that has no effect, and never a deny: a deny that
		// another deny covers keeps the path denied should that one be
		// narrowed.
		case r.Access != ir.Deny && d.Glob != nil && !d.BeyondCap:
			s.related(diag.DeadRule, r.Origin.Pos, diag.Rel(d.Glob.Origin.Pos, "the deny glob "+d.Glob.Origin.Key),
				fmt.Sprintf("%s rule %s has no effect: the deny glob %s matches %s, which contains it", r.Access, r.Path, d.Glob.Origin.Key, d.GlobMatch),
				fmt.Sprintf("remove this %s rule: the deny glob %s keeps %s denied", r.Access, d.Glob.Origin.Key, d.GlobMatch))
		case d.Rule != nil && d.Rule != r:
			fix := fmt.Sprintf("remove this %s rule: the %s rule at %s decides %s", r.Access, d.Rule.Access, d.Rule.Origin.Pos, r.Path)
			if r.Access == ir.Deny {
				fix = fmt.Sprintf("none needed: %s is denied either way (by the deny at %s too)", r.Path, d.Rule.Origin.Pos)
			}
			s.related(diag.DeadRule, r.Origin.Pos, diag.Rel(d.Rule.Origin.Pos, "the "+d.Rule.Access.String()+" rule that wins"),
				fmt.Sprintf("%s rule %s has no effect: %s rule %s (%s) names the same path and wins", r.Access, r.Path, d.Rule.Access, d.Rule.Path, d.Rule.Origin), fix)
		default:
			// A rule on a protected name is never redundant: it replaces the protection.
			if parent := filepath.Dir(host); parent != host && !contains(protectedNames, filepath.Base(host)) {
				pd := dec.Decide(parent, ir.OpRead)
				// Only within one profile: a child's key that repeats the
				// grandparent's access may still override its parent's key.
				if pd.Rule != nil && pd.Rule.Access == r.Access && pd.Glob == nil && pd.Rule.Origin.Kind == r.Origin.Kind && pd.Rule.Origin.Profile == r.Origin.Profile {
					fix := fmt.Sprintf("remove this %s rule: %s grants it already", r.Access, pd.Rule.Path)
					if r.Access == ir.Deny {
						fix = fmt.Sprintf("none needed: the deny on %s covers it, and this one keeps %s denied if that deny is ever narrowed", pd.Rule.Path, r.Path)
					}
					s.related(diag.DeadRule, r.Origin.Pos, diag.Rel(pd.Rule.Origin.Pos, "the "+pd.Rule.Access.String()+" rule on "+pd.Rule.Path),
						fmt.Sprintf("%s rule %s has no effect: %s already gets %s from %s", r.Access, r.Path, r.Path, r.Access, pd.Rule.Path), fix)
				} else if pd.Rule != nil && pd.Rule.Access == ir.Deny && r.Access != ir.Deny && pd.Rule.Origin.Kind == ir.OriginConfig && pd.Rule.Path != "/" {
					// Under a denied / the grants are simply what the
					// profile reads, and Codex keeps them too. Below a
					// denied directory Codex on Linux keeps a writable
					// carve-out but loses a read-only one (both recorded).
					codex := "Codex does too"
					if r.Access == ir.Read {
						codex = "Codex 0.169.0 on Linux denies it"
					}
					s.related(diag.ReadWriteUnderDeny, r.Origin.Pos, diag.Rel(pd.Rule.Origin.Pos, "the deny on "+pd.Rule.Path),
						fmt.Sprintf("%s grant on %s lies inside the denied %s; polc keeps it reachable (%s)", r.Access, r.Path, pd.Rule.Path, codex),
						"nothing to do if this is intended; the parent stays unlistable")
				}
			}
		}
		if user && r.Access == ir.Write {
			s.checkWriteRoot(r, host)
			s.checkPiercesProtected(r)
		}
	}
	for _, g := range pol.Globs {
		if g.Mandatory || g.Origin.Kind != ir.OriginConfig {
			continue
		}
		for _, m := range pol.Globs {
			if m.Mandatory && m.Pattern == g.Pattern {
				s.repeatsRequirement(g.Origin.Pos, m.Origin.Pos, "deny glob "+g.Pattern)
				break
			}
		}
	}
	s.checkSymlinks(dec)
	// After an error, a dropped rule would be blamed here a second time.
	if !s.diags.HasErrors() {
		s.checkRunnable(dec)
	}
}

// repeatsRequirement notes a profile deny that a requirement makes too
// (POL172): defence in depth, not a conflict to resolve.
func (s *state) repeatsRequirement(pos, req diag.Pos, what string) {
	s.related(diag.DenyRepeatsRequirement, pos, diag.Rel(req, "the requirement's deny"),
		fmt.Sprintf("%s repeats the requirement deny at %s: defence in depth, and it keeps the path denied if the requirement is lifted", what, req),
		"none needed: keep both (the requirement's entry also protects every other profile)")
}

// related adds a diagnostic with one related place (dropped when it has
// no position).
func (s *state) related(code diag.Code, pos diag.Pos, rel diag.Related, msg, fix string) {
	d := diag.Diagnostic{Code: code, Severity: code.Severity(), Pos: pos, Message: msg, Fix: fix}
	if !rel.IsZero() {
		d.Related = []diag.Related{rel}
	}
	s.diags = append(s.diags, d)
}

// checkWriteRoot warns about a write grant on a path that does not
// exist: it grants nothing until it is created (a bind mount needs it).
func (s *state) checkWriteRoot(r *ir.Rule, host string) {
	if _, err := s.stat(host); err == nil {
		return
	}
	s.diags.Addf(diag.MissingWriteRoot, r.Origin.Pos, "create the directory before running, or remove the rule",
		"writable path %s (%s) does not exist: the grant has no effect until it is created", r.Path, host)
}

// checkPiercesProtected warns about a write grant inside a protected
// metadata directory of a writable root when that directory itself has no
// explicit rule: the grant quietly opens part of .git or .codex.
func (s *state) checkPiercesProtected(r *ir.Rule) {
	for _, p := range s.policy.Rules {
		if p.Origin.Kind != ir.OriginProtected || !strings.HasPrefix(r.Path, p.Path+"/") {
			continue
		}
		s.related(diag.ProtectedWrite, r.Origin.Pos, diag.Rel(p.Origin.Pos, "the protected "+p.Path),
			fmt.Sprintf("write grant on %s opens part of protected metadata %s, which otherwise stays read-only", r.Path, p.Path),
			fmt.Sprintf("if intended, add an explicit rule for %s to make the exception visible", p.Path))
		return
	}
}

// checkSymlinks fails closed when a denied or protected path runs
// through a symlink that lives in a writable directory: the sandboxed
// command could replace the link by a real directory, and the deny (which
// the sandbox applies to the link's target) would no longer cover it.
func (s *state) checkSymlinks(dec *ir.Decider) {
	for _, r := range s.policy.Rules {
		// Read rules matter too: below a writable directory they are
		// carve-outs (.git under the workspace) the link would void.
		if r.Access == ir.Write {
			continue
		}
		host, ok := s.bindings.BindOK(r.Path)
		if !ok || !filepath.IsAbs(host) {
			continue
		}
		host = filepath.Clean(host)
		// Walk the path from the top; report the first link whose parent
		// the sandbox may write.
		parts := strings.Split(strings.TrimPrefix(host, "/"), "/")
		cur := ""
		for _, part := range parts {
			parent := cur
			if parent == "" {
				parent = "/"
			}
			cur += "/" + part
			st, err := s.lstat(cur)
			if err != nil {
				break
			}
			if st.Mode()&os.ModeSymlink == 0 {
				continue
			}
			if !dec.Decide(parent, ir.OpWrite).Allowed {
				continue
			}
			target, _ := s.evalSymlinks(cur)
			kind := "denied"
			if r.Access == ir.Read {
				kind = "read-only"
			}
			s.diags.Addf(diag.SymlinkCrossesRoot, r.Origin.Pos,
				fmt.Sprintf("replace the link %s by the real directory, or make %s read-only", cur, parent),
				"%s path %s runs through the symlink %s (-> %s) in the writable directory %s: the sandbox could replace the link and escape the rule",
				kind, r.Path, cur, target, parent)
			break
		}
	}
}
