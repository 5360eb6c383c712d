// Package semdiff compares two compiled policies the way a reviewer asks
// about them: per platform, which paths and patterns changed access, from
// what to what, and which rule (with its file:line) decided before and
// after. It is what `polc diff` prints, and what `polc build --check`
// shows above the raw text diff of a stale artifact.
//
// Paths are judged with ir.Decide on a synthetic host: each variable is
// bound to its own root, symlinks are not followed and every path exists.
// So the answer depends only on the two policies, never on the machine
// the diff runs on. The probed paths are every rule path and workspace
// root of either side; a rule that was added, removed or changed shows up
// as a change of its path's effective access (or not at all, when it
// changes nothing). Deny globs are compared as patterns. Platforms differ
// in how far Linux and Windows expand deny globs (glob_scan_max_depth)
// while macOS matches at any depth; the :minimal roots are per platform.
package semdiff

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"polc/ir"
)

// Change is one difference a reviewer should see.
type Change struct {
	// Kind orders and labels changes: sandbox, path, glob, network,
	// approvals, roots, requirements.
	Kind string
	// Subject is the path, pattern or setting that changed.
	Subject string
	// From and To are the access or value before and after.
	From, To string
	// Was and Now name what decided before and after (rule, origin,
	// file:line); empty when nothing did.
	Was, Now string
}

func (c Change) key() string {
	return strings.Join([]string{c.Kind, c.Subject, c.From, c.To, c.Was, c.Now}, "\x00")
}

var kindOrder = map[string]int{"sandbox": 0, "path": 1, "glob": 2, "minimal": 3, "roots": 4, "network": 5, "approvals": 6, "requirements": 7}

// Section is the changes shared by a set of platforms.
type Section struct {
	Platforms []ir.Platform
	Changes   []Change
}

// Compare diffs two policies on each platform and groups platforms that
// see the same changes. No sections means no semantic difference.
func Compare(old, new *ir.Policy, platforms []ir.Platform) []Section {
	per := map[ir.Platform][]Change{}
	paths := &pathMemo{}
	for _, pl := range platforms {
		per[pl] = comparePlatform(old, new, pl, paths)
	}
	// Group changes by the exact set of platforms that see them.
	type entry struct {
		c     Change
		plats []ir.Platform
	}
	byKey := map[string]*entry{}
	var order []string
	for _, pl := range platforms {
		for _, c := range per[pl] {
			k := c.key()
			e, ok := byKey[k]
			if !ok {
				e = &entry{c: c}
				byKey[k] = e
				order = append(order, k)
			}
			e.plats = append(e.plats, pl)
		}
	}
	sections := map[string]*Section{}
	var labels []string
	for _, k := range order {
		e := byKey[k]
		label := ir.JoinPlatforms(e.plats, ",")
		s, ok := sections[label]
		if !ok {
			s = &Section{Platforms: e.plats}
			sections[label] = s
			labels = append(labels, label)
		}
		s.Changes = append(s.Changes, e.c)
	}
	// Sections shared by more platforms first, then by name.
	sort.Slice(labels, func(i, j int) bool {
		a, b := sections[labels[i]], sections[labels[j]]
		if len(a.Platforms) != len(b.Platforms) {
			return len(a.Platforms) > len(b.Platforms)
		}
		return labels[i] < labels[j]
	})
	var out []Section
	for _, l := range labels {
		s := sections[l]
		sortChanges(s.Changes)
		out = append(out, *s)
	}
	return out
}

func sortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if kindOrder[a.Kind] != kindOrder[b.Kind] {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		return a.Subject < b.Subject
	})
}

// synthetic roots for each variable; see the package comment.
var synthetic = ir.Bindings{
	ir.VarWorkspaceRoot: "/@WORKSPACE_ROOT",
	ir.VarHome:          "/@HOME",
	ir.VarTmpdir:        "/@TMPDIR",
	ir.VarCodexHome:     "/@CODEX_HOME",
}

func syntheticEnv(platform ir.Platform) ir.Env {
	return ir.Env{
		Bindings: synthetic,
		Platform: platform,
		Resolve:  path.Clean,
		Exists:   func(string) bool { return true },
	}
}

