package ir

import (
	"fmt"
	"net/netip"
	"strings"

	"polc/diag"
)

// This file is the network half of the IR: what a proxy-only network
// lets leave the sandbox, and DecideNet, the single statement of what
// happens to one request (docs/design.md §3). The egress proxy
// (package netproxy) asks DecideNet for every request; a backend's
// evaluator must agree with it.
//
// The semantics are the reference's (Codex's network proxy):
//
//   - Domain rules map a host pattern to allow or deny. A host is
//     refused when any deny rule matches it ("denied"), otherwise
//     allowed only when an allow rule matches it ("not_allowed" when
//     none does). Deny always wins, whatever the rules' order or origin.
//   - Patterns: "example.com" is that host only; "*.example.com" every
//     sub-domain of it but not the apex; "**.example.com" the apex and
//     every sub-domain; "*" alone, in an allow rule only, every host.
//     Elsewhere "*" matches any run of characters, dots included, and
//     "?" one character ("region*.v2.example.net"). Matching ignores
//     case, a trailing dot, IPv6 brackets and a ":port" suffix.
//   - Local addresses: unless local addresses are allowed, a loopback,
//     private, link-local or otherwise non-public IP literal (and
//     "localhost") is refused ("not_allowed_local") unless an exact
//     allow rule names it, and a name is refused when any address it
//     resolves to is non-public, even when an allow rule names it. The
//     address check needs DNS, so DecideNet marks the decision
//     (CheckAddrs) and NetDecision.WithAddrs finishes it.
//   - Methods: limited mode allows GET, HEAD and OPTIONS only. CONNECT
//     tunnels, SOCKS5 and protocol upgrades are refused there
//     ("method_not_allowed"): a tunnel would carry any method.
//
// Deliberate differences, all stricter: polc does not resolve a name the
// domain rules refuse (the reference resolves first, leaking the name to
// DNS, and reports "not_allowed_local" instead of "not_allowed" when it
// resolves privately); IP literals are compared in canonical form, so
// "[0:0::1]" is the "::1" rule; and the proxy connects to the addresses
// it checked, with no second lookup (the reference documents DNS
// rebinding as a limitation).

// DomainAction is what a domain rule does.
type DomainAction string

const (
	DomainAllow DomainAction = "allow"
	DomainDeny  DomainAction = "deny"
)

// MethodMode is the reference's network mode: which requests a proxy
// network lets through.
type MethodMode string

const (
	// MethodsFull allows every method, CONNECT tunnels and SOCKS5.
	MethodsFull MethodMode = "full"
	// MethodsLimited allows GET, HEAD and OPTIONS only: read-only HTTP.
	MethodsLimited MethodMode = "limited"
)

// Pseudo-methods for DecideNet: a CONNECT tunnel, a SOCKS5 connection,
// and an HTTP request asking to switch protocols (Upgrade: websocket and
// the like), which turns the connection into a tunnel too.
const (
	MethodConnect = "CONNECT"
	MethodSOCKS5  = "SOCKS5"
	MethodUpgrade = "UPGRADE"
)

// Refusal reasons, the reference's words (the proxy's JSON "reason").
const (
	ReasonDenied           = "denied"
	ReasonNotAllowed       = "not_allowed"
	ReasonNotAllowedLocal  = "not_allowed_local"
	ReasonMethodNotAllowed = "method_not_allowed"
	// ReasonNoNetwork: the policy has no network at all.
	ReasonNoNetwork = "network_disabled"
	// ReasonInvalid: the host or port is not one a request can name.
	ReasonInvalid = "invalid_target"
)

// DomainRule allows or denies the hosts a pattern matches.
type DomainRule struct {
	// Pattern is normalized (NormalizeDomainPattern).
	Pattern string       `json:"pattern"`
	Action  DomainAction `json:"action"`
	// Managed rules come from requirements.
	Managed bool   `json:"managed,omitempty"`
	Origin  Origin `json:"origin"`
}

func (r DomainRule) String() string {
	s := fmt.Sprintf("%s %q", r.Action, r.Pattern)
	if r.Managed {
		s = "managed " + s
	}
	return s + " (" + r.Origin.String() + ")"
}

