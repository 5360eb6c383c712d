package compiler

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// netRequirements is requirements' [experimental_network]: the managed
// network proxy. A later requirements file replaces an earlier one's
// value field by field, as for every other requirement.
type netRequirements struct {
	// table is where the last [experimental_network] was written.
	table   *syntax.Value
	enabled *syntax.Value
	// httpPort and socksPort are the listener ports (0 means the default).
	httpPort, socksPort *syntax.Value
	// domains are the managed domain rules: allowed_domains and
	// denied_domains, or the domains table. domainsPos is where the
	// first of those keys is written.
	domains     []ir.DomainRule
	domainsSet  bool
	domainsPos  diag.Pos
	managedOnly *syntax.Value
	allowLocal  *syntax.Value
	allUnix     *syntax.Value
	// unixAllow and unixDeny are the managed Unix socket rules
	// (unix_sockets, or the legacy allow_unix_sockets list).
	unixAllow []ir.UnixSocket
	unixDeny  []ir.UnixSocket
	unixSet   bool
}

// netRequirementKeys are the keys of [experimental_network] in requirements.
var netRequirementKeys = []string{"enabled", "http_port", "socks_port", "allow_upstream_proxy",
	"dangerously_allow_non_loopback_proxy", "dangerously_allow_all_unix_sockets", "domains",
	"managed_allowed_domains_only", "allowed_domains", "denied_domains", "unix_sockets",
	"allow_unix_sockets", "allow_local_binding", "review_domains", "header_injections"}

// readNetworkRequirements reads one file's [experimental_network].
func (s *state) readNetworkRequirements(r *requirements, v *syntax.Value) {
	const what = "experimental_network"
	if !s.expect(v, syntax.Table, what) {
		return
	}
	if r.network == nil {
		r.network = &netRequirements{}
	}
	n := r.network
	n.table = v
	t := v.Tab
	// The reference refuses a table that spells the same list twice.
	conflict := func(a string, others ...string) bool {
		av := t.Get(a)
		if av == nil {
			return false
		}
		for _, o := range others {
			if ov := t.Get(o); ov != nil {
				s.diags = append(s.diags, diag.Diagnostic{Code: diag.NetReqConflict, Severity: diag.NetReqConflict.Severity(), Pos: av.KeyPos,
					Message: fmt.Sprintf("`%s.%s` cannot be combined with the legacy `%s` (at %s): they are two spellings of the same managed rules (the reference refuses to start)", what, a, o, ov.KeyPos),
					Fix:     fmt.Sprintf("move every entry of %s into %s = { HOST_OR_PATH = \"allow\" | \"deny\" } and remove %s", o, a, o),
					Related: []diag.Related{diag.Rel(ov.KeyPos, "the legacy spelling")}})
				return true
			}
		}
		return false
	}
	domainsConflict := conflict("domains", "allowed_domains", "denied_domains")
	unixConflict := conflict("unix_sockets", "allow_unix_sockets")

	var domains []ir.DomainRule
	domainsSeen := false
	for _, k := range t.Keys() {
		nv := t.Get(k)
		name := what + "." + syntax.QuoteKey(k)
		switch k {
		case "enabled":
			if s.expect(nv, syntax.Bool, name) {
				n.enabled = nv
			}
		case "managed_allowed_domains_only":
			if s.expect(nv, syntax.Bool, name) {
				n.managedOnly = nv
			}
		case "allow_local_binding":
			if s.expect(nv, syntax.Bool, name) {
				n.allowLocal = nv
			}
		case "dangerously_allow_all_unix_sockets":
			if s.expect(nv, syntax.Bool, name) {
				n.allUnix = nv
			}
		case "allow_upstream_proxy", "dangerously_allow_non_loopback_proxy":
			if s.expect(nv, syntax.Bool, name) && nv.Bool {
				s.diags.Addf(diag.NetSettingNoEffect, nv.Pos, "remove the key",
					"%s: polc's proxy listens only on the sandbox's loopback and connects to each allowed host itself, so this changes nothing", name)
			}
		case "review_domains", "header_injections":
			s.diags.Addf(diag.NetSettingNoEffect, nv.KeyPos, "remove the key",
				"%s: polc's proxy does not review or rewrite requests, so this changes nothing", name)
		case "http_port", "socks_port":
			if !s.expect(nv, syntax.Integer, name) {
				continue
			}
			if nv.Int < 0 || nv.Int > 65535 {
				s.diags.Addf(diag.NetBadPort, nv.Pos, "use a port from 1 to 65535 (0 keeps the default)",
					"%s = %d is not a port (0-65535)", name, nv.Int)
				continue
			}
			if k == "http_port" {
				n.httpPort = nv
			} else {
				n.socksPort = nv
			}
		case "allowed_domains", "denied_domains":
			if domainsConflict || !s.expect(nv, syntax.Array, name) {
				continue
			}
			if !domainsSeen {
				n.domainsPos = nv.KeyPos
			}
			domainsSeen = true
			action := ir.DomainAllow
			if k == "denied_domains" {
				action = ir.DomainDeny
			}
			for _, e := range nv.Arr {
				if !s.expect(e, syntax.String, name+" entries") {
					continue
				}
				o := ir.Origin{Kind: ir.OriginRequirement, Key: name, Pos: e.Pos}
				if r, ok := s.managedRule(e.Str, action, o, e.Pos, name); ok {
					domains = append(domains, r)
				}
			}
		case "domains":
			if domainsConflict || !s.expect(nv, syntax.Table, name) {
				continue
			}
			domainsSeen = true
			n.domainsPos = nv.KeyPos
			for _, r := range s.domainTable(nv, name, ir.Origin{Kind: ir.OriginRequirement, Key: name}) {
				if r.Action == ir.DomainAllow && (r.Pattern == "*" || r.Pattern == "**") {
					s.globalManagedAllow(r.Origin.Pos, name)
					continue
				}
				domains = append(domains, r)
			}
		case "unix_sockets":
			if unixConflict || !s.expect(nv, syntax.Table, name) {
				continue
			}
			s.allowDenyTable(nv.Tab, name, "allow", "deny", "none")
			n.unixAllow, n.unixDeny, n.unixSet = nil, nil, true
			for _, p := range nv.Tab.Keys() {
				pv := nv.Tab.Get(p)
				if pv.Kind != syntax.String {
					continue
				}
				if u, ok := s.managedSocket(p, pv.KeyPos, name); ok {
					if pv.Str == "allow" {
						n.unixAllow = append(n.unixAllow, u)
					} else {
						n.unixDeny = append(n.unixDeny, u)
					}
				}
			}
		case "allow_unix_sockets":
			if unixConflict || !s.expect(nv, syntax.Array, name) {
				continue
			}
			n.unixAllow, n.unixDeny, n.unixSet = nil, nil, true
			for _, e := range nv.Arr {
				if s.expect(e, syntax.String, name+" entries") {
					if u, ok := s.managedSocket(e.Str, e.Pos, name); ok {
						n.unixAllow = append(n.unixAllow, u)
					}
				}
			}
		default:
			s.unknownKeyIn(nv, what, k, netRequirementKeys, false)
		}
	}
	if domainsSeen {
		n.domains, n.domainsSet = domains, true
	}
}

