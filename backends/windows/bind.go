package windows

import (
	"fmt"
	"sort"

	"polc/diag"
	"polc/internal/globwalk"
	"polc/ir"
)

// ACE is one concrete access control entry on a host path.
type ACE struct {
	Deny bool
	// SID is a principal ref (resolved to a real SID by the runtime).
	SID  string
	Mask uint32
	// Inherit is CI|OI: the ACE applies to everything below.
	Inherit bool
	// Baseline ACEs are the host's own (system roots, the real user's
	// files): modelled, never written.
	Baseline bool
	// Why names the rule, glob match or host fact behind the ACE.
	Why string
}

// Node is a host path with explicit ACEs.
type Node struct {
	// Path is the bound host path as found (original case).
	Path string
	ACEs []ACE
	// Protected DACLs do not inherit from above (Windows system roots).
	Protected bool
	// Materialize: create the path as a directory if missing.
	Materialize bool
}

// Bound is a plan mode bound to one host: the ACL table the runtime
// writes, the token it builds and the globs it expanded. The evaluator
// runs access checks on it; the runtime applies it.
type Bound struct {
	Mode     string
	Identity string
	// Normal are the token's SIDs for the normal access check;
	// Restricting the restricting SIDs (checked for writes only when
	// WriteRestricted).
	Normal, Restricting []string
	WriteRestricted     bool
	Unrestricted        bool
	// Nodes by Key.
	Nodes map[string]*Node
	// GlobMatches are the host paths the deny globs matched, by Key.
	GlobMatches map[string]string
	// Skipped are steps dropped at bind time, with the reason.
	Skipped []string
	// Gaps found on this host (Path is a host path): missing writable
	// roots, which grant nothing (fail closed).
	Gaps []Gap
	Plan *Plan
}

// BoundGlob is one deny glob with host paths bound.
type BoundGlob struct {
	Pattern, Base string
	MaxDepth      int
}

// Expander expands deny globs on the host: the paths that match now,
// within each glob's depth cap, which regions lift where the sandbox can
// write (directories too; symlinks not followed).
type Expander func(globs []BoundGlob, regions []globwalk.Region) ([]GlobHit, error)

// GlobHit is one match: a host path and the index of the glob. The walk
// starts at a resolved base and follows no link, so only a match that is
// itself a symlink lies elsewhere.
type GlobHit struct {
	Path    string
	Glob    int
	Symlink bool
}

