package windows

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"polc/diag"
	"polc/ir"
)

// Assumptions the plan and its evaluator rely on; they are written into
// every plan so that a reviewer sees them.
var assumptions = []string{
	"system_read_roots are readable by BUILTIN\\Users, have protected DACLs, and are never changed by the plan",
	"outside system_read_roots the sandbox accounts (new local accounts) are granted nothing but what the plan grants; user profiles are private (the Windows default)",
	"in unelevated mode the signed-in user can read and write its own files; the write-restricted token's second check needs a capability SID grant for every write",
	"deny globs are expanded when the command starts; files created later are not covered",
}

// lowered collects one plan while it is built.
type lowered struct {
	p     *ir.Policy
	plan  *Plan
	diags diag.List
	rules []crule // collapsed, sorted by key
	caps  []string
	sys   []string // system read roots (symbolic = host, absolute)
	// gapsOnly: Check's lowering, which finds every mode's gaps (all the
	// diagnostics come from them) without writing the modes' steps.
	gapsOnly bool
}

// crule is the winning rule for one symbolic path.
type crule struct {
	key  string
	rule ir.Rule
}

// Lower builds the plan for p.
func Lower(p *ir.Policy, opts LowerOptions) (*Plan, diag.List) {
	return lower(p, opts, false)
}

// lower is Lower; with gapsOnly the plan's modes have their gaps (and so
// the diagnostics are Lower's) but no steps, and it has no principals.
func lower(p *ir.Policy, opts LowerOptions, gapsOnly bool) (*Plan, diag.List) {
	l := &lowered{p: p, sys: append([]string(nil), ir.MinimalRoots[ir.Windows]...), gapsOnly: gapsOnly}
	l.plan = &Plan{
		Format:          Format,
		Profile:         p.Profile,
		Unrestricted:    p.Unrestricted,
		Network:         NetworkPlan{Mode: string(p.Network.Mode), ProxyPorts: sortedPorts(p.Network.ProxyPorts())},
		SystemReadRoots: l.sys,
		Assumptions:     assumptions,
		Modes:           map[string]*Mode{},
	}
	if l.plan.Network.Mode == "" {
		l.plan.Network.Mode = string(ir.NetworkNone)
	}
	if p.Network.Mode == ir.NetworkProxy && !p.Unrestricted {
		px := &ir.Proxy{}
		if p.Network.Proxy != nil {
			px = p.Network.Proxy
		}
		if px.PortsCollide() {
			pos := px.SOCKS5Origin.Pos
			if pos.IsZero() {
				pos = p.Network.Origin.Pos
			}
			httpPort, _ := px.Ports()
			l.diags.Addf(diag.WindowsProxyPorts, pos, "give the HTTP and SOCKS5 listeners different ports",
				"the proxy's HTTP and SOCKS5 listeners are both on port %d; one loopback port cannot serve both", httpPort)
			return l.plan, l.diags
		}
		// polc runs the proxy for the launch: the firewall leaves open
		// its listeners only, and the plan carries what it enforces.
		cp := *px
		cp.Domains = append([]ir.DomainRule(nil), px.Domains...)
		l.plan.Network.Proxy = &cp
	}
	if p.Unrestricted {
		for _, m := range []string{Elevated, Unelevated} {
			l.plan.Modes[m] = &Mode{Identity: SIDRealUser, Steps: []Step{
				{Op: OpJob, Limits: []string{"KILL_ON_JOB_CLOSE"}},
				{Op: OpSpawn, Via: "CreateProcessW", Why: "unrestricted profile: no sandbox"},
			}}
		}
		l.plan.PreferredMode = Unelevated
		return l.plan, nil
	}
	l.collapse()
	l.capabilities()
	l.plan.Modes[Elevated] = l.elevated()
	l.plan.Modes[Unelevated] = l.unelevated()
	if !gapsOnly {
		l.principals()
	}
	l.finish(opts)
	return l.plan, l.diags
}

// LowerOptions tune Lower.
type LowerOptions struct {
	AllowUnenforceable bool
}

