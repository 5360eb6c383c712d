package seatbelt

import (
	_ "embed"
	"fmt"
	"path"
	"sort"
	"strings"

	"polc/backends"
	"polc/backends/seatbelt/sbpl"
	"polc/diag"
	"polc/internal/canonjson"
	"polc/ir"
)

var (
	//go:embed fragments/base.sb
	baseSBPL string
	//go:embed fragments/network.sb
	networkSBPL string
	//go:embed fragments/minimal.sb
	minimalSBPL string
)

// lowering holds one Lower call's state.
type lowering struct {
	p      *ir.Policy
	opts   backends.Options
	diags  diag.List
	places []*place
	byPath map[string]*place
	mand   []*place // mandatory denies
	globs  []*globInfo
	params []Param
	pidx   map[string]bool
}

type place struct {
	Place
	idx      int
	rules    []*ir.Rule
	hasFixed bool // some rule applies whether or not the path exists
	children []*place
	userRule bool // a user rule names it (not only :minimal)
}

type globInfo struct {
	g    *ir.Glob
	root string
	base string
	// bodies are the regex bodies, one per guard: the {a,b} branches
	// joined while they fit in one SBPL string, split when they do not.
	bodies []string
	idx    int
}

// Lower compiles a policy into the macOS artifact. See the package doc for
// the profile's structure.
func Lower(p *ir.Policy, opts backends.Options) (*backends.Output, diag.List) {
	l := &lowering{p: p, opts: opts, byPath: map[string]*place{}, pidx: map[string]bool{}}
	pl := &Payload{Format: FormatTag, Network: p.Network.Mode}
	if pl.Network == "" {
		pl.Network = ir.NetworkNone
	}
	var text string
	if p.Unrestricted {
		pl.Unrestricted = true
		pl.Network = ir.NetworkFull
		text = "(version 1)\n; polc: profile " + comment(p.Profile) + " disables the sandbox\n(allow default)\n"
	} else {
		l.collect()
		if l.diags.HasErrors() {
			return nil, l.diags
		}
		text = l.profile(pl)
		for _, pc := range append(append([]*place(nil), l.places...), l.mand...) {
			pl.Places = append(pl.Places, pc.Place)
		}
		for _, g := range l.globs {
			pl.Globs = append(pl.Globs, GlobBase{Pattern: g.g.Pattern, Base: g.g.Base, Root: g.root})
		}
		pl.Params = l.params
	}
	pl.Profile = Text(text)
	if l.diags.HasErrors() {
		return nil, l.diags
	}
	pl.Format = formatFor(pl)
	body, err := canonjson.Marshal(pl)
	if err != nil {
		l.diags.Addf(diag.MacBadArtifact, diag.Pos{}, "report this as a polc bug", "encoding the macOS payload: %v", err)
		return nil, l.diags
	}
	return &backends.Output{Platform: ir.MacOS, Artifact: pl, Payload: body, Files: map[string][]byte{"sb": []byte(text)}}, l.diags
}

// splitRoot returns the root a policy path starts with ("${VAR}" or "/")
// and reports whether the path is one the backend can bind: absolute or
// variable-rooted, clean, and free of control characters.
func splitRoot(p string) (root string, ok bool) {
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return "", false
		}
	}
	rest := p
	if strings.HasPrefix(p, "${") {
		end := strings.Index(p, "}")
		if end < 0 {
			return "", false
		}
		root, rest = p[:end+1], p[end+1:]
		if rest == "" {
			return root, true
		}
	} else {
		root = "/"
	}
	if !strings.HasPrefix(rest, "/") || path.Clean(rest) != rest {
		return "", false
	}
	return root, true
}

// under reports whether a is b or lies below it, textually.
func under(a, b string) bool { return ir.HasPathPrefix(a, b) }