// Bind turns one mode of the plan into the concrete ACL table for env.
// It is the single place where the plan meets a host: the runtime applies
// what it returns, and the evaluator checks against it.
func (p *Plan) Bind(mode string, env ir.Env, expand Expander) (*Bound, error) {
	m, ok := p.Modes[mode]
	if !ok {
		return nil, fmt.Errorf("windows plan has no %s mode", mode)
	}
	if env.Resolve == nil {
		env.Resolve = ir.ResolvePath
	}
	if env.Exists == nil {
		env.Exists = ir.Exists
	}
	if expand == nil {
		expand = GlobExpand
	}
	b := &Bound{Mode: mode, Identity: m.Identity, Nodes: map[string]*Node{}, GlobMatches: map[string]string{}, Plan: p,
		Unrestricted: p.Unrestricted}
	if p.Unrestricted {
		return b, nil
	}
	b.token(m)
	b.baseline(p, mode)

	// ACE steps, grouped by host path; on a path several rules reach,
	// only the winner's ACEs stay (mandatory deny, then deny > write > read).
	type group struct {
		path  string
		steps []Step
	}
	groups := map[string]*group{}
	missingRoot := map[string]bool{}
	var globSteps []Step
	for _, s := range m.Steps {
		switch s.Op {
		case OpGlobDeny:
			globSteps = append(globSteps, s)
			continue
		case OpACLAllow, OpACLDeny:
		default:
			continue
		}
		host, ok := env.Bindings.BindOK(s.Path)
		if !ok {
			return nil, fmt.Errorf("windows plan: %s: variable not bound", s.Path)
		}
		host = env.Resolve(host)
		if s.SkipIfMissing && !env.Exists(host) {
			b.Skipped = append(b.Skipped, fmt.Sprintf("%s %s %s: %s does not exist", s.Op, s.SID, s.Path, host))
			continue
		}
		if s.Access == "write" && !s.Materialize && host != "/" && !env.Exists(host) {
			b.Skipped = append(b.Skipped, fmt.Sprintf("%s %s %s: %s does not exist", s.Op, s.SID, s.Path, host))
			if !missingRoot[host] {
				missingRoot[host] = true
				for _, op := range []string{"read", "write"} {
					b.Gaps = append(b.Gaps, Gap{Code: string(diag.MissingWriteRoot), Op: op, Path: host,
						Message: fmt.Sprintf("writable root %s does not exist at launch: it grants nothing until it does", host),
						Fix:     "create it before the run"})
				}
			}
			continue
		}
		k := Key(host)
		g := groups[k]
		if g == nil {
			g = &group{path: host}
			groups[k] = g
		}
		g.steps = append(g.steps, s)
	}
	mandatory := map[string][]ACE{} // key → denies that nothing below may re-grant
	winner := map[string]Step{}     // key → the winning rule's step
	hostPath := map[string]string{} // key → the host path as found
	for k, g := range groups {
		win := g.steps[0]
		for _, s := range g.steps[1:] {
			if stepBeats(s, win) {
				win = s
			}
		}
		winner[k], hostPath[k] = win, g.path
		n := b.node(k, g.path)
		for _, s := range g.steps {
			if s.Access != win.Access || s.Mandatory != win.Mandatory {
				continue
			}
			mask, err := s.MaskValue()
			if err != nil {
				return nil, err
			}
			ace := ACE{Deny: s.Op == OpACLDeny, SID: s.SID, Mask: mask, Inherit: s.Inheritable(), Why: s.Why}
			n.ACEs = append(n.ACEs, ace)
			n.Materialize = n.Materialize || s.Materialize
			if s.Mandatory && ace.Deny {
				mandatory[k] = append(mandatory[k], ace)
			}
		}
	}

	// Deny globs: expand now (as the runtime does at launch) and deny
	// each match; a match is judged where it really is, so symlinks are
	// left to their targets.
	if len(globSteps) > 0 {
		var globs []BoundGlob
		index := map[string][]Step{}
		for _, s := range globSteps {
			bg, err := bindGlob(s, env)
			if err != nil {
				return nil, err
			}
			id := bg.Pattern + "\x00" + fmt.Sprint(bg.MaxDepth)
			if _, seen := index[id]; !seen {
				globs = append(globs, bg)
			}
			index[id] = append(index[id], s)
		}
		hits, err := expand(globs, writableRegions(winner, hostPath, mandatory))
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			if h.Glob < 0 || h.Glob >= len(globs) {
				return nil, fmt.Errorf("glob expansion: match %s names glob %d of %d", h.Path, h.Glob, len(globs))
			}
			mp := h.Path
			if h.Symlink {
				continue // judged where it points, as ir.Decide judges it
			}
			bg := globs[h.Glob]
			k := Key(mp)
			b.GlobMatches[k] = mp
			n := b.node(k, mp)
			for _, s := range index[bg.Pattern+"\x00"+fmt.Sprint(bg.MaxDepth)] {
				mask, err := s.MaskValue()
				if err != nil {
					return nil, err
				}
				ace := ACE{Deny: true, SID: s.SID, Mask: mask, Inherit: true, Why: s.Why + " matches " + mp}
				n.ACEs = append(n.ACEs, ace)
				mandatory[k] = append(mandatory[k], ace)
			}
		}
	}

	// Nothing re-grants below a mandatory deny or a glob match: copy
	// their denies onto every path below that carries its own grants
	// (an explicit allow there would otherwise beat the inherited deny).
	for k, n := range b.Nodes {
		if n.Protected {
			continue
		}
		for a, ok := parentKey(k); ok; a, ok = parentKey(a) {
			if ds := mandatory[a]; len(ds) > 0 && hasAllow(n) {
				n.ACEs = append(n.ACEs, ds...)
			}
		}
	}
	b.pruneCapDenies(p, env)
	for _, n := range b.Nodes {
		dropShadowedAllows(n)
		sortACEs(n.ACEs)
	}
	return b, nil
}