// collapse keeps, per symbolic path, the rule that wins there (a
// mandatory deny first, then deny > write > read, as ir.Decide breaks
// ties) among the rules that always apply, plus the best skip_if_missing
// rule when it would beat that one: the runtime drops it when the path
// is missing, and the other must still apply. Rules whose paths differ
// only in case name one path on Windows: a warning.
func (l *lowered) collapse() {
	type pair struct{ fixed, skip *ir.Rule }
	byKey := map[string]*pair{}
	var order []string
	seenCase := map[string]string{}
	for i := range l.p.Rules {
		r := l.p.Rules[i]
		k := Key(r.Path)
		if prev, ok := seenCase[k]; ok && prev != r.Path {
			l.diags = append(l.diags, diag.Diagnostic{Code: diag.WindowsCaseCollision, Severity: diag.WindowsCaseCollision.Severity(),
				Pos: r.Origin.Pos, Message: fmt.Sprintf("%q and %q are one path on Windows; the rule that wins there applies to both (deny > write > read)", prev, r.Path),
				Fix: "spell both rules with the same case, or drop one"})
		}
		seenCase[k] = r.Path
		pr := byKey[k]
		if pr == nil {
			pr = &pair{}
			byKey[k] = pr
			order = append(order, k)
		}
		slot := &pr.fixed
		if r.SkipIfMissing {
			slot = &pr.skip
		}
		if *slot == nil || better(r, **slot) {
			*slot = &r
		}
	}
	for _, k := range order {
		pr := byKey[k]
		if pr.fixed != nil {
			l.rules = append(l.rules, crule{key: k, rule: *pr.fixed})
		}
		if pr.skip != nil && (pr.fixed == nil || better(*pr.skip, *pr.fixed)) {
			l.rules = append(l.rules, crule{key: k, rule: *pr.skip})
		}
	}
	sort.SliceStable(l.rules, func(i, j int) bool { return l.rules[i].key < l.rules[j].key })
}

// better reports whether rule a beats rule b on the same path.
func better(a, b ir.Rule) bool {
	am, bm := a.Mandatory && a.Access == ir.Deny, b.Mandatory && b.Access == ir.Deny
	if am != bm {
		return am
	}
	return a.Access > b.Access
}

// capabilities gives every writable root its capability SID; a policy
// without one gets the read-only capability, so that the token still has
// a restricting SID (CreateRestrictedToken with none would not restrict
// writes at all).
func (l *lowered) capabilities() {
	for _, c := range l.rules {
		if c.rule.Access == ir.Write {
			l.caps = append(l.caps, CapRef(PlanPath(c.rule.Path)))
		}
	}
	if len(l.caps) == 0 {
		l.caps = []string{SIDReadOnlyCap}
	}
}

func why(r ir.Rule) string {
	s := r.Origin.Kind
	if r.Origin.Key != "" {
		s += " " + strconv.Quote(r.Origin.Key)
	}
	if r.Mandatory {
		s += " (mandatory)"
	}
	if pos := r.Origin.Pos.String(); pos != "" {
		s += " at " + pos
	}
	return s
}

func globWhy(g ir.Glob) string {
	s := g.Origin.Kind + " glob " + strconv.Quote(g.Pattern)
	if g.Mandatory {
		s += " (mandatory)"
	}
	if pos := g.Origin.Pos.String(); pos != "" {
		s += " at " + pos
	}
	return s
}

