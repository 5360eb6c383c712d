package compiler

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// This file compiles the network: a profile's [permissions.NAME.network]
// table (compileNetwork), requirements' [experimental_network]
// (readNetworkRequirements) and features.network_proxy, into ir.Network
// (resolveNetwork). docs/design.md §3 states the semantics.

// netProfile is a profile's network table as read, before requirements
// and features decide whether the proxy runs.
type netProfile struct {
	enabled bool
	// domains are the profile's domain rules, normalized and valid.
	domains    []ir.DomainRule
	domainsPos diag.Pos
	methods    ir.MethodMode
	// methodOrigin, localOrigin and socks5Origin say where each setting
	// was written (a default origin when it was not).
	methodOrigin ir.Origin
	allowLocal   bool
	localOrigin  ir.Origin
	socks5       bool
	socks5Origin ir.Origin
	// httpPort and socksPort are the ports of proxy_url and socks_url
	// (0: not written).
	httpPort, socksPort int
}

// newNetProfile is the reference's defaults: full methods, local
// addresses refused, SOCKS5 on.
func newNetProfile(layer string) *netProfile {
	def := func(key string) ir.Origin { return ir.Origin{Kind: ir.OriginDefault, Key: key, Profile: layer} }
	return &netProfile{methods: ir.MethodsFull, methodOrigin: def("mode"), localOrigin: def("allow_local_binding"),
		socks5: true, socks5Origin: def("enable_socks5")}
}

// networkKeys are the keys of a [permissions.NAME.network] table.
var networkKeys = []string{"enabled", "enable_socks5", "dangerously_allow_all_unix_sockets", "enable_socks5_udp",
	"allow_upstream_proxy", "allow_local_binding", "dangerously_allow_non_loopback_proxy", "proxy_url", "socks_url",
	"mode", "domains", "unix_sockets", "mitm", "allowed_domains", "denied_domains", "allowed_unix_sockets"}