// Proxy is what a proxy-only network (Network.Mode == NetworkProxy) lets
// through. Host Unix sockets are Network.UnixSockets and
// Network.AllUnixSockets, which apply in every mode.
type Proxy struct {
	Domains []DomainRule `json:"domains,omitempty"`
	// Methods is full or limited ("" means full).
	Methods      MethodMode `json:"methods,omitempty"`
	MethodOrigin Origin     `json:"method_origin"`
	// AllowLocal is allow_local_binding: loopback, private and
	// link-local destinations are not refused for being local.
	AllowLocal  bool   `json:"allow_local,omitempty"`
	LocalOrigin Origin `json:"local_origin"`
	// SOCKS5 is enable_socks5: the proxy also serves SOCKS5 (socks5h).
	SOCKS5       bool   `json:"socks5,omitempty"`
	SOCKS5Origin Origin `json:"socks5_origin"`
	// HTTPPort and SOCKSPort are the loopback ports the sandboxed command
	// is told to use (HTTP_PROXY, ALL_PROXY and the like): the launcher
	// listens on 127.0.0.1 at these ports inside the sandbox's own
	// network namespace and carries each connection to polc's proxy,
	// which runs outside the sandbox. 0 means the defaults,
	// DefaultHTTPPort and DefaultSOCKSPort (the reference's).
	HTTPPort  int `json:"http_port,omitempty"`
	SOCKSPort int `json:"socks_port,omitempty"`
	// Dropped are the user's allow rules that requirements made
	// ineffective (NarrowProxy). DecideNet ignores them; they are kept so
	// that an explanation of a refusal can say which rule the user wrote
	// and why it does not apply.
	Dropped []DroppedRule `json:"dropped,omitempty"`
}

// The reference proxy's default listening ports.
const (
	DefaultHTTPPort  = 3128
	DefaultSOCKSPort = 8081
)

// Ports returns the HTTP and SOCKS5 listener ports, defaults applied.
func (p Proxy) Ports() (httpPort, socksPort int) {
	httpPort, socksPort = p.HTTPPort, p.SOCKSPort
	if httpPort == 0 {
		httpPort = DefaultHTTPPort
	}
	if socksPort == 0 {
		socksPort = DefaultSOCKSPort
	}
	return httpPort, socksPort
}

// Validate reports why a network policy cannot be used: an unknown mode,
// a Proxy outside proxy mode, a port outside 0-65535 (0 is the default),
// unknown methods or a domain rule ValidateDomainRule refuses. An
// artifact's network is checked with it before anything runs.
func (n Network) Validate() error {
	if n.Proxy != nil && n.Mode != NetworkProxy {
		return fmt.Errorf("network mode %q has proxy settings; only proxy mode does", n.Mode)
	}
	if p := n.Proxy; p != nil {
		for _, port := range []int{p.HTTPPort, p.SOCKSPort} {
			if port < 0 || port > 65535 {
				return fmt.Errorf("proxy port %d is out of range", port)
			}
		}
		if h, s := p.Ports(); p.SOCKS5 && h == s {
			return fmt.Errorf("the HTTP and SOCKS5 proxy ports are both %d", h)
		}
	}
	_, err := NewNetDecider(n)
	return err
}

// ProxyPorts lists the loopback ports a proxy network's command may
// connect to: its proxy's Listeners (defaults applied for a nil Proxy).
// Nil when the mode is not proxy.
func (n Network) ProxyPorts() []int {
	if n.Mode != NetworkProxy {
		return nil
	}
	var p Proxy
	if n.Proxy != nil {
		p = *n.Proxy
	}
	return p.Listeners()
}

// NetDecision is the answer for one request.
type NetDecision struct {
	// Host is normalized: lower case, no trailing dot, no brackets, IP
	// literals canonical.
	Host    string `json:"host"`
	Port    int    `json:"port"`
	Method  string `json:"method"`
	Allowed bool   `json:"allowed"`
	// Reason is one of the Reason* words when refused, "" when allowed.
	Reason string `json:"reason,omitempty"`
	// Rule is the domain rule that decided: the deny that matched, or
	// the allow that let the host through (also when the method then
	// refused it). Nil when no rule matched, or a setting decided.
	Rule *DomainRule `json:"rule,omitempty"`
	// Setting is the origin of the setting that decided when no domain
	// rule did: the network mode, limited methods, or local addresses
	// not being allowed. Like Rule, it points into the decider.
	Setting *Origin `json:"setting,omitempty"`
	// CheckAddrs is set on an allowed name (not an IP literal) when
	// local addresses are not allowed: the caller must resolve it and
	// call WithAddrs before connecting, and connect only to those
	// addresses.
	CheckAddrs bool `json:"check_addrs,omitempty"`
	// Detail says, in a few words, why.
	Detail string `json:"detail"`
}