// aclSteps are the ACE steps of the collapsed rules. readPrincipal is the
// SID reads are granted to and denied from ("" in unelevated mode, whose
// reads are the user's own); writePrincipal is the normal-check SID that
// writes need besides the capability ("" when the identity already has
// it).
func (l *lowered) aclSteps(readPrincipal, writePrincipal string) []Step {
	var out []Step
	for _, c := range l.rules {
		r := c.rule
		// A missing carve-out or denied path is created (as a directory)
		// so that the sandbox cannot create it unprotected. A missing
		// writable root is not: it may be meant as a file, and a grant
		// on nothing grants nothing (fail closed, as the reference).
		base := Step{Path: PlanPath(r.Path), Inherit: "CI|OI", Access: r.Access.String(), SkipIfMissing: r.SkipIfMissing,
			Materialize: !r.SkipIfMissing && r.Access != ir.Write && r.Path != "/", Why: why(r)}
		add := func(op, sid string, mask uint32) {
			s := base
			s.Op, s.SID, s.Mask = op, sid, hexMask(mask)
			s.Mandatory = r.Mandatory && r.Access == ir.Deny
			out = append(out, s)
		}
		switch r.Access {
		case ir.Write:
			if writePrincipal != "" {
				add(OpACLAllow, writePrincipal, MaskWrite)
			}
			add(OpACLAllow, CapRef(PlanPath(r.Path)), MaskWrite)
		case ir.Read:
			if readPrincipal != "" {
				add(OpACLAllow, readPrincipal, MaskReadExec)
			}
			for _, cp := range l.caps {
				add(OpACLDeny, cp, MaskDenyWrite)
			}
		case ir.Deny:
			if readPrincipal != "" {
				add(OpACLDeny, readPrincipal, MaskDenyRead)
			}
			for _, cp := range l.caps {
				add(OpACLDeny, cp, MaskDenyWrite)
			}
		}
	}
	return out
}

// globSteps deny the matches of every deny glob, expanded at launch.
func (l *lowered) globSteps(readPrincipal string) []Step {
	var out []Step
	for _, g := range l.p.Globs {
		depth := g.MaxDepth
		base := Step{Op: OpGlobDeny, Pattern: g.Pattern, Base: g.Base, MaxDepth: depth, Inherit: "CI|OI",
			Access: "deny", Mandatory: true, Why: globWhy(g)}
		if readPrincipal != "" {
			s := base
			s.SID, s.Mask = readPrincipal, hexMask(MaskDenyRead)
			out = append(out, s)
		}
		for _, cp := range l.caps {
			s := base
			s.SID, s.Mask = cp, hexMask(MaskDenyWrite)
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return Key(out[i].Pattern) < Key(out[j].Pattern) })
	return out
}

func (l *lowered) capSteps() []Step {
	var out []Step
	for _, c := range l.caps {
		s := Step{Op: OpCapEnsure, SID: c, Why: "capability SID, kept in the polc SID store"}
		if c != SIDReadOnlyCap {
			s.Path = strings.TrimPrefix(c, capPrefix)
		}
		out = append(out, s)
	}
	for _, c := range l.caps {
		out = append(out, Step{Op: OpNulDevice, SID: c, Mask: hexMask(MaskNulDevice), Why: "tools write to NUL"})
	}
	return out
}

func (l *lowered) tokenStep(identity string) Step {
	dacl := append([]string{identity}, l.caps...)
	return Step{Op: OpToken, Flags: []string{"DISABLE_MAX_PRIVILEGE", "LUA_TOKEN", "WRITE_RESTRICTED"},
		Restricting: append([]string(nil), l.caps...), DefaultDACL: dacl,
		Why: "writes must pass a second check against the capability SIDs only"}
}

func (l *lowered) elevated() *Mode {
	identity := SIDOffline
	switch l.plan.Network.Mode {
	case string(ir.NetworkFull):
		identity = SIDOnline
	case string(ir.NetworkProxy):
		identity = SIDProxyUser
	}
	m := &Mode{Identity: identity}
	if l.gapsOnly {
		l.elevatedGaps(m)
		return m
	}
	m.Steps = append(m.Steps,
		Step{Op: OpGroupEnsure, SID: SIDSandboxGroup, Name: GroupName, Why: "reads are granted to this group only"},
		Step{Op: OpUserEnsure, SID: identity, Name: AccountName(identity), Members: []string{SIDSandboxGroup, SIDUsers},
			Why: "the command runs as this account"})
	m.Steps = append(m.Steps, l.capSteps()...)
	m.Steps = append(m.Steps, l.aclSteps(SIDSandboxGroup, SIDSandboxGroup)...)
	m.Steps = append(m.Steps, l.globSteps(SIDSandboxGroup)...)
	if identity != SIDOnline {
		m.Steps = append(m.Steps, firewallSteps(identity, l.plan.Network.ProxyPorts)...)
	}
	m.Steps = append(m.Steps, l.tokenStep(identity),
		Step{Op: OpJob, Limits: []string{"KILL_ON_JOB_CLOSE"}},
		Step{Op: OpSpawn, Via: "CreateProcessWithLogonW+runner"})
	l.elevatedGaps(m)
	return m
}