func comparePlatform(old, new *ir.Policy, platform ir.Platform, paths *pathMemo) []Change {
	var out []Change
	if old.Unrestricted != new.Unrestricted {
		out = append(out, Change{Kind: "sandbox", Subject: "sandbox",
			From: sandboxWord(old.Unrestricted), To: sandboxWord(new.Unrestricted),
			Was: profileWord(old), Now: profileWord(new)})
	}
	if !old.Unrestricted && !new.Unrestricted {
		out = append(out, paths.changes(old, new, platform)...)
		out = append(out, globChanges(old, new, platform)...)
		if (old.Minimal != nil) != (new.Minimal != nil) {
			c := Change{Kind: "minimal", Subject: ":minimal system roots (" + strings.Join(ir.MinimalRoots[platform], " ") + ")",
				From: "deny", To: "read"}
			if old.Minimal != nil {
				c.From, c.To = "read", "deny"
				c.Was = old.Minimal.String()
			} else {
				c.Now = new.Minimal.String()
			}
			out = append(out, c)
		}
	}
	out = append(out, rootChanges(old, new)...)
	out = append(out, networkChanges(old, new)...)
	out = append(out, approvalChanges(old, new)...)
	if old.RequirementsDigest != new.RequirementsDigest {
		out = append(out, Change{Kind: "requirements", Subject: "requirements applied",
			From: orNone(old.RequirementsDigest), To: orNone(new.RequirementsDigest)})
	}
	return out
}

func sandboxWord(unrestricted bool) string {
	if unrestricted {
		return "disabled"
	}
	return "enabled"
}

func profileWord(p *ir.Policy) string { return "profile " + p.Profile }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// pathMemo shares the path comparison between the platforms of one
// Compare. Platforms differ in it only in the :minimal roots a policy
// with :minimal reads (the deciders) and in whether a deny glob's match
// beyond its depth cap counts (effective: macOS or not), so a platform
// that agrees with another on both gets the other's changes, and one
// that agrees on the roots its deciders.
type pathMemo struct {
	done     map[pathKey][]Change
	deciders map[string]*ir.Decider
	errs     map[string]error
}

type pathKey struct {
	macos              bool
	oldRoots, newRoots string
}

// minimalKey names the :minimal roots p reads on platform ("" without
// :minimal, where the platform does not count).
func minimalKey(p *ir.Policy, platform ir.Platform) string {
	if p.Minimal == nil {
		return ""
	}
	if platform == "" {
		platform = ir.HostPlatform() // as NewDecider reads it
	}
	return "minimal\x00" + strings.Join(ir.MinimalRoots[platform], "\x00")
}

func (m *pathMemo) changes(old, new *ir.Policy, platform ir.Platform) []Change {
	k := pathKey{platform == ir.MacOS, minimalKey(old, platform), minimalKey(new, platform)}
	if out, ok := m.done[k]; ok {
		return out
	}
	out := pathChanges(old, new, platform, m.decider)
	if m.done == nil {
		m.done = map[pathKey][]Change{}
	}
	m.done[k] = out
	return out
}

// decider is ir.NewDecider on the synthetic host, once per side and
// :minimal roots.
func (m *pathMemo) decider(p *ir.Policy, side string, platform ir.Platform) (*ir.Decider, error) {
	k := side + "\x00" + minimalKey(p, platform)
	if d, ok := m.deciders[k]; ok {
		return d, m.errs[k]
	}
	d, err := ir.NewDecider(p, syntheticEnv(platform))
	if m.deciders == nil {
		m.deciders, m.errs = map[string]*ir.Decider{}, map[string]error{}
	}
	m.deciders[k], m.errs[k] = d, err
	return d, err
}