// Explain is a one-line explanation: the verdict, the reason and the
// rule or setting responsible.
func (d NetDecision) Explain() string {
	verdict := "allowed"
	if !d.Allowed {
		verdict = "refused (" + d.Reason + ")"
	}
	s := fmt.Sprintf("%s %s: %s: %s", d.Method, JoinHostPort(d.Host, d.Port), verdict, d.Detail)
	switch {
	case d.Rule != nil:
		s += "; rule " + d.Rule.String()
	case d.Setting != nil && d.Setting.Kind != "":
		s += "; " + d.Setting.String()
	}
	if d.CheckAddrs {
		s += "; and only if the name resolves to public addresses (local addresses are not allowed)"
	}
	return s
}

// JoinHostPort is net.JoinHostPort for an int port.
func JoinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// WithAddrs finishes a decision marked CheckAddrs with the addresses the
// name resolved to: it is refused ("not_allowed_local") when any of them
// is not public, or when there are none (nothing proves the name is
// public). Other decisions are returned unchanged.
func (d NetDecision) WithAddrs(addrs []netip.Addr) NetDecision {
	if !d.Allowed || !d.CheckAddrs {
		return d
	}
	if len(addrs) == 0 {
		d.Allowed, d.Reason = false, ReasonNotAllowedLocal
		d.Detail = "the name did not resolve, so it cannot be shown to be public"
		return d
	}
	for _, a := range addrs {
		if !IsPublicAddr(a) {
			d.Allowed, d.Reason = false, ReasonNotAllowedLocal
			d.Detail = fmt.Sprintf("the name resolves to %s, a local address, and local addresses are not allowed", a.Unmap())
			return d
		}
	}
	return d
}

// NetDecider answers DecideNet for one network policy; build it once with
// NewNetDecider (it indexes the domain rules) and ask it many times.
type NetDecider struct {
	net   Network
	proxy Proxy
	rules []DomainRule
	// exact: rules without wildcards, by pattern.
	exact map[string][]int
	// sub: "*.d" rules by d (strict sub-domains of d).
	sub map[string][]int
	// apex: "**.d" rules by d (d and its sub-domains).
	apex map[string][]int
	// anyHost: "*" allow rules.
	anyHost []int
	// globs: every other pattern, matched one by one.
	globs []int
}

// NewNetDecider validates and indexes a network policy. An unrestricted
// policy has a full network whatever n says: pass Network{Mode:
// NetworkFull} for it (DecideNet on a Policy does).
func NewNetDecider(n Network) (*NetDecider, error) {
	d := &NetDecider{net: n, exact: map[string][]int{}, sub: map[string][]int{}, apex: map[string][]int{}}
	switch n.Mode {
	case NetworkNone, NetworkFull, "":
		return d, nil
	case NetworkProxy:
	default:
		return nil, fmt.Errorf("network mode %q is unknown", n.Mode)
	}
	if n.Proxy != nil {
		d.proxy = *n.Proxy
	}
	switch d.proxy.Methods {
	case "", MethodsFull, MethodsLimited:
	default:
		return nil, fmt.Errorf("network methods %q: want full or limited", d.proxy.Methods)
	}
	for i, r := range d.proxy.Domains {
		if err := ValidateDomainRule(r); err != nil {
			return nil, err
		}
		p := r.Pattern
		d.rules = append(d.rules, r)
		switch {
		case p == "*" || p == "**":
			d.anyHost = append(d.anyHost, i)
		case strings.HasPrefix(p, "**.") && !HasDomainGlob(p[3:]):
			d.apex[p[3:]] = append(d.apex[p[3:]], i)
		case strings.HasPrefix(p, "*.") && !HasDomainGlob(p[2:]):
			d.sub[p[2:]] = append(d.sub[p[2:]], i)
		case !HasDomainGlob(p):
			d.exact[p] = append(d.exact[p], i)
		default:
			d.globs = append(d.globs, i)
		}
	}
	return d, nil
}