// writableRegions tells the glob expansion where the sandbox can write,
// as ir.Decide's exact rules say: the winning rule on each path, with
// nothing writable below a mandatory deny. There a deny glob's cap is
// lifted, because the sandbox could have moved a matched file below it
// (move a x\y\z\w\) to read it at the next launch; where it cannot
// write, nothing can have moved, and the cap keeps the walk short.
func writableRegions(winner map[string]Step, hostPath map[string]string, mandatory map[string][]ACE) []globwalk.Region {
	var out []globwalk.Region
	for k, win := range winner {
		w := win.Access == "write"
		for a, ok := k, true; ok && w; a, ok = parentKey(a) {
			if len(mandatory[a]) > 0 {
				w = false
			}
		}
		out = append(out, globwalk.Region{Path: hostPath[k], Uncapped: w})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// dropShadowedAllows removes, on one path, the allows of a SID that the
// path also denies. SetEntriesInAcl merges per trustee: a GRANT_ACCESS
// entry trims the trustee's deny ACE of the granted rights, so writing
// both would weaken the deny. The deny covers the path and its subtree
// (explicit ACEs come first there, and it is inherited before any
// ancestor's grant), so the allow decided nothing and the check is the
// same without it.
func dropShadowedAllows(n *Node) {
	denied := map[string]bool{}
	for _, a := range n.ACEs {
		if a.Deny && !a.Baseline {
			denied[a.SID] = true
		}
	}
	if len(denied) == 0 {
		return
	}
	kept := n.ACEs[:0]
	for _, a := range n.ACEs {
		if !a.Deny && !a.Baseline && denied[a.SID] {
			continue
		}
		kept = append(kept, a)
	}
	n.ACEs = kept
}

// CheckOneKindPerSID reports a path where one SID has both an allow and a
// deny ACE: the runtime could not write that faithfully (see
// dropShadowedAllows). Bind never produces one; tests assert it.
func (b *Bound) CheckOneKindPerSID() error {
	for _, n := range b.Nodes {
		kind := map[string]bool{}
		for _, a := range n.ACEs {
			if a.Baseline {
				continue
			}
			if d, seen := kind[a.SID]; seen && d != a.Deny {
				return fmt.Errorf("%s: %s has both an allow and a deny ACE", n.Path, a.SID)
			}
			kind[a.SID] = a.Deny
		}
	}
	return nil
}

// pruneCapDenies drops the deny ACEs of capability SIDs that can never
// matter, and the materialization of paths the sandbox could not create: a capability is granted only at its own root, so its deny is
// needed only at or below that root. Everywhere else it would only cost
// a write (on a drive root, a propagation through the whole drive). The
// read-only capability is granted nowhere, so its denies all go.
func (b *Bound) pruneCapDenies(p *Plan, env ir.Env) {
	roots := map[string]string{} // cap ref → bound root key
	for _, pr := range p.Principals {
		if pr.Kind != "capability" || pr.Root == "" {
			continue
		}
		if host, ok := env.Bindings.BindOK(pr.Root); ok {
			roots[pr.Ref] = Key(env.Resolve(host))
		}
	}
	for k, n := range b.Nodes {
		// A missing path needs creating only where the sandbox could
		// create it itself: below one of its writable roots.
		if n.Materialize {
			under := false
			for _, root := range roots {
				under = under || underKey(k, root)
			}
			n.Materialize = under
		}
		kept := n.ACEs[:0]
		for _, a := range n.ACEs {
			if a.Deny && IsCap(a.SID) {
				root, known := roots[a.SID]
				if a.SID == SIDReadOnlyCap || known && !underKey(k, root) {
					continue
				}
			}
			kept = append(kept, a)
		}
		n.ACEs = kept
		if len(n.ACEs) == 0 && !n.Protected {
			delete(b.Nodes, k)
		}
	}
}

func hasAllow(n *Node) bool {
	for _, a := range n.ACEs {
		if !a.Deny && !a.Baseline {
			return true
		}
	}
	return false
}

// stepBeats reports whether step a's rule beats step b's on one path.
func stepBeats(a, b Step) bool {
	if a.Mandatory != b.Mandatory {
		return a.Mandatory
	}
	return accessRank(a.Access) > accessRank(b.Access)
}

func accessRank(s string) int {
	a, _ := ir.ParseAccess(s)
	return int(a)
}

// bindGlob binds a glob step with ir.Glob.Bind, as ir.NewDecider does.
func bindGlob(s Step, env ir.Env) (BoundGlob, error) {
	hg, err := ir.Glob{Pattern: s.Pattern, Base: s.Base, MaxDepth: s.MaxDepth}.Bind(env)
	if err != nil {
		return BoundGlob{}, fmt.Errorf("windows plan: %w", err)
	}
	return BoundGlob{Pattern: hg.Pattern, Base: hg.Base, MaxDepth: hg.MaxDepth}, nil
}

func (b *Bound) node(k, host string) *Node {
	n := b.Nodes[k]
	if n == nil {
		n = &Node{Path: host}
		b.Nodes[k] = n
	}
	return n
}

// token derives the token's SIDs from the mode.
func (b *Bound) token(m *Mode) {
	switch m.Identity {
	case SIDRealUser:
		b.Normal = []string{SIDRealUser, SIDUsers, SIDEveryone, SIDAuthUsers}
	default:
		b.Normal = []string{m.Identity, SIDSandboxGroup, SIDUsers, SIDEveryone, SIDAuthUsers}
	}
	for _, s := range m.Steps {
		if s.Op == OpToken {
			b.Restricting = append([]string(nil), s.Restricting...)
			for _, f := range s.Flags {
				if f == "WRITE_RESTRICTED" {
					b.WriteRestricted = true
				}
			}
		}
	}
}

// baseline adds the host facts the plan assumes (Plan.Assumptions):
// system roots readable by Users with protected DACLs, and in unelevated
// mode the signed-in user's full control over its own files.
func (b *Bound) baseline(p *Plan, mode string) {
	for _, s := range p.SystemReadRoots {
		n := b.node(Key(s), s)
		n.Protected = true
		n.ACEs = append(n.ACEs, ACE{SID: SIDUsers, Mask: MaskReadExec, Inherit: true, Baseline: true,
			Why: "Windows system directory, readable by every account"})
	}
	if b.Identity == SIDRealUser {
		n := b.node("/", "/")
		n.ACEs = append(n.ACEs, ACE{SID: SIDRealUser, Mask: MaskFull, Inherit: true, Baseline: true,
			Why: "the signed-in user's own access (unelevated mode)"})
	}
}

// sortACEs puts an explicit list in canonical order: denies first.
func sortACEs(a []ACE) {
	sort.SliceStable(a, func(i, j int) bool { return a[i].Deny && !a[j].Deny })
}
