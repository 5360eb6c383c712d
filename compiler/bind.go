package compiler

import (
	"strings"

	"polc/diag"
	"polc/ir"
)

// bindRoots turns the profile's entries into the symbolic ir.Policy:
// :workspace_roots becomes ${WORKSPACE_ROOT} and each extra root, :tmpdir
// ${TMPDIR} (dropped when TMPDIR is unset or relative), :slash_tmp /tmp,
// :root /. Paths stay symbolic so the artifact is the same on every
// machine; Result.Env carries the host values.
func (s *state) bindRoots() {
	p := s.prof
	pol := &ir.Policy{
		Profile:          p.id,
		Extends:          p.extends,
		Unrestricted:     p.unrestricted,
		Minimal:          p.minimal,
		WorkspaceRoots:   append([]string{ir.VarWorkspaceRoot}, p.workspaceRoots...),
		Rules:            []ir.Rule{},
		GlobScanMaxDepth: p.scanDepth,
		Network:          p.network,
		Approvals:        s.approvals,
	}
	if pol.Network.Mode == "" {
		pol.Network.Mode = ir.NetworkNone
	}
	pol.RequirementsDigest = s.reqs.digest
	s.policy = pol
	if p.unrestricted {
		s.diags.Addf(diag.DangerFullAccess, p.pos, "use :workspace, or a profile that extends it, unless the command must run unconfined",
			"profile `%s` disables the sandbox: the command can read and write everything and use the network", p.id)
		return
	}
	seenRule := map[string]bool{}
	addRule := func(r ir.Rule) {
		k := r.Path + "\x00" + r.Access.String()
		if r.Mandatory {
			k += "\x00m"
		}
		if seenRule[k] {
			return
		}
		seenRule[k] = true
		pol.Rules = append(pol.Rules, r)
	}
	seenGlob := map[string]bool{}
	addGlob := func(g ir.Glob) {
		k := g.Pattern
		if g.Mandatory {
			k += "\x00m"
		}
		if seenGlob[k] {
			return
		}
		seenGlob[k] = true
		g.Base = ir.GlobBase(g.Pattern)
		// A requirement's deny glob is never narrowed by the user: the
		// profile's glob_scan_max_depth caps only the profile's own globs.
		if !g.Mandatory {
			g.MaxDepth = p.scanDepth
		}
		pol.Globs = append(pol.Globs, g)
	}
	for _, e := range p.entries {
		for _, base := range s.bases(e) {
			path := base
			if e.sub != "" {
				path = joinSym(base, e.sub)
			}
			if e.glob {
				addGlob(ir.Glob{Pattern: path, Mandatory: e.mandatory, Origin: e.origin})
				continue
			}
			addRule(ir.Rule{Path: path, Access: e.access, Mandatory: e.mandatory, Origin: e.origin})
		}
	}
	for _, g := range pol.Globs {
		if g.MaxDepth == 0 && strings.Contains(g.Pattern, "**") && g.Mandatory {
			s.diags.Addf(diag.UnboundedGlob, g.Origin.Pos, "narrow the pattern's directory prefix to bound the scan (glob_scan_max_depth belongs to a profile and does not cap a requirement's glob)",
				"requirement deny glob `%s` is never capped by glob_scan_max_depth: Linux and Windows scan the whole tree below %s at every launch", g.Origin.Key, g.Base)
		} else if g.MaxDepth == 0 && strings.Contains(g.Pattern, "**") {
			s.diags.Addf(diag.UnboundedGlob, g.Origin.Pos, s.scanDepthAdvice(g),
				"deny glob `%s` has no glob_scan_max_depth: Linux and Windows scan the whole tree below %s at every launch", g.Origin.Key, g.Base)
		}
	}
}

// bases lists the symbolic paths an entry's base stands for.
func (s *state) bases(e entry) []string {
	switch e.base {
	case "":
		return []string{""}
	case ":root":
		return []string{"/"}
	case ":slash_tmp":
		return []string{"/tmp"}
	case ":tmpdir":
		if _, ok := s.bindings[ir.VarTmpdir]; !ok {
			return nil // Codex: the entry resolves to nothing
		}
		return []string{ir.VarTmpdir}
	case ":workspace_roots":
		return s.policy.WorkspaceRoots
	}
	return []string{e.base}
}

// joinSym joins a symbolic base and a relative sub-path.
func joinSym(base, sub string) string {
	if base == "" {
		return sub
	}
	if base == "/" {
		return "/" + sub
	}
	return strings.TrimSuffix(base, "/") + "/" + sub
}

// scanDepthAdvice is POL062's fix for a profile's unbounded glob: the
// table the setting goes in is the filesystem table of the profile that
// writes the glob. A managed profile's is in the requirements, and the
// requirements' own [permissions.filesystem] takes only deny_read, so
// the fix says which table it is not.
func (s *state) scanDepthAdvice(g ir.Glob) string {
	table := FilesystemTable(g.Origin.Profile)
	if g.Origin.Profile == "" {
		table = "the profile's filesystem table"
	}
	fix := "add glob_scan_max_depth (for example 3) to " + table
	for _, l := range s.reqLayers {
		if l.file == g.Origin.Pos.File {
			fix += " in the requirements (not to [permissions.filesystem], which takes only deny_read)"
			break
		}
	}
	return fix + " to bound the scan"
}