// managedRule is domainRule for a managed list entry: a global wildcard
// cannot be a managed allow (the reference refuses it: the admin's
// allowlist would allow everything).
func (s *state) managedRule(pattern string, action ir.DomainAction, o ir.Origin, pos diag.Pos, what string) (ir.DomainRule, bool) {
	if p := strings.TrimSpace(pattern); action == ir.DomainAllow && (p == "*" || p == "**") {
		s.globalManagedAllow(pos, what)
		return ir.DomainRule{}, false
	}
	return s.domainRule(pattern, action, o, pos)
}

func (s *state) globalManagedAllow(pos diag.Pos, what string) {
	s.diags.Addf(diag.NetManagedGlobalAllow, pos,
		"list the hosts to allow, or scoped wildcards such as *.example.com; without a proxy requirement the network is the profile's",
		"%s: a managed allowlist cannot be the global wildcard \"*\" (the reference refuses to start: allowed exact hosts or scoped wildcards only)", what)
}

// managedSocket checks one managed Unix socket path.
func (s *state) managedSocket(p string, pos diag.Pos, what string) (ir.UnixSocket, bool) {
	if strings.IndexByte(p, 0) >= 0 || !path.IsAbs(p) {
		s.diags.Addf(diag.BadNetwork, pos, "write the socket's absolute path", "%s: Unix socket %q must be an absolute path", what, p)
		return ir.UnixSocket{}, false
	}
	return ir.UnixSocket{Path: path.Clean(p), Origin: ir.Origin{Kind: ir.OriginRequirement, Key: what + " " + p, Pos: pos}}, true
}