// DecideNet is DecideNet of the policy's network (full for an
// unrestricted policy). Build a NetDecider to ask many times.
func DecideNet(p *Policy, host string, port int, method string) (NetDecision, error) {
	n := p.Network
	if p.Unrestricted {
		n = Network{Mode: NetworkFull}
	}
	d, err := NewNetDecider(n)
	if err != nil {
		return NetDecision{}, err
	}
	return d.DecideNet(host, port, method), nil
}

// Policy returns the proxy settings the decider was built from (the zero
// Proxy when the mode is not proxy).
func (d *NetDecider) Policy() Proxy { return d.proxy }

// Mode is the network mode.
func (d *NetDecider) Mode() NetworkMode { return d.net.Mode }

// DecideNet is the reference decision for one request: method (an HTTP
// method, MethodConnect, MethodSOCKS5 or MethodUpgrade) to host:port. See the top of
// this file for the rules. The port never changes the decision (domain
// rules name hosts, as in the reference) but must be 1–65535.
func (d *NetDecider) DecideNet(host string, port int, method string) NetDecision {
	dec := NetDecision{Host: NormalizeHost(host), Port: port, Method: method}
	switch d.net.Mode {
	case NetworkFull:
		dec.Allowed, dec.Setting, dec.Detail = true, &d.net.Origin, "the network is fully open"
		return dec
	case NetworkProxy:
	default:
		dec.Reason, dec.Setting, dec.Detail = ReasonNoNetwork, &d.net.Origin, "the policy has no network"
		return dec
	}
	if port < 1 || port > 65535 {
		dec.Reason, dec.Detail = ReasonInvalid, fmt.Sprintf("port %d is out of range", port)
		return dec
	}
	if !validHost(dec.Host) {
		dec.Reason, dec.Detail = ReasonNotAllowed, fmt.Sprintf("%q is not a host name or IP address", host)
		return dec
	}

	// 1. Any deny rule refuses.
	if i := d.match(dec.Host, DomainDeny); i >= 0 {
		dec.Reason, dec.Rule, dec.Detail = ReasonDenied, &d.rules[i], "a deny rule matches the host"
		return dec
	}
	// 2. Local destinations, unless allowed.
	allow := d.match(dec.Host, DomainAllow)
	if !d.proxy.AllowLocal {
		if isLocalLiteral(dec.Host) {
			if e := d.exactAllow(dec.Host); e >= 0 {
				dec.Allowed, dec.Rule, dec.Detail = true, &d.rules[e], "an exact allow rule names this local address"
				return d.method(dec)
			}
			dec.Reason, dec.Setting = ReasonNotAllowedLocal, &d.proxy.LocalOrigin
			dec.Detail = "local addresses are not allowed and no exact allow rule names this one"
			return dec
		}
		if _, ok := parseIP(dec.Host); !ok {
			dec.CheckAddrs = true
		}
	}
	// 3. An allow rule must match.
	if allow < 0 {
		dec.Reason, dec.CheckAddrs, dec.Detail = ReasonNotAllowed, false, "no allow rule matches the host"
		return dec
	}
	dec.Allowed, dec.Rule, dec.Detail = true, &d.rules[allow], "an allow rule matches the host"
	return d.method(dec)
}

// method applies limited mode to an allowed host.
func (d *NetDecider) method(dec NetDecision) NetDecision {
	if d.proxy.Methods != MethodsLimited {
		return dec
	}
	switch dec.Method {
	case "GET", "HEAD", "OPTIONS":
		return dec
	}
	dec.Allowed, dec.CheckAddrs, dec.Reason, dec.Setting = false, false, ReasonMethodNotAllowed, &d.proxy.MethodOrigin
	switch dec.Method {
	case MethodConnect, MethodSOCKS5, MethodUpgrade:
		dec.Detail = "limited mode refuses tunnels: a tunnel could carry any method"
	default:
		dec.Detail = fmt.Sprintf("limited mode allows GET, HEAD and OPTIONS only, not %s", dec.Method)
	}
	return dec
}