func (l *lowering) collect() {
	add := func(r *ir.Rule, minimal bool) {
		root, ok := splitRoot(r.Path)
		if !ok {
			l.diags.Addf(diag.MacBadPath, r.Origin.Pos, "write the path as an absolute, clean path",
				"rule path %q cannot be bound on macOS", r.Path)
			return
		}
		if r.Mandatory && r.Access == ir.Deny {
			for _, m := range l.mand {
				if m.Path == r.Path {
					if !r.SkipIfMissing {
						m.hasFixed, m.IfMissing = true, ir.Deny
					}
					return
				}
			}
			m := &place{Place: Place{Path: r.Path, Root: root, Access: ir.Deny, Mandatory: true, Parent: -1},
				hasFixed: !r.SkipIfMissing, userRule: true}
			if m.hasFixed {
				m.IfMissing = ir.Deny
			}
			l.mand = append(l.mand, m)
			return
		}
		pc := l.byPath[r.Path]
		if pc == nil {
			pc = &place{Place: Place{Path: r.Path, Root: root, Parent: -1}}
			l.byPath[r.Path] = pc
			l.places = append(l.places, pc)
		}
		if minimal {
			pc.Minimal = true
			pc.hasFixed = true
			pc.Access = max(pc.Access, ir.Read)
			pc.IfMissing = max(pc.IfMissing, ir.Read)
			return
		}
		pc.userRule = true
		pc.rules = append(pc.rules, r)
		pc.Access = max(pc.Access, r.Access)
		if !r.SkipIfMissing {
			pc.hasFixed = true
			pc.IfMissing = max(pc.IfMissing, r.Access)
		}
	}
	for i := range l.p.Rules {
		add(&l.p.Rules[i], false)
	}
	if l.p.Minimal != nil {
		for _, m := range ir.MinimalRoots[ir.MacOS] {
			add(&ir.Rule{Path: m, Access: ir.Read}, true)
		}
	}
	for _, pc := range l.places {
		if pc.userRule {
			pc.Minimal = false // a user rule names it: bound as a parameter
		}
	}
	// Places in tree order: by root, then by path with "/" sorting first,
	// so that every place directly follows its ancestors.
	key := func(p string) string { return strings.ReplaceAll(p, "/", "\x00") }
	sort.Slice(l.places, func(i, j int) bool {
		a, b := l.places[i], l.places[j]
		if a.Root != b.Root {
			return a.Root < b.Root
		}
		return key(a.Path) < key(b.Path)
	})
	sort.Slice(l.mand, func(i, j int) bool { return l.mand[i].Path < l.mand[j].Path })
	var stack []*place
	for i, pc := range l.places {
		pc.idx = i
		for len(stack) > 0 && (stack[len(stack)-1].Root != pc.Root || !under(pc.Path, stack[len(stack)-1].Path)) {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			parent := stack[len(stack)-1]
			pc.Parent = parent.idx
			parent.children = append(parent.children, pc)
		}
		stack = append(stack, pc)
	}
	for _, pc := range l.places {
		pc.Top = true
		for a := pc.Parent; a >= 0; a = l.places[a].Parent {
			if l.places[a].hasFixed {
				pc.Top = false
				break
			}
		}
	}
	for i, m := range l.mand {
		m.idx = len(l.places) + i
	}

	for i := range l.p.Globs {
		g := &l.p.Globs[i]
		root, ok := splitRoot(g.Base)
		if !ok || !strings.HasPrefix(g.Pattern, g.Base) {
			l.diags.Addf(diag.MacBadPath, g.Origin.Pos, "write the glob as an absolute pattern",
				"deny glob %q (base %q) cannot be bound on macOS", g.Pattern, g.Base)
			continue
		}
		rel := strings.TrimPrefix(g.Pattern, g.Base)
		if g.Base != "/" {
			if !strings.HasPrefix(rel, "/") {
				l.diags.Addf(diag.MacBadPath, g.Origin.Pos, "write the glob as an absolute pattern",
					"deny glob %q does not continue its base %q with a /", g.Pattern, g.Base)
				continue
			}
			rel = rel[1:]
		}
		if root != "/" && strings.ContainsAny(strings.TrimPrefix(g.Base, root), `{}\`) || root == "/" && strings.ContainsAny(g.Base, `{}\`) {
			l.unenforceable(diag.MacGlobUnsupported, g.Origin.Pos, "move the {…} or \\ into the part after the last plain directory",
				fmt.Sprintf("deny glob %q: braces or backslashes in its base directory %q", g.Pattern, g.Base))
			continue
		}
		branches, err := GlobRegexBranches(rel)
		if err != nil {
			l.unenforceable(diag.MacGlobUnsupported, g.Origin.Pos, "rewrite the pattern (see the message)",
				fmt.Sprintf("deny glob %q: %v", g.Pattern, err))
			continue
		}
		bodies, long := packBranches(branches)
		if long != "" {
			l.unenforceable(diag.MacStringTooLong, g.Origin.Pos, "split the pattern into shorter ones",
				fmt.Sprintf("deny glob %q: its branch %.40q... becomes a regex over %d bytes, the longest string sandbox-exec reads", g.Pattern, long, sbpl.MaxStringLen))
			continue
		}
		l.globs = append(l.globs, &globInfo{g: g, root: root, base: g.Base, bodies: bodies, idx: len(l.globs)})
	}
}

// packBranches joins regex branches into as few bodies as fit in one SBPL
// string each. long is a branch that does not fit even alone.
func packBranches(branches []string) (bodies []string, long string) {
	fits := func(body string) bool { return len(sbpl.QuoteString(body))-2 <= sbpl.MaxStringLen }
	var cur []string
	join := func(bs []string) string {
		if len(bs) == 1 {
			return bs[0] + "(/.*)?$"
		}
		return "(" + strings.Join(bs, "|") + ")(/.*)?$"
	}
	for _, br := range branches {
		if !fits(join([]string{br})) {
			return nil, br
		}
		if len(cur) > 0 && !fits(join(append(cur[:len(cur):len(cur)], br))) {
			bodies = append(bodies, join(cur))
			cur = nil
		}
		cur = append(cur, br)
	}
	if len(cur) > 0 {
		bodies = append(bodies, join(cur))
	}
	return bodies, ""
}

// unenforceable reports a deny the profile cannot express: an error, or
// a warning when the caller opted in to a weaker sandbox (the deny is
// then left out, and the warning says so).
func (l *lowering) unenforceable(code diag.Code, pos diag.Pos, fix, msg string) {
	d := diag.Diagnostic{Code: code, Severity: code.Severity(), Pos: pos, Message: msg, Fix: fix}
	if l.opts.AllowUnenforceable {
		d.Severity = diag.Warning
		d.Message += "; left out of the macOS profile (--allow-unenforceable): macOS does not deny these paths"
	}
	l.diags = append(l.diags, d)
}

// param registers a parameter once and returns its name.
func (l *lowering) param(pr Param) string {
	if !l.pidx[pr.Name] {
		l.pidx[pr.Name] = true
		l.params = append(l.params, pr)
	}
	return pr.Name
}

// ref is how the profile names a place's path: a literal for a :minimal
// root nobody else names, else a parameter bound under cond.
func (l *lowering) ref(pc *place, cond string) string {
	if pc.Minimal {
		return sbpl.QuoteString(pc.Path)
	}
	name := fmt.Sprintf("PATH_%d", pc.idx)
	switch cond {
	case "exists":
		name += "_IF_EXISTS"
	case "missing":
		name += "_IF_MISSING"
	}
	return `(param "` + l.param(Param{Name: name, Place: pc.idx, When: cond}) + `")`
}

func allows(a ir.Access, op ir.Op) bool {
	switch op {
	case ir.OpRead:
		return a == ir.Read || a == ir.Write
	case ir.OpWrite:
		return a == ir.Write
	}
	return false
}

func excludes(ref string) string {
	return "(require-not (literal " + ref + ")) (require-not (subpath " + ref + "))"
}

// component is the filter for the part of pc's subtree where pc's rules
// decide op, or "" when that part is empty.
func (l *lowering) component(pc *place, op ir.Op) string {
	present, missing := allows(pc.Access, op), pc.IfMissing != 0 && allows(pc.IfMissing, op)
	cond := ""
	switch {
	case present && missing:
	case present:
		cond = "exists"
	case missing:
		cond = "missing"
	default:
		return ""
	}
	var clauses []string
	// Deeper places under the same root decide their own subtrees.
	var excl func(c *place)
	excl = func(c *place) {
		if c.hasFixed {
			clauses = append(clauses, excludes(l.ref(c, "")))
			return
		}
		clauses = append(clauses, excludes(l.ref(c, "exists")))
		for _, cc := range c.children {
			excl(cc)
		}
	}
	for _, c := range pc.children {
		excl(c)
	}
	// A requirement deny above this place (under the same root) empties
	// it; the other requirement denies and the deny globs are carved out
	// of the whole section (see guards).
	for _, m := range l.mand {
		if m.Root == pc.Root && under(pc.Path, m.Path) && m.hasFixed {
			return ""
		}
	}
	base := "(subpath " + l.ref(pc, cond) + ")"
	if len(clauses) == 0 {
		return base
	}
	return "(require-all " + base + " " + strings.Join(clauses, " ") + ")"
}

// comment makes text safe for an SBPL ; comment line.
func comment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, fmt.Sprintf("%q", s))
}

// groups splits the places into per-root sections, the :minimal literals
// apart from the other absolute places.
func (l *lowering) groups() [][]*place {
	var out [][]*place
	for _, pc := range l.places {
		n := len(out)
		if n > 0 && out[n-1][0].Root == pc.Root && out[n-1][0].Minimal == pc.Minimal {
			out[n-1] = append(out[n-1], pc)
			continue
		}
		out = append(out, []*place{pc})
	}
	sort.SliceStable(out, func(i, j int) bool { return !out[i][0].Minimal && out[j][0].Minimal })
	return out
}

// rootSlug names a root in parameter names.
func rootSlug(root string) string {
	if root == "/" {
		return "ABS"
	}
	return strings.Trim(root, "${}")
}

// crossGuards carve the top places of other roots out of a section when
// the shim finds them below a place of the section's root. :minimal
// literals get none: Bind refuses a variable root inside a system root.
func (l *lowering) crossGuards(first *place) []string {
	if first.Minimal {
		return nil
	}
	var out []string
	for _, t := range l.places {
		if t.Root == first.Root || !t.Top || t.Minimal {
			continue
		}
		name := l.param(Param{Name: fmt.Sprintf("PATH_%d_IN_%s", t.idx, rootSlug(first.Root)), Place: t.idx, When: "in", Root: first.Root})
		out = append(out, "; "+comment(t.Path)+" when it lies inside a "+comment(first.Root)+" rule\n    "+excludes(`(param "`+name+`")`))
	}
	return out
}

// guards are the clauses every allowed path must pass whatever rule
// grants it: no requirement deny above it, no deny glob matching it or an
// ancestor.
func (l *lowering) guards() []string {
	var out []string
	for _, m := range l.mand {
		cond, suffix := "", ""
		if !m.hasFixed {
			cond, suffix = "exists", "_IF_EXISTS"
		}
		name := l.param(Param{Name: fmt.Sprintf("DENY_%d%s", m.idx-len(l.places), suffix), Place: m.idx, When: cond})
		out = append(out, "; requirement deny "+comment(m.Path)+"\n    "+excludes(`(param "`+name+`")`))
	}
	for _, g := range l.globs {
		if len(g.bodies) == 0 {
			continue // matches nothing
		}
		name := l.param(Param{Name: fmt.Sprintf("GLOB_%d", g.idx), Place: g.idx, Glob: true})
		for _, body := range g.bodies {
			out = append(out, "; deny glob "+comment(g.g.Pattern)+"\n    "+
				`(require-not (regex (string-append "^" (regex-quote (param "`+name+`")) `+sbpl.QuoteString(body)+`)))`)
		}
	}
	return out
}

// section writes (allow OPS ...) for the non-empty components, or
// nothing: an allow without filters would allow everything. With guards
// the components become one (require-any ...) under (require-all guards).
func section(b *strings.Builder, ops string, comps, notes, guards []string) {
	if len(comps) == 0 {
		return
	}
	b.WriteString("(allow " + ops)
	indent := "\n  "
	if len(guards) > 0 {
		b.WriteString(indent + "(require-all")
		for _, g := range guards {
			b.WriteString("\n    " + g)
		}
		b.WriteString("\n    (require-any")
		indent = "\n      "
	}
	for i, c := range comps {
		b.WriteString(indent + "; " + notes[i] + indent + c)
	}
	if len(guards) > 0 {
		b.WriteString("))")
	}
	b.WriteString(")\n")
}

func (l *lowering) profile(pl *Payload) string {
	var b strings.Builder
	b.WriteString(baseSBPL)
	b.WriteString("\n; policy " + comment(l.p.Profile) + "\n")
	guards := l.guards()
	for _, op := range []ir.Op{ir.OpRead, ir.OpWrite} {
		if op == ir.OpRead {
			b.WriteString("\n; read access: each filter is one rule's subtree minus the deeper rules under its root\n")
		} else {
			b.WriteString("\n; write access\n")
		}
		ops := map[ir.Op]string{ir.OpRead: "file-read*", ir.OpWrite: "file-write*"}[op]
		// One rule per root: the places of other roots that lie below one
		// of this root's places on the host are carved out of all of them
		// (PATH_t_IN_ROOT, bound at launch only when that happens).
		for _, group := range l.groups() {
			var comps, notes []string
			for _, pc := range group {
				if c := l.component(pc, op); c != "" {
					comps = append(comps, c)
					if pc.Minimal {
						notes = append(notes, comment(pc.Path))
					} else {
						notes = append(notes, fmt.Sprintf("PATH_%d = %s (%s)", pc.idx, comment(pc.Path), pc.Access))
					}
				}
			}
			if len(comps) == 0 {
				continue
			}
			g := append(l.crossGuards(group[0]), guards...)
			o := ops
			if group[0].Minimal {
				b.WriteString("; :minimal system roots: Codex's curated platform defaults (restricted_read_only_platform_defaults.sbpl; only curated /System/Library subpaths)\n")
				o += " file-map-executable"
			}
			section(&b, o, comps, notes, g)
		}
	}
	b.WriteString("\n; network: " + string(pl.Network) + "\n")
	switch pl.Network {
	case ir.NetworkFull:
		b.WriteString("(allow network-outbound)\n(allow network-inbound)\n")
		b.WriteString(networkSBPL)
	case ir.NetworkProxy:
		l.proxyNetwork(&b, pl)
	}
	// Host Unix sockets: without the full network the profile allows no
	// network-outbound, which Seatbelt applies to AF_UNIX connects too,
	// so an allowed socket stays unreachable (narrower: fail closed),
	// and the user is told.
	l.checkUnixSockets(pl.Network)
	if l.p.Minimal != nil {
		b.WriteString("\n")
		b.WriteString(minimalSBPL)
	}
	return b.String()
}

// proxyNetwork writes a proxy-only network: outbound TCP to the proxy's
// loopback listeners and nothing else, so that every request leaves
// through polc's proxy (Payload.Proxy), which decides it.
func (l *lowering) proxyNetwork(b *strings.Builder, pl *Payload) {
	n := l.p.Network
	px := &ir.Proxy{}
	if n.Proxy != nil {
		px = n.Proxy
	}
	if !l.checkProxyPorts(px) {
		return
	}
	cp := *px
	cp.Domains = append([]ir.DomainRule(nil), px.Domains...)
	pl.Proxy = &cp
	httpPort, socksPort := px.Ports()
	fmt.Fprintf(b, "; polc's egress proxy decides every request: HTTP on 127.0.0.1:%d", httpPort)
	if px.SOCKS5 {
		fmt.Fprintf(b, ", SOCKS5 on 127.0.0.1:%d", socksPort)
	}
	b.WriteString("\n")
	pl.ProxyPorts = px.Listeners()
	for _, p := range pl.ProxyPorts {
		fmt.Fprintf(b, "(allow network-outbound (remote ip \"localhost:%d\"))\n", p)
	}
	b.WriteString(networkSBPL)
}

// checkProxyPorts reports (and returns false) when the proxy's listeners
// share a port: one loopback port cannot serve both.
func (l *lowering) checkProxyPorts(px *ir.Proxy) bool {
	if !px.PortsCollide() {
		return true
	}
	pos := px.SOCKS5Origin.Pos
	if pos.IsZero() {
		pos = l.p.Network.Origin.Pos
	}
	httpPort, _ := px.Ports()
	l.diags.Addf(diag.MacProxyPorts, pos, "give the HTTP and SOCKS5 listeners different ports",
		"the proxy's HTTP and SOCKS5 listeners are both on port %d; one loopback port cannot serve both", httpPort)
	return false
}

// checkUnixSockets reports host Unix sockets the profile cannot grant:
// without the full network the profile allows no network-outbound,
// which Seatbelt applies to AF_UNIX connects too, so an allowed socket
// stays unreachable (narrower: fail closed), and the user is told.
func (l *lowering) checkUnixSockets(network ir.NetworkMode) {
	if network == ir.NetworkFull || !l.p.Network.HostUnixSockets() {
		return
	}
	var pos diag.Pos
	if a := l.p.Network.AllUnixSockets; a != nil {
		pos = a.Pos
	} else {
		pos = l.p.Network.UnixSockets[0].Origin.Pos
	}
	l.diags.Addf(diag.MacUnixSockets, pos, "enable the network, or run the command outside the sandbox to reach the socket",
		"the macOS profile does not grant host Unix sockets without the network: connecting to an allowed socket is refused on macOS")
}

// Check reports what Lower would about the policy (what macOS cannot
// enforce) without writing the profile or encoding the payload: polc
// rollout asks it of thousands of policies and needs only the verdict.
// It runs the same checks as Lower, in the same order.
func Check(p *ir.Policy, opts backends.Options) diag.List {
	if p.Unrestricted {
		return nil
	}
	l := &lowering{p: p, opts: opts, byPath: map[string]*place{}, pidx: map[string]bool{}}
	l.collect()
	if l.diags.HasErrors() {
		return l.diags
	}
	network := p.Network.Mode
	if network == "" {
		network = ir.NetworkNone
	}
	if network == ir.NetworkProxy {
		px := &ir.Proxy{}
		if p.Network.Proxy != nil {
			px = p.Network.Proxy
		}
		l.checkProxyPorts(px)
	}
	l.checkUnixSockets(network)
	return l.diags
}