// networkProxyFeature is features.network_proxy after requirements: on
// or off, and where it was set (a requirement's pinned value wins). The
// user's value is a boolean, or a table whose enabled key is one.
func (s *state) networkProxyFeature() (bool, ir.Origin) {
	if r := s.reqs; r != nil {
		if v := r.features["network_proxy"]; v != nil {
			return v.Bool, ir.Origin{Kind: ir.OriginRequirement, Key: "features.network_proxy", Pos: v.Pos}
		}
	}
	f := s.merged.Get("features")
	if f == nil || f.Kind != syntax.Table {
		return false, ir.Origin{}
	}
	v := f.Tab.Get("network_proxy")
	if v == nil {
		return false, ir.Origin{}
	}
	o := ir.Origin{Kind: ir.OriginConfig, Key: "features.network_proxy", Pos: v.Pos}
	switch v.Kind {
	case syntax.Bool:
		return v.Bool, o
	case syntax.Table:
		e := v.Tab.Get("enabled")
		if e == nil {
			return false, o
		}
		if s.expect(e, syntax.Bool, "features.network_proxy.enabled") {
			o.Pos, o.Key = e.Pos, "features.network_proxy.enabled"
			return e.Bool, o
		}
		return false, o
	}
	s.diags.Addf(diag.WrongType, v.Pos, "write features.network_proxy = true (or false)",
		"features.network_proxy must be a boolean or a table with enabled, not %s", kindWord(v))
	return false, o
}

// resolveNetwork decides the selected profile's network once the
// requirements are applied (docs/design.md §3):
//
//   - requirements' experimental_network.enabled = true: the managed
//     proxy, whatever the profile says (a profile without the network is
//     proxied too, as in the reference);
//   - requirements with an [experimental_network] that does not enable
//     it, features.network_proxy aside: no network (the reference points
//     the command at a proxy that never starts);
//   - features.network_proxy with a profile that turns the network on:
//     the proxy;
//   - a profile that turns the network on with domain rules or limited
//     mode: the proxy (the reference gives full network and leaves the
//     rules unenforced; polc enforces what the user wrote);
//   - otherwise the profile's own none or full.
func (s *state) resolveNetwork() {
	p := s.prof
	if p == nil {
		return
	}
	var nr *netRequirements
	if s.reqs != nil {
		nr = s.reqs.network
	}
	reqOrigin := func(v *syntax.Value, key string) ir.Origin {
		return ir.Origin{Kind: ir.OriginRequirement, Key: "experimental_network." + key, Pos: v.Pos}
	}
	if p.unrestricted {
		if nr != nil && nr.enabled != nil && nr.enabled.Bool {
			s.diags = append(s.diags, diag.Diagnostic{Code: diag.NetUnrestrictedBypass, Severity: diag.NetUnrestrictedBypass.Severity(), Pos: p.pos,
				Message: fmt.Sprintf("profile `%s` runs without a sandbox, so its commands reach the network directly: the managed proxy (%s) filters nothing", p.id, nr.enabled.Pos),
				Fix:     "select a sandboxed profile such as :workspace", Related: []diag.Related{diag.Rel(nr.enabled.Pos, "the managed proxy")}})
		}
		return
	}
	np := p.net
	if np == nil {
		np = newNetProfile(p.id)
	}
	wants := p.network.Mode == ir.NetworkFull
	feature, featureOrigin := s.networkProxyFeature()

	var on ir.Origin // what turned the proxy on
	switch {
	case nr != nil && nr.enabled != nil && nr.enabled.Bool:
		on = reqOrigin(nr.enabled, "enabled")
	case nr != nil && !(feature && wants && (nr.enabled == nil)):
		// Managed network requirements without the proxy: no network.
		if wants {
			why, at := "does not set enabled = true", nr.table.KeyPos
			if nr.enabled != nil {
				why, at = "sets enabled = false", nr.enabled.Pos
			}
			s.diags = append(s.diags, diag.Diagnostic{Code: diag.NetProxyDisabled, Severity: diag.NetProxyDisabled.Severity(), Pos: p.network.Origin.Pos,
				Message: fmt.Sprintf("profile `%s` turns the network on, but the managed [experimental_network] (%s) %s: the command gets no network (the reference points it at a proxy that never starts)", p.id, at, why),
				Fix:     "ask the administrator to set experimental_network.enabled = true, or turn the network off in the profile", Related: []diag.Related{diag.Rel(at, "the managed network requirements")}})
			p.network.Mode, p.network.Origin = ir.NetworkNone, ir.Origin{Kind: ir.OriginRequirement, Key: "experimental_network", Pos: at}
		}
		s.applyManagedSockets(nr, false)
		return
	case feature && wants:
		on = featureOrigin
	case wants && (len(np.domains) > 0 || np.methods == ir.MethodsLimited):
		on = ir.Origin{Kind: ir.OriginConfig, Key: "network.domains", Pos: np.domainsPos, Profile: p.network.Origin.Profile}
		what := "domain rules"
		if len(np.domains) == 0 {
			on = np.methodOrigin
			what = "mode = \"limited\""
		}
		s.diags.Addf(diag.NetRulesEnforced, on.Pos, "set features.network_proxy = true to make Codex enforce them too",
			"the profile's %s are enforced through polc's egress proxy (Codex 0.169.0 enforces them only with features.network_proxy and otherwise gives full network)", what)
	default:
		s.unusedDomainRules(np)
		return
	}

	px := &ir.Proxy{Domains: np.domains, Methods: np.methods, MethodOrigin: np.methodOrigin,
		AllowLocal: np.allowLocal, LocalOrigin: np.localOrigin, SOCKS5: np.socks5, SOCKS5Origin: np.socks5Origin,
		HTTPPort: np.httpPort, SOCKSPort: np.socksPort}
	if nr != nil {
		req := ir.NetRequirements{Domains: nr.domains}
		if v := nr.managedOnly; v != nil && v.Bool {
			req.ManagedAllowedDomainsOnly, req.ManagedOnlyOrigin = true, reqOrigin(v, "managed_allowed_domains_only")
		}
		if v := nr.allowLocal; v != nil {
			b := v.Bool
			req.AllowLocal, req.AllowLocalOrigin = &b, reqOrigin(v, "allow_local_binding")
		}
		narrowed, dropped := ir.NarrowProxy(*px, req)
		px = &narrowed
		for _, d := range dropped {
			related := []diag.Related{diag.Rel(req.ManagedOnlyOrigin.Pos, "managed_allowed_domains_only")}
			if d.By != nil {
				related = []diag.Related{diag.Rel(d.By.Origin.Pos, "the managed deny rule "+d.By.Pattern)}
			}
			s.diags = append(s.diags, diag.Diagnostic{Code: diag.NetUserAllowDropped, Severity: diag.NetUserAllowDropped.Severity(), Pos: d.Rule.Origin.Pos,
				Message: fmt.Sprintf("domain allow rule %q never applies: %s", d.Rule.Pattern, d.Why()),
				Fix:     "remove the rule, or ask the administrator to allow the host", Related: related})
		}
		if v := nr.httpPort; v != nil && v.Int != 0 {
			px.HTTPPort = int(v.Int)
		}
		if v := nr.socksPort; v != nil && v.Int != 0 {
			px.SOCKSPort = int(v.Int)
		}
		if h, so := px.Ports(); px.SOCKS5 && h == so {
			s.diags.Addf(diag.NetBadPort, on.Pos, "give the HTTP and SOCKS5 listeners different ports (http_port, socks_port, proxy_url, socks_url)",
				"the proxy's HTTP and SOCKS5 listeners would both use port %d", h)
		}
	}
	p.network.Mode, p.network.Origin, p.network.Proxy = ir.NetworkProxy, on, px
	if px.Methods == ir.MethodsLimited {
		s.diags.Addf(diag.NetLimitedNoTunnels, px.MethodOrigin.Pos, `use mode = "full" with domain rules that name only the hosts the command needs`,
			"mode = \"limited\" allows plain-HTTP GET, HEAD and OPTIONS only: HTTPS tunnels (CONNECT), SOCKS5 and WebSocket upgrades are refused, so HTTPS clients such as npm, pip and git fail (Codex inspects HTTPS with its own certificate authority; polc does not intercept TLS)")
	}
	if nr != nil {
		s.applyManagedSockets(nr, true)
	}
}