// AccountName is the local account a sandbox identity ref names.
func AccountName(ref string) string {
	switch ref {
	case SIDOnline:
		return OnlineUserName
	case SIDProxyUser:
		return ProxyUserName
	}
	return OfflineUserName
}

func (l *lowered) unelevated() *Mode {
	m := &Mode{Identity: SIDRealUser}
	if l.gapsOnly {
		l.unelevatedGaps(m)
		return m
	}
	m.Steps = append(m.Steps, l.capSteps()...)
	m.Steps = append(m.Steps, l.aclSteps("", "")...)
	m.Steps = append(m.Steps, l.globSteps("")...)
	// Without the full network, point tools that honour proxy variables
	// at nowhere; with polc's proxy the runtime points them at it.
	if l.plan.Network.Mode != string(ir.NetworkFull) && l.plan.Network.Proxy == nil {
		m.Steps = append(m.Steps, Step{Op: OpEnvSet, Env: noNetworkEnv(), Why: "advisory only: tools that honour proxy variables stay offline"})
	}
	m.Steps = append(m.Steps, l.tokenStep(SIDRealUser),
		Step{Op: OpJob, Limits: []string{"KILL_ON_JOB_CLOSE"}},
		Step{Op: OpSpawn, Via: "CreateProcessAsUserW"})
	l.unelevatedGaps(m)
	return m
}

// noNetworkEnv is the reference's environment-level network block.
func noNetworkEnv() map[string]string {
	proxy := "http://127.0.0.1:9"
	return map[string]string{
		"SBX_NONET_ACTIVE": "1", "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "ALL_PROXY": proxy,
		"NO_PROXY": "localhost,127.0.0.1,::1", "PIP_NO_INDEX": "1", "NPM_CONFIG_OFFLINE": "true",
		"CARGO_NET_OFFLINE": "true", "GIT_HTTP_PROXY": proxy, "GIT_HTTPS_PROXY": proxy,
	}
}

// Firewall scopes, as the reference's setup_provisioning/firewall.rs.
const (
	nonLoopbackAddrs = "0.0.0.0-126.255.255.255,128.0.0.0-255.255.255.255,::,::2-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
	loopbackAddrs    = "127.0.0.0/8,::1"
)

// firewallSteps block an account's network: everything but loopback,
// loopback UDP, and loopback TCP except the proxy's ports (none for the
// offline account, the proxy's listeners for the proxy account). Each
// account has its own named rules, machine-wide.
func firewallSteps(user string, ports []int) []Step {
	prefix := "polc_sandbox_" + strings.TrimPrefix(user, "user:") + "_block_"
	tcp := Step{Op: OpFirewallRule, Name: prefix + "loopback_tcp", Direction: "out", Protocol: "tcp", RemoteAddrs: loopbackAddrs,
		RemotePorts: PortComplement(ports), Action: "block", SID: user, Why: "proxy ports stay reachable"}
	return []Step{
		{Op: OpFirewallRule, Name: prefix + "outbound", Direction: "out", Protocol: "any", RemoteAddrs: nonLoopbackAddrs, RemotePorts: "*", Action: "block", SID: user},
		{Op: OpFirewallRule, Name: prefix + "inbound", Direction: "in", Protocol: "any", RemoteAddrs: nonLoopbackAddrs, RemotePorts: "*", Action: "block", SID: user},
		{Op: OpFirewallRule, Name: prefix + "loopback_udp", Direction: "out", Protocol: "udp", RemoteAddrs: loopbackAddrs, RemotePorts: "*", Action: "block", SID: user},
		tcp,
	}
}