// compileNetwork reads a profile's network table. enabled = true gives a
// full network for now; resolveNetwork turns it into a proxy network
// when features, requirements or the profile's own domain rules call for
// one. Host Unix sockets are their own opt-in, kept in every mode.
func (s *state) compileNetwork(p *profile, v *syntax.Value, what string) {
	t := v.Tab
	origin := ir.Origin{Kind: ir.OriginConfig, Key: "network", Pos: v.KeyPos, Profile: v.Origin}
	np := newNetProfile(v.Origin)
	var proxyURL, socksURL, nonLoopback *syntax.Value
	var unixSockets []ir.UnixSocket
	var allUnix *ir.Origin
	setting := func(nv *syntax.Value, key string) ir.Origin {
		return ir.Origin{Kind: ir.OriginConfig, Key: key, Pos: nv.Pos, Profile: v.Origin}
	}
	for _, k := range t.Keys() {
		nv := t.Get(k)
		name := what + "." + syntax.QuoteKey(k)
		switch k {
		case "enabled":
			if s.expect(nv, syntax.Bool, name) {
				np.enabled = nv.Bool
				origin.Pos = nv.Pos
			}
		case "enable_socks5":
			if s.expect(nv, syntax.Bool, name) {
				np.socks5, np.socks5Origin = nv.Bool, setting(nv, "network.enable_socks5")
			}
		case "allow_local_binding":
			if s.expect(nv, syntax.Bool, name) {
				np.allowLocal, np.localOrigin = nv.Bool, setting(nv, "network.allow_local_binding")
			}
		case "dangerously_allow_all_unix_sockets":
			if s.expect(nv, syntax.Bool, name) && nv.Bool {
				o := ir.Origin{Kind: ir.OriginConfig, Key: k, Pos: nv.Pos, Profile: v.Origin}
				allUnix = &o
			}
		case "enable_socks5_udp":
			if s.expect(nv, syntax.Bool, name) && nv.Bool {
				s.diags.Addf(diag.NetSettingNoEffect, nv.Pos, "remove the key; UDP through the proxy is never allowed",
					"%s: polc's SOCKS5 proxy carries TCP connections only (UDP ASSOCIATE is refused)", name)
			}
		case "allow_upstream_proxy":
			if s.expect(nv, syntax.Bool, name) && nv.Bool {
				s.diags.Addf(diag.NetSettingNoEffect, nv.Pos, "remove the key; polc's proxy connects to each allowed host itself",
					"%s: polc's proxy never forwards through an upstream proxy", name)
			}
		case "dangerously_allow_non_loopback_proxy":
			if s.expect(nv, syntax.Bool, name) && nv.Bool {
				nonLoopback = nv
			}
		case "proxy_url":
			if s.expect(nv, syntax.String, name) {
				proxyURL = nv
			}
		case "socks_url":
			if s.expect(nv, syntax.String, name) {
				socksURL = nv
			}
		case "mode":
			if s.expect(nv, syntax.String, name) {
				switch nv.Str {
				case "limited":
					np.methods, np.methodOrigin = ir.MethodsLimited, setting(nv, "network.mode")
				case "full":
					np.methods, np.methodOrigin = ir.MethodsFull, setting(nv, "network.mode")
				default:
					s.diags.Addf(diag.BadNetwork, nv.Pos, `use "limited" or "full"`, "unknown network mode %s", nv.Describe())
				}
			}
		case "domains":
			if s.expect(nv, syntax.Table, name) {
				np.domainsPos = nv.KeyPos
				np.domains = s.domainTable(nv, name, ir.Origin{Kind: ir.OriginConfig, Key: "network.domains", Profile: v.Origin})
			}
		case "unix_sockets":
			if s.expect(nv, syntax.Table, name) {
				s.allowDenyTable(nv.Tab, name, "allow", "deny", "none")
				unixSockets = s.unixSockets(nv.Tab, name, v.Origin)
			}
		case "mitm":
			if s.expect(nv, syntax.Table, name) && nv.Tab.Len() > 0 {
				s.diags.Addf(diag.NetSettingNoEffect, nv.KeyPos, "remove the table; in limited mode polc refuses HTTPS tunnels instead of inspecting them",
					"%s: polc does not intercept TLS, so these settings change nothing", name)
			}
		case "allowed_domains", "denied_domains", "allowed_unix_sockets":
			// Legacy list keys: Codex ignores them silently
			// (network_toml_ignores_legacy_network_list_keys); polc
			// ignores them too, but says so, since a rule the user
			// wrote would otherwise do nothing without a word.
			fix := `write domains = { "example.com" = "allow" } (or "deny") instead`
			if k == "allowed_unix_sockets" {
				fix = `write unix_sockets = { "/path/to.sock" = "allow" } instead`
			}
			s.diags.Addf(diag.NetLegacyListIgnored, nv.KeyPos, fix,
				"%s is a legacy list key that Codex ignores in a profile, so it allows or denies nothing", name)
		default:
			s.unknownKeyIn(nv, what, k, networkKeys, true)
		}
	}
	for _, u := range []*syntax.Value{proxyURL, socksURL} {
		if u == nil {
			continue
		}
		def := ir.DefaultHTTPPort
		if u == socksURL {
			def = ir.DefaultSOCKSPort
		}
		port, ok := s.proxyListenPort(u, def, nonLoopback)
		if !ok {
			continue
		}
		if u == socksURL {
			np.socksPort = port
		} else {
			np.httpPort = port
		}
	}
	if np.httpPort != 0 && np.httpPort == np.socksPort && np.socks5 {
		s.diags.Addf(diag.NetBadPort, socksURL.Pos, "give the SOCKS5 listener its own port",
			"socks_url and proxy_url both use port %d", np.httpPort)
	}
	p.net = np
	p.network = ir.Network{Mode: ir.NetworkNone, Origin: origin, UnixSockets: unixSockets, AllUnixSockets: allUnix}
	if np.enabled {
		p.network.Mode = ir.NetworkFull
	}
	if allUnix != nil {
		s.diags.Addf(diag.AllUnixSockets, allUnix.Pos, `allow only the sockets the command needs: unix_sockets = { "/path/to.sock" = "allow" }`,
			"dangerously_allow_all_unix_sockets: the command may connect to every Unix socket of the host it can see (tmux, ssh-agent, Docker, the session bus); each can run commands outside the sandbox")
	}
}

// domainTable reads a domains table (host pattern = "allow" | "deny")
// into rules, each located at its key. base is the origin every rule
// shares (kind, key, profile).
func (s *state) domainTable(v *syntax.Value, what string, base ir.Origin) []ir.DomainRule {
	var out []ir.DomainRule
	for _, k := range v.Tab.Keys() {
		dv := v.Tab.Get(k)
		if !s.expect(dv, syntax.String, what+"."+syntax.QuoteKey(k)) {
			continue
		}
		if dv.Str != "allow" && dv.Str != "deny" {
			s.diags.Addf(diag.NetBadAction, dv.Pos, `use "allow" or "deny"`,
				"unknown value %s for %s.%s: a domain rule is allow or deny", dv.Describe(), what, syntax.QuoteKey(k))
			continue
		}
		o := base
		o.Pos = dv.KeyPos
		if o.Kind == ir.OriginConfig && dv.Origin != "" {
			o.Profile = dv.Origin // the profile in the extends chain that wrote it
		}
		if r, ok := s.domainRule(k, ir.DomainAction(dv.Str), o, dv.KeyPos); ok {
			out = append(out, r)
		}
	}
	return out
}