// pathChanges probes every rule path and workspace root of both sides.
func pathChanges(old, new *ir.Policy, platform ir.Platform, decider func(p *ir.Policy, side string, platform ir.Platform) (*ir.Decider, error)) []Change {
	do, err1 := decider(old, "old", platform)
	dn, err2 := decider(new, "new", platform)
	if err1 != nil || err2 != nil {
		// Only unknown variables fail to bind; say so rather than guess.
		return []Change{{Kind: "path", Subject: "(policy)", From: "?", To: "?",
			Was: errText(err1), Now: errText(err2)}}
	}
	probes := map[string]bool{}
	for _, p := range []*ir.Policy{old, new} {
		for _, r := range p.Rules {
			probes[r.Path] = true
		}
		for _, r := range p.WorkspaceRoots {
			probes[r] = true
		}
	}
	var out []Change
	for _, sym := range sortedSet(probes) {
		host := synthetic.Bind(sym)
		fromAcc, fromDec := effective(do, host, platform)
		toAcc, toDec := effective(dn, host, platform)
		if fromAcc == toAcc {
			continue
		}
		// Words only for a change: most probes decide alike.
		out = append(out, Change{Kind: "path", Subject: sym, From: fromAcc, To: toAcc, Was: why(fromDec), Now: why(toDec)})
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// effective is the access a platform enforces on a path (deny, read,
// write) and the decision that gave it (why says it in words).
func effective(d *ir.Decider, host string, platform ir.Platform) (string, ir.Decision) {
	allowed := func(dec ir.Decision) bool {
		if platform == ir.MacOS {
			return dec.Allowed
		}
		return dec.AllowedWithinCap
	}
	r := d.Decide(host, ir.OpRead)
	w := d.Decide(host, ir.OpWrite)
	acc, dec := "deny", r
	switch {
	case allowed(w):
		acc, dec = "write", w
	case allowed(r):
		acc = "read"
	}
	return acc, dec
}

// why names what decided, in the words of the config: the rule, its
// origin and file:line.
func why(d ir.Decision) string {
	switch {
	case d.Glob != nil:
		s := fmt.Sprintf("deny glob %s, %s", d.Glob.Pattern, d.Glob.Origin)
		if d.BeyondCap {
			s += fmt.Sprintf(" (beyond glob_scan_max_depth %d)", d.Glob.MaxDepth)
		}
		return s
	case d.Rule != nil:
		return fmt.Sprintf("%s rule %s, %s", d.Rule.Access, d.Rule.Path, d.Rule.Origin)
	case d.Minimal:
		return ":minimal system root"
	}
	return "no rule (default deny)"
}

// globChanges compares deny globs by pattern.
func globChanges(old, new *ir.Policy, platform ir.Platform) []Change {
	om, nm := globMap(old), globMap(new)
	keys := map[string]bool{}
	for k := range om {
		keys[k] = true
	}
	for k := range nm {
		keys[k] = true
	}
	var out []Change
	for _, k := range sortedSet(keys) {
		o, n := om[k], nm[k]
		from, to := globWord(o, platform), globWord(n, platform)
		if from == to {
			continue
		}
		c := Change{Kind: "glob", Subject: "deny glob " + k, From: from, To: to}
		if o != nil {
			c.Was = o.Origin.String()
		}
		if n != nil {
			c.Now = n.Origin.String()
		}
		out = append(out, c)
	}
	return out
}

func globMap(p *ir.Policy) map[string]*ir.Glob {
	m := map[string]*ir.Glob{}
	for i := range p.Globs {
		g := &p.Globs[i]
		// A mandatory copy of the same pattern is the stronger one.
		if prev, ok := m[g.Pattern]; !ok || (!prev.Mandatory && g.Mandatory) {
			m[g.Pattern] = g
		}
	}
	return m
}

func globWord(g *ir.Glob, platform ir.Platform) string {
	if g == nil {
		return "absent"
	}
	s := "deny"
	if g.Mandatory {
		s = "deny (requirement)"
	}
	if platform == ir.MacOS || g.MaxDepth == 0 {
		return s + ", any depth"
	}
	// Linux and Windows lift the cap where the sandbox can write (it could
	// move a match below the cap there).
	return fmt.Sprintf("%s, to depth %d (any depth where writable)", s, g.MaxDepth)
}

func rootChanges(old, new *ir.Policy) []Change {
	o, n := strings.Join(old.WorkspaceRoots, " "), strings.Join(new.WorkspaceRoots, " ")
	if o == n {
		return nil
	}
	return []Change{{Kind: "roots", Subject: "workspace roots", From: orNone(o), To: orNone(n)}}
}

func networkChanges(old, new *ir.Policy) []Change {
	word := func(n ir.Network) string {
		s := string(n.Mode)
		if s == "" {
			s = string(ir.NetworkNone)
		}
		return s
	}
	var out []Change
	from, to := word(old.Network), word(new.Network)
	if from != to {
		out = append(out, Change{Kind: "network", Subject: "network", From: from, To: to,
			Was: originOr(old.Network.Origin), Now: originOr(new.Network.Origin)})
	}
	out = append(out, proxyChanges(old.Network, new.Network)...)
	// Host Unix sockets: each allowed socket, and the allow-all switch.
	sockets := func(n ir.Network) map[string]ir.Origin {
		m := map[string]ir.Origin{}
		for _, u := range n.UnixSockets {
			m[u.Path] = u.Origin
		}
		if n.AllUnixSockets != nil {
			m["every host Unix socket"] = *n.AllUnixSockets
		}
		return m
	}
	was, now := sockets(old.Network), sockets(new.Network)
	var subjects []string
	for k := range was {
		subjects = append(subjects, k)
	}
	for k := range now {
		if _, ok := was[k]; !ok {
			subjects = append(subjects, k)
		}
	}
	sort.Strings(subjects)
	for _, k := range subjects {
		o, wasOK := was[k]
		n, isOK := now[k]
		if wasOK == isOK {
			continue
		}
		c := Change{Kind: "network", Subject: "unix socket " + k, From: "deny", To: "connect"}
		if wasOK {
			c.From, c.To, c.Was = "connect", "deny", originOr(o)
		} else {
			c.Now = originOr(n)
		}
		out = append(out, c)
	}
	return out
}

// proxyChanges lists what changed in what a proxy network lets through:
// each domain pattern's rule (allow, deny, or none; managed or the
// user's), the methods, local addresses, SOCKS5 and the listener ports.
// A side that is not in proxy mode has no proxy rules, so turning the
// proxy on shows every rule it brings.
func proxyChanges(old, new ir.Network) []Change {
	proxyOf := func(n ir.Network) *ir.Proxy {
		if n.Mode != ir.NetworkProxy {
			return nil
		}
		if n.Proxy == nil {
			return &ir.Proxy{}
		}
		return n.Proxy
	}
	po, pn := proxyOf(old), proxyOf(new)
	if po == nil && pn == nil {
		return nil
	}
	type rule struct {
		action string
		origin ir.Origin
	}
	// rules maps a pattern to its rules' actions: a pattern may have
	// both an allow and a deny (deny wins, so it is listed as deny).
	rules := func(p *ir.Proxy) map[string]rule {
		m := map[string]rule{}
		if p == nil {
			return m
		}
		for _, r := range p.Domains {
			action := string(r.Action)
			if r.Managed {
				action = "managed " + action
			}
			if cur, ok := m[r.Pattern]; ok && (strings.HasSuffix(cur.action, "deny") || r.Action != ir.DomainDeny) {
				continue
			}
			m[r.Pattern] = rule{action, r.Origin}
		}
		return m
	}
	was, now := rules(po), rules(pn)
	var patterns []string
	for k := range was {
		patterns = append(patterns, k)
	}
	for k := range now {
		if _, ok := was[k]; !ok {
			patterns = append(patterns, k)
		}
	}
	sort.Strings(patterns)
	var out []Change
	for _, k := range patterns {
		o, n := was[k], now[k]
		if o.action == n.action {
			continue
		}
		out = append(out, Change{Kind: "network", Subject: "domain " + k, From: orNone(o.action), To: orNone(n.action),
			Was: originOr(o.origin), Now: originOr(n.origin)})
	}
	setting := func(subject string, get func(*ir.Proxy) (string, ir.Origin)) {
		var from, to string
		var was, now ir.Origin
		if po != nil {
			from, was = get(po)
		}
		if pn != nil {
			to, now = get(pn)
		}
		if from != to {
			out = append(out, Change{Kind: "network", Subject: subject, From: orNone(from), To: orNone(to),
				Was: originOr(was), Now: originOr(now)})
		}
	}
	setting("proxy methods", func(p *ir.Proxy) (string, ir.Origin) {
		if p.Methods == ir.MethodsLimited {
			return "limited (GET, HEAD, OPTIONS)", p.MethodOrigin
		}
		return "full", p.MethodOrigin
	})
	setting("proxy local addresses", func(p *ir.Proxy) (string, ir.Origin) {
		if p.AllowLocal {
			return "allowed", p.LocalOrigin
		}
		return "refused", p.LocalOrigin
	})
	setting("proxy SOCKS5", func(p *ir.Proxy) (string, ir.Origin) {
		if p.SOCKS5 {
			return "on", p.SOCKS5Origin
		}
		return "off", p.SOCKS5Origin
	})
	setting("proxy ports", func(p *ir.Proxy) (string, ir.Origin) {
		h, so := p.Ports()
		return fmt.Sprintf("http %d, socks5 %d", h, so), ir.Origin{}
	})
	return out
}

func originOr(o ir.Origin) string {
	if o.Kind == "" {
		return ""
	}
	return o.String()
}

func approvalChanges(old, new *ir.Policy) []Change {
	var out []Change
	add := func(subject, from, to string) {
		if from != to {
			out = append(out, Change{Kind: "approvals", Subject: subject, From: orNone(from), To: orNone(to)})
		}
	}
	add("approval_policy", approvalWord(old.Approvals), approvalWord(new.Approvals))
	add("approvals_reviewer", old.Approvals.Reviewer, new.Approvals.Reviewer)
	if o, n := old.Approvals, new.Approvals; o.AutoReviewPolicy != n.AutoReviewPolicy || autoReviewSource(o) != autoReviewSource(n) {
		from, to := autoReviewSource(o), autoReviewSource(n)
		if o.AutoReviewPolicy != n.AutoReviewPolicy && from == to {
			from, to = from+", previous text", to+", changed text"
		}
		out = append(out, Change{Kind: "approvals", Subject: "auto-review policy text", From: from, To: to})
	}
	return out
}

// autoReviewSource says which auto-review policy text applies and where
// it came from: the managed guardian_policy_config or the user's
// [auto_review].policy.
func autoReviewSource(a ir.Approvals) string {
	if a.AutoReviewPolicy == "" {
		return "none"
	}
	o := a.AutoReviewPolicyOrigin
	if o == nil {
		return "text of unknown origin"
	}
	where := "[auto_review].policy"
	if o.Kind == ir.OriginRequirement {
		where = "requirements guardian_policy_config"
	}
	if o.Pos.File != "" {
		where += " at " + o.Pos.String()
	}
	return where
}

func approvalWord(a ir.Approvals) string {
	if a.Granular == nil {
		return a.Policy
	}
	g := a.Granular
	return fmt.Sprintf("%s {sandbox_approval=%v rules=%v mcp_elicitations=%v skill_approval=%v request_permissions=%v}",
		a.Policy, g.SandboxApproval, g.Rules, g.MCPElicitations, g.SkillApproval, g.RequestPermissions)
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Write prints the sections as polc diff shows them: one block per
// platform set ("all platforms" when it covers every compared one), one
// line per change, then what decided before (was) and after (now).
func Write(w io.Writer, sections []Section, compared []ir.Platform) {
	for _, s := range sections {
		label := ir.JoinPlatforms(s.Platforms, ", ")
		if len(compared) > 1 && len(s.Platforms) == len(compared) {
			label = "all platforms"
		}
		fmt.Fprintf(w, "%s:\n", label)
		for _, c := range s.Changes {
			fmt.Fprintf(w, "  %s: %s -> %s\n", c.Subject, c.From, c.To)
			if c.Was != "" {
				fmt.Fprintf(w, "      was: %s\n", c.Was)
			}
			if c.Now != "" {
				fmt.Fprintf(w, "      now: %s\n", c.Now)
			}
		}
	}
}