// PortComplement is the port list 1-65535 minus ports, as ranges
// ("1-8079,8081-65535"); "*" when ports is empty.
func PortComplement(ports []int) string {
	ps := sortedPorts(ports)
	if len(ps) == 0 {
		return "*"
	}
	var parts []string
	next := 1
	for _, p := range ps {
		if p > next {
			parts = append(parts, portRange(next, p-1))
		}
		next = p + 1
	}
	if next <= 65535 {
		parts = append(parts, portRange(next, 65535))
	}
	return strings.Join(parts, ",")
}

func portRange(a, b int) string {
	if a == b {
		return strconv.Itoa(a)
	}
	return fmt.Sprintf("%d-%d", a, b)
}

func sortedPorts(ports []int) []int {
	var out []int
	seen := map[int]bool{}
	for _, p := range ports {
		if p > 0 && p <= 65535 && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Ints(out)
	return out
}

// readableOnWindows reports whether the policy lets the sandbox read the
// absolute path s, where "/" is every drive's parent: the deepest rule
// covering s decides (a mandatory deny above it wins), :minimal grants
// the system roots. Deny globs are judged separately.
func (l *lowered) readableOnWindows(s string) bool {
	sk := Key(s)
	best, bestDepth := ir.Access(0), -1
	if l.p.Minimal != nil {
		for _, m := range l.sys {
			if underKey(sk, Key(m)) {
				best, bestDepth = ir.Read, keyDepth(Key(m))
			}
		}
	}
	for _, c := range l.rules {
		if !underKey(sk, c.key) {
			continue
		}
		if c.rule.Mandatory && c.rule.Access == ir.Deny {
			return false
		}
		if d := keyDepth(c.key); d > bestDepth || d == bestDepth && c.rule.Access > best {
			best, bestDepth = c.rule.Access, d
		}
	}
	return best == ir.Read || best == ir.Write
}

// elevatedGaps: system roots are readable by every account and their
// DACLs are not ours to change. A policy that hides them, or puts a deny
// or carve-out inside them, cannot be enforced; a write grant cannot
// reach them (fail closed).
func (l *lowered) elevatedGaps(m *Mode) {
	l.systemRootGaps(m, true)
	for _, g := range l.p.Globs {
		for _, s := range l.sys {
			if underKey(Key(g.Base), Key(s)) {
				m.Gaps = append(m.Gaps, Gap{Code: string(diag.WindowsSystemACE), Refuses: true, Op: "read", Path: g.Base,
					Message: fmt.Sprintf("deny glob %q lies inside the system directory %s, whose ACL polc does not change", g.Pattern, s),
					Fix:     "deny paths outside Windows system directories"})
			}
		}
	}
}

func (l *lowered) systemRootGaps(m *Mode, checkReads bool) {
	for _, s := range l.sys {
		sk := Key(s)
		if checkReads && !l.readableOnWindows(s) {
			m.Gaps = append(m.Gaps, Gap{Code: string(diag.WindowsSystemRootsHide), Refuses: true, Op: "read", Path: s,
				Message: fmt.Sprintf("the profile does not let the sandbox read %s, but every Windows account can, and no process starts without it", s),
				Fix:     `add ":minimal" = "read" to the profile`})
		}
		for _, c := range l.rules {
			r := c.rule
			switch {
			case r.Access == ir.Write && underKey(sk, c.key):
				m.Gaps = append(m.Gaps, Gap{Code: string(diag.WindowsSystemWrite), Op: "write", Path: s,
					Message: fmt.Sprintf("write rule %q covers the system directory %s, which stays read-only on Windows", r.Path, s),
					Fix:     "grant write on narrower paths"})
			case underKey(c.key, sk) && c.key != sk && r.Access == ir.Write:
				m.Gaps = append(m.Gaps, Gap{Code: string(diag.WindowsSystemWrite), Op: "write", Path: r.Path,
					Message: fmt.Sprintf("write rule %q lies inside the system directory %s, which stays read-only on Windows", r.Path, s),
					Fix:     "grant write outside Windows system directories"})
			case checkReads && underKey(c.key, sk) && r.Access == ir.Deny:
				m.Gaps = append(m.Gaps, Gap{Code: string(diag.WindowsSystemACE), Refuses: true, Op: "read", Path: r.Path,
					Message: fmt.Sprintf("deny rule %q lies inside the system directory %s, whose ACL polc does not change", r.Path, s),
					Fix:     "deny paths outside Windows system directories"})
			}
		}
	}
}

// unelevatedGaps: the command reads as the signed-in user, so any read
// restriction is out of reach (deny-read ACEs on capability SIDs are
// ignored for reads under a write-restricted token), and the network
// block is only advisory.
func (l *lowered) unelevatedGaps(m *Mode) {
	if l.restrictsReads() {
		m.Gaps = append(m.Gaps, Gap{Code: string(diag.WindowsUnelevatedGaps), Refuses: true, Op: "read", Path: "/",
			Message: "the profile restricts reads, but unelevated mode reads as the signed-in user (deny-read ACEs on capability SIDs are ignored for reads under a write-restricted token)",
			Fix:     "use the elevated mode (polc sets up a sandbox account once, as an administrator)"})
	}
	if l.plan.Network.Mode != string(ir.NetworkFull) {
		msg := "the profile turns the network off, but unelevated mode can only set proxy variables, which tools may ignore"
		if l.plan.Network.Proxy != nil {
			msg = "the profile lets the network out only through its proxy, but unelevated mode can only set proxy variables, which tools may ignore"
		}
		m.Gaps = append(m.Gaps, Gap{Code: string(diag.WindowsUnelevatedGaps), Refuses: true, Op: "net",
			Message: msg,
			Fix:     "use the elevated mode, whose firewall rules block the sandbox account"})
	}
	l.systemRootGaps(m, false)
}

// restrictsReads reports whether some path is unreadable under p: any
// deny rule or glob, or no read grant on the universal root.
func (l *lowered) restrictsReads() bool {
	if len(l.p.Globs) > 0 {
		return true
	}
	root := false
	for _, c := range l.rules {
		if c.rule.Access == ir.Deny {
			return true
		}
		if c.key == "/" {
			root = true
		}
	}
	return !root
}

func (l *lowered) principals() {
	ps := []Principal{
		{Ref: SIDSandboxGroup, Kind: "group", Name: GroupName},
		{Ref: SIDOffline, Kind: "user", Name: OfflineUserName},
		{Ref: SIDOnline, Kind: "user", Name: OnlineUserName},
		{Ref: SIDRealUser, Kind: "user", Name: "the signed-in user"},
		{Ref: SIDUsers, Kind: "well_known", Name: `BUILTIN\Users`, SID: "S-1-5-32-545"},
	}
	if l.plan.Network.Mode == string(ir.NetworkProxy) {
		ps = append(ps, Principal{Ref: SIDProxyUser, Kind: "user", Name: ProxyUserName})
	}
	for _, c := range l.caps {
		p := Principal{Ref: c, Kind: "capability"}
		if c != SIDReadOnlyCap {
			p.Root = strings.TrimPrefix(c, capPrefix)
		}
		ps = append(ps, p)
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Ref < ps[j].Ref })
	l.plan.Principals = ps
}