// match returns the index of the first rule (in policy order) with the
// given action that matches the normalized host, or -1.
func (d *NetDecider) match(host string, action DomainAction) int {
	best := -1
	take := func(idx []int) {
		for _, i := range idx {
			if d.rules[i].Action == action && (best < 0 || i < best) {
				best = i
				return // idx is in policy order
			}
		}
	}
	take(d.exact[host])
	take(d.apex[host])
	for rest := host; ; {
		j := strings.IndexByte(rest, '.')
		if j < 0 {
			break
		}
		// rest[:j] is a non-empty label (validHost), rest[j+1:] a parent.
		rest = rest[j+1:]
		take(d.sub[rest])
		take(d.apex[rest])
	}
	if action == DomainAllow {
		take(d.anyHost)
	}
	for _, i := range d.globs {
		if best >= 0 && i > best {
			break
		}
		if d.rules[i].Action == action && matchDomainPattern(d.rules[i].Pattern, host) {
			best = i
			break
		}
	}
	return best
}

// exactAllow is the first allow rule without wildcards naming host, or -1.
func (d *NetDecider) exactAllow(host string) int {
	for _, i := range d.exact[host] {
		if d.rules[i].Action == DomainAllow {
			return i
		}
	}
	return -1
}

// MatchDomain reports whether a domain pattern (as written or
// normalized) matches a host (as a request names it), with DecideNet's
// semantics and no other rule involved.
func MatchDomain(pattern, host string) bool {
	h := NormalizeHost(host)
	return validHost(h) && matchDomainPattern(NormalizeDomainPattern(pattern), h)
}

// DroppedFor lists the dropped user rules that would have matched host:
// why a refused host was not allowed although the user allowed it.
func (p Proxy) DroppedFor(host string) []DroppedRule {
	var out []DroppedRule
	for _, d := range p.Dropped {
		if MatchDomain(d.Rule.Pattern, host) {
			out = append(out, d)
		}
	}
	return out
}

// matchDomainPattern matches a normalized pattern against a normalized
// host: the reference's globs, "*" matching any run of characters (dots
// included) and "?" one character; "*.d" a strict sub-domain of d and
// "**.d" d or a sub-domain.
func matchDomainPattern(pattern, host string) bool {
	switch {
	case pattern == "*" || pattern == "**":
		return true
	case strings.HasPrefix(pattern, "**."):
		return globMatch(pattern[3:], host) || globMatch("?*."+pattern[3:], host)
	case strings.HasPrefix(pattern, "*."):
		return globMatch("?*."+pattern[2:], host)
	}
	return globMatch(pattern, host)
}

// globMatch matches * (any run, possibly empty) and ? (one byte).
func globMatch(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// HasDomainGlob reports whether a pattern part has a wildcard.
func HasDomainGlob(s string) bool { return strings.ContainsAny(s, "*?") }

// NormalizeHost puts a host as a request names it in the form rules are
// matched against: trimmed, lower case, without IPv6 brackets, a
// ":port" suffix (when there is exactly one colon) or trailing dots,
// and IP literals in canonical form (zone kept).
func NormalizeHost(h string) string {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "[") {
		// "[v6]" or "[v6]:port"; anything else is left for validation
		// to refuse.
		if end := strings.IndexByte(h, ']'); end > 0 && (end == len(h)-1 || h[end+1] == ':') {
			return normalizeHostOrIP(h[1:end])
		}
		return strings.ToLower(h)
	}
	if strings.Count(h, ":") == 1 {
		h = h[:strings.IndexByte(h, ':')]
	}
	return normalizeHostOrIP(h)
}

func normalizeHostOrIP(h string) string {
	h = strings.TrimRight(strings.ToLower(h), ".")
	h = strings.Replace(h, "%25", "%", 1)
	if a, ok := parseIP(h); ok {
		return a.String()
	}
	return h
}

// parseIP parses an IP literal, skipping the parse (and its error
// allocation) for what cannot be one: a string with no colon and a
// character other than a digit or a dot.
func parseIP(h string) (netip.Addr, bool) {
	if strings.IndexByte(h, ':') < 0 {
		for i := 0; i < len(h); i++ {
			if c := h[i]; c != '.' && (c < '0' || c > '9') {
				return netip.Addr{}, false
			}
		}
	}
	a, err := netip.ParseAddr(h)
	return a, err == nil
}