// domainRule normalizes and validates one rule, reporting a refused one
// at pos.
func (s *state) domainRule(pattern string, action ir.DomainAction, o ir.Origin, pos diag.Pos) (ir.DomainRule, bool) {
	r := ir.DomainRule{Pattern: ir.NormalizeDomainPattern(pattern), Action: action, Origin: o}
	if err := ir.ValidateDomainRule(r); err != nil {
		code, fix := diag.NetBadPattern, "write a host (example.com), an IP address, or a wildcard such as *.example.com or **.example.com"
		if c := diag.CodeOf(err); c != "" {
			code = c
			if code == diag.NetGlobalDeny {
				fix = "deny exact hosts or scoped wildcards such as *.example.com; hosts no rule allows are refused anyway"
			}
		}
		s.diags.Add(code, pos, diag.MessageOf(err), fix)
		return r, false
	}
	return r, true
}

// proxyListenPort reads proxy_url or socks_url the way the reference
// does (a URL, or host:port; the port defaults to def) and returns the
// port. polc's listener is always on the sandbox's own loopback, so a
// host that is not loopback is ignored with a warning. A port that is
// not a number in 1-65535 is an error (the reference quietly uses the
// default, which would hide the typo).
func (s *state) proxyListenPort(v *syntax.Value, def int, nonLoopback *syntax.Value) (int, bool) {
	raw := strings.TrimSpace(v.Str)
	bad := func(format string, args ...any) (int, bool) {
		s.diags.Addf(diag.NetBadPort, v.Pos, "write a loopback address and port, such as http://127.0.0.1:3128", format, args...)
		return 0, false
	}
	if raw == "" {
		return bad("proxy address %s names no host", v.Describe())
	}
	host, portStr := "", ""
	if a, err := netip.ParseAddr(raw); err == nil && a.Is6() {
		host = raw // an unbracketed IPv6 literal: no port
	} else {
		candidate := raw
		if !strings.Contains(candidate, "://") {
			candidate = "http://" + candidate
		}
		u, err := url.Parse(candidate)
		if err != nil || u.Hostname() == "" {
			return bad("proxy address %s is not a URL or host:port", v.Describe())
		}
		host, portStr = u.Hostname(), u.Port()
	}
	port := def
	if portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 {
			return bad("proxy address %s: port %q is not a number from 1 to 65535", v.Describe(), portStr)
		}
		port = n
	}
	ip := net.ParseIP(host)
	if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		msg := fmt.Sprintf("proxy address %s: polc's proxy listens only on the sandbox's own loopback (127.0.0.1:%d); host %q is ignored", v.Describe(), port, host)
		if nonLoopback != nil {
			msg += " and dangerously_allow_non_loopback_proxy has no effect"
		}
		s.diags.Addf(diag.NetProxyHostIgnored, v.Pos, fmt.Sprintf("write http://127.0.0.1:%d", port), "%s", msg)
	}
	return port, true
}

// unixSockets reads the "allow" entries of unix_sockets: absolute paths
// of host sockets, cleaned. "deny" and "none" are the default.
func (s *state) unixSockets(t *syntax.Tab, what, layer string) []ir.UnixSocket {
	var out []ir.UnixSocket
	for _, k := range t.Keys() {
		v := t.Get(k)
		if v.Kind != syntax.String || v.Str != "allow" {
			continue
		}
		if strings.IndexByte(k, 0) >= 0 || !path.IsAbs(k) {
			s.diags.Addf(diag.BadNetwork, v.KeyPos, "write the socket's absolute path", "%s.%s: a Unix socket must be an absolute path", what, syntax.QuoteKey(k))
			continue
		}
		out = append(out, ir.UnixSocket{Path: path.Clean(k), Origin: ir.Origin{Kind: ir.OriginConfig, Key: k, Pos: v.KeyPos, Profile: layer}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func (s *state) allowDenyTable(t *syntax.Tab, what string, allowed ...string) {
	for _, k := range t.Keys() {
		v := t.Get(k)
		if !s.expect(v, syntax.String, what+"."+syntax.QuoteKey(k)) {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || v.Str == a
		}
		if !ok {
			s.diags.Addf(diag.BadNetwork, v.Pos, fmt.Sprintf("use %s", strings.Join(allowed, " or ")), "unknown value %s for %s.%s", v.Describe(), what, syntax.QuoteKey(k))
		}
	}
}