// finish marks refusing modes, picks the preferred mode and turns gaps
// into diagnostics.
func (l *lowered) finish(opts LowerOptions) {
	for _, m := range l.plan.Modes {
		for _, g := range m.Gaps {
			if g.Refuses {
				m.Refused = true
			}
		}
		// Recorded on every mode: it also covers gaps the runtime finds on
		// the host at launch (drive roots readable by every user).
		m.AllowUnenforceable = opts.AllowUnenforceable
	}
	l.plan.PreferredMode = Elevated
	if !l.plan.Modes[Unelevated].Refused {
		l.plan.PreferredMode = Unelevated
	}
	pos := l.posFor
	pref := l.plan.Modes[l.plan.PreferredMode]
	var hidden []string // POL092 gaps, reported as one diagnostic
	for _, g := range pref.Gaps {
		if g.Code == string(diag.WindowsSystemRootsHide) {
			hidden = append(hidden, g.Path)
		}
	}
	if len(hidden) > 0 {
		sev := diag.Error
		if opts.AllowUnenforceable {
			sev = diag.Warning
		}
		l.diags = append(l.diags, diag.Diagnostic{Code: diag.WindowsSystemRootsHide, Severity: sev, Pos: l.profilePos(),
			Message: fmt.Sprintf("the profile does not let the sandbox read %s, but every Windows account can, and no process starts without them (%s Windows mode)",
				strings.Join(hidden, ", "), l.plan.PreferredMode),
			Fix: `add ":minimal" = "read" to the profile`})
	}
	for _, g := range pref.Gaps {
		if g.Code == string(diag.WindowsSystemRootsHide) {
			continue
		}
		code := diag.Code(g.Code)
		sev := code.Severity()
		if g.Refuses {
			sev = diag.Error
			if opts.AllowUnenforceable {
				sev = diag.Warning
			}
		} else if sev == diag.Error {
			sev = diag.Warning
		}
		l.diags = append(l.diags, diag.Diagnostic{Code: code, Severity: sev, Pos: pos(g.Path),
			Message: fmt.Sprintf("%s (%s Windows mode)", g.Message, l.plan.PreferredMode), Fix: g.Fix})
	}
	if l.plan.PreferredMode == Elevated {
		var why []string
		for _, g := range l.plan.Modes[Unelevated].Gaps {
			if g.Refuses {
				why = append(why, g.Op)
			}
		}
		if len(why) > 0 {
			l.diags = append(l.diags, diag.Diagnostic{Code: diag.WindowsUnelevatedGaps, Severity: diag.Info,
				Message: fmt.Sprintf("unelevated Windows mode cannot enforce this profile (%s); the plan uses the elevated mode", strings.Join(why, ", ")),
				Fix:     "none needed; the elevated mode needs a one-time setup as an administrator"})
		}
	}
	var posix []string
	var posixAt diag.Pos
	for _, c := range l.rules {
		if strings.HasPrefix(c.rule.Path, "/") && c.rule.Path != "/" && !strings.HasPrefix(c.rule.Path, "//") {
			if len(posix) == 0 {
				posixAt = c.rule.Origin.Pos
			}
			posix = append(posix, c.rule.Path)
		}
	}
	if len(posix) > 0 {
		l.diags = append(l.diags, diag.Diagnostic{Code: diag.WindowsPosixPath, Severity: diag.Info, Pos: posixAt,
			Message: fmt.Sprintf("POSIX paths have no meaning on Windows; the runtime skips the rules on %s", strings.Join(posix, ", ")),
			Fix:     "none needed for a profile shared with Linux and macOS"})
	}
}

// profilePos is where the profile's rules were written: the :minimal
// entry, else the first user-written rule with a position.
func (l *lowered) profilePos() diag.Pos {
	if l.p.Minimal != nil && !l.p.Minimal.Pos.IsZero() {
		return l.p.Minimal.Pos
	}
	for _, r := range l.p.Rules {
		if r.Origin.Kind == ir.OriginConfig && !r.Origin.Pos.IsZero() {
			return r.Origin.Pos
		}
	}
	for _, r := range l.p.Rules {
		if !r.Origin.Pos.IsZero() {
			return r.Origin.Pos
		}
	}
	return diag.Pos{}
}

// posFor finds the TOML position of the rule or glob a gap is about.
func (l *lowered) posFor(path string) diag.Pos {
	for _, r := range l.p.Rules {
		if r.Path == path {
			return r.Origin.Pos
		}
	}
	for _, g := range l.p.Globs {
		if g.Base == path {
			return g.Origin.Pos
		}
	}
	return l.profilePos()
}