// NormalizeDomainPattern normalizes a pattern as written in a config:
// the host part as NormalizeHost, the "*." or "**." prefix kept.
func NormalizeDomainPattern(p string) string {
	p = strings.TrimSpace(p)
	if p == "*" {
		return p
	}
	for _, prefix := range []string{"**.", "*."} {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			return prefix + NormalizeHost(rest)
		}
	}
	return NormalizeHost(p)
}

// validHost reports whether a normalized host is a name made of DNS
// label characters with no empty label, or an IP literal.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if _, ok := parseIP(h); ok {
		return true
	}
	label := 0
	for i := 0; i <= len(h); i++ {
		if i == len(h) || h[i] == '.' {
			if label == 0 || label > 63 {
				return false
			}
			label = 0
			continue
		}
		c := h[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
		label++
	}
	return true
}

// ValidateDomainRule reports why a rule cannot be used: an empty or
// malformed pattern, a pattern syntax polc does not support (character
// classes, alternation, "**" other than as a "**." prefix), a global
// wildcard in a deny rule (the reference refuses it too), or an action
// other than allow or deny. Each error is a *diag.Diagnostic with no
// position, for the front end to locate.
func ValidateDomainRule(r DomainRule) error {
	bad := func(code diag.Code, format string, args ...any) error {
		return diag.Errorf(code, format, args...)
	}
	switch r.Action {
	case DomainAllow, DomainDeny:
	default:
		return bad(diag.NetBadAction, "domain %q: action %q: want allow or deny", r.Pattern, r.Action)
	}
	p := r.Pattern
	if p != NormalizeDomainPattern(p) {
		return bad(diag.NetBadPattern, "domain pattern %q is not normalized", p)
	}
	if p == "*" || p == "**" {
		if r.Action == DomainDeny {
			return bad(diag.NetGlobalDeny, "a global wildcard %q cannot be denied; deny exact hosts or scoped wildcards such as *.example.com", p)
		}
		return nil
	}
	body := strings.TrimPrefix(strings.TrimPrefix(p, "**."), "*.")
	if body == "" {
		return bad(diag.NetBadPattern, "domain pattern %q names no domain", p)
	}
	if strings.ContainsAny(body, "[]{}!") {
		return bad(diag.NetBadPattern, "domain pattern %q: character classes and alternatives are not supported; list the hosts, or use * and ?", p)
	}
	if strings.Contains(body, "**") {
		return bad(diag.NetBadPattern, "domain pattern %q: ** is only supported as a \"**.\" prefix", p)
	}
	if _, ok := parseIP(body); ok {
		return nil
	}
	check := strings.NewReplacer("*", "a", "?", "a").Replace(body)
	if !validHost(check) {
		return bad(diag.NetBadPattern, "domain pattern %q is not a host name, IP address or wildcard of one", p)
	}
	return nil
}

// isLocalLiteral reports whether a normalized host names this machine or
// a non-public network without DNS: localhost or a non-public IP literal.
func isLocalLiteral(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, ok := parseIP(h)
	return ok && !IsPublicAddr(a)
}

var nonPublic4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // this network
	netip.MustParsePrefix("10.0.0.0/8"),      // private
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local
	netip.MustParsePrefix("172.16.0.0/12"),   // private
	netip.MustParsePrefix("192.0.0.0/24"),    // protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("192.168.0.0/16"),  // private
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// IsPublicAddr reports whether an address is globally routable: not
// loopback, private, link-local, unspecified, multicast or one of the
// reserved IPv4 blocks the reference lists; an IPv4-mapped, -compatible
// or NAT64 IPv6 address is judged by its IPv4 address.
func IsPublicAddr(a netip.Addr) bool {
	a = a.WithZone("")
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is6() {
		b := a.As16()
		compat := true
		for _, x := range b[:12] {
			compat = compat && x == 0
		}
		if compat && !a.IsLoopback() && !a.IsUnspecified() || nat64.Contains(a) {
			a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		}
	}
	if a.Is4() {
		for _, p := range nonPublic4 {
			if p.Contains(a) {
				return false
			}
		}
		return true
	}
	return !(a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() || a.IsLinkLocalUnicast() ||
		a.IsPrivate() || !a.IsValid())
}