// unusedDomainRules warns when a profile's domain rules decide nothing:
// its network stays off (or fully on).
func (s *state) unusedDomainRules(np *netProfile) {
	if len(np.domains) == 0 {
		return
	}
	state := "off"
	if s.prof.network.Mode == ir.NetworkFull {
		state = "fully on"
	}
	s.diags.Addf(diag.NetRulesUnused, np.domainsPos, "set enabled = true in the same network table to proxy the network through these rules, or remove them",
		"the profile's domain rules decide nothing: its network is %s, so no request goes through the proxy", state)
}

// applyManagedSockets applies managed Unix socket rules: a managed deny
// removes the user's socket, and dangerously_allow_all_unix_sockets
// replaces the user's value, in every mode; managed allows add sockets
// only when the managed proxy is on (the admin's list is part of the
// managed network).
func (s *state) applyManagedSockets(nr *netRequirements, proxyOn bool) {
	n := &s.prof.network
	if v := nr.allUnix; v != nil {
		n.AllUnixSockets = nil
		if v.Bool {
			o := ir.Origin{Kind: ir.OriginRequirement, Key: "experimental_network.dangerously_allow_all_unix_sockets", Pos: v.Pos}
			n.AllUnixSockets = &o
		}
	}
	if !nr.unixSet {
		return
	}
	denied := map[string]bool{}
	for _, u := range nr.unixDeny {
		denied[u.Path] = true
	}
	var out []ir.UnixSocket
	seen := map[string]bool{}
	for _, u := range n.UnixSockets {
		if !denied[u.Path] && !seen[u.Path] {
			seen[u.Path] = true
			out = append(out, u)
		}
	}
	if proxyOn {
		for _, u := range nr.unixAllow {
			if !seen[u.Path] {
				seen[u.Path] = true
				out = append(out, u)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	n.UnixSockets = out
}
