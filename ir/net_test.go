package ir

import (
	"fmt"
	"math/rand"
	"net/netip"
	"polc/diag"
	"strings"
	"testing"
)

func rule(action DomainAction, pattern string) DomainRule {
	return DomainRule{Pattern: NormalizeDomainPattern(pattern), Action: action, Origin: Origin{Kind: OriginConfig, Key: pattern}}
}

func allowR(p string) DomainRule { return rule(DomainAllow, p) }
func denyR(p string) DomainRule  { return rule(DomainDeny, p) }

func proxyDecider(t testing.TB, px Proxy) *NetDecider {
	t.Helper()
	d, err := NewNetDecider(Network{Mode: NetworkProxy, Proxy: &px})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type netCase struct {
	host    string
	method  string
	allowed bool
	reason  string
	rule    string // the deciding rule's pattern, "" for none
}

func checkNet(t *testing.T, d *NetDecider, cases []netCase) {
	t.Helper()
	for _, c := range cases {
		m := c.method
		if m == "" {
			m = "GET"
		}
		got := d.DecideNet(c.host, 80, m)
		rulePat := ""
		if got.Rule != nil {
			rulePat = got.Rule.Pattern
		}
		if got.Allowed != c.allowed || got.Reason != c.reason || rulePat != c.rule {
			t.Errorf("%s %s: got allowed=%v reason=%q rule=%q (%s), want allowed=%v reason=%q rule=%q",
				m, c.host, got.Allowed, got.Reason, rulePat, got.Explain(), c.allowed, c.reason, c.rule)
		}
	}
}

// The shared cases 021 and 022: deny beats a wildcard allow, a wildcard
// does not cover its apex, a suffix is not a sub-domain.
func TestDecideNetWildcards(t *testing.T) {
	d := proxyDecider(t, Proxy{AllowLocal: true, Domains: []DomainRule{
		allowR("*.example.com"), denyR("bad.example.com"),
	}})
	checkNet(t, d, []netCase{
		{host: "good.example.com", allowed: true, rule: "*.example.com"},
		{host: "bad.example.com", reason: ReasonDenied, rule: "bad.example.com"},
		{host: "example.com", reason: ReasonNotAllowed},
		{host: "deep.sub.example.com", allowed: true, rule: "*.example.com"},
		{host: "example.com.evil.org", reason: ReasonNotAllowed},
		{host: "xexample.com", reason: ReasonNotAllowed},
		{host: "GOOD.Example.COM.", allowed: true, rule: "*.example.com"},
		{host: "good.example.com:8080", allowed: true, rule: "*.example.com"},
	})

	d = proxyDecider(t, Proxy{AllowLocal: true, Domains: []DomainRule{
		allowR("example.com"), denyR("evil.example.com"), allowR("*.pkg.test"),
	}})
	checkNet(t, d, []netCase{
		{host: "example.com", allowed: true, rule: "example.com"},
		{host: "evil.example.com", reason: ReasonDenied, rule: "evil.example.com"},
		{host: "npm.pkg.test", allowed: true, rule: "*.pkg.test"},
		{host: "other.org", reason: ReasonNotAllowed},
		{host: "a.example.com", reason: ReasonNotAllowed},
	})

	// **. covers the apex and sub-domains; * alone allows every host;
	// mid-label wildcards stay within the pattern's shape.
	d = proxyDecider(t, Proxy{AllowLocal: true, Domains: []DomainRule{
		allowR("**.Example.ORG."), allowR("region*.v2.tunnel.net"), allowR("a?c.test"),
	}})
	checkNet(t, d, []netCase{
		{host: "example.org", allowed: true, rule: "**.example.org"},
		{host: "x.y.example.org", allowed: true, rule: "**.example.org"},
		{host: "region1.v2.tunnel.net", allowed: true, rule: "region*.v2.tunnel.net"},
		{host: "region.v2.tunnel.net", allowed: true, rule: "region*.v2.tunnel.net"},
		{host: "xregion1.v2.tunnel.net", reason: ReasonNotAllowed},
		{host: "foo.region1.v2.tunnel.net", reason: ReasonNotAllowed},
		{host: "abc.test", allowed: true, rule: "a?c.test"},
		{host: "ac.test", reason: ReasonNotAllowed},
	})
	d = proxyDecider(t, Proxy{AllowLocal: true, Domains: []DomainRule{allowR("*"), denyR("**.bad.test")}})
	checkNet(t, d, []netCase{
		{host: "anything.example", allowed: true, rule: "*"},
		{host: "bad.test", reason: ReasonDenied, rule: "**.bad.test"},
		{host: "x.bad.test", reason: ReasonDenied, rule: "**.bad.test"},
		{host: "127.0.0.1", allowed: true, rule: "*"},
	})
}

func TestDecideNetPrecedence(t *testing.T) {
	// Deny wins whatever the order, the origin, or how specific the allow is.
	for _, rules := range [][]DomainRule{
		{allowR("api.example.com"), denyR("**.example.com")},
		{denyR("**.example.com"), allowR("api.example.com")},
		{allowR("*"), allowR("api.example.com"), denyR("*.example.com")},
	} {
		d := proxyDecider(t, Proxy{AllowLocal: true, Domains: rules})
		got := d.DecideNet("api.example.com", 443, "GET")
		if got.Allowed || got.Reason != ReasonDenied || got.Rule == nil || got.Rule.Action != DomainDeny {
			t.Errorf("%v: got %s", rules, got.Explain())
		}
	}
	// Of several matching rules the first in policy order is named.
	d := proxyDecider(t, Proxy{AllowLocal: true, Domains: []DomainRule{allowR("**.example.com"), allowR("api.example.com"), allowR("*")}})
	if got := d.DecideNet("api.example.com", 443, "GET"); got.Rule == nil || got.Rule.Pattern != "**.example.com" {
		t.Errorf("got %s, want the first matching rule **.example.com", got.Explain())
	}
	// No rules: nothing is allowed.
	d = proxyDecider(t, Proxy{AllowLocal: true})
	if got := d.DecideNet("example.com", 443, "GET"); got.Allowed || got.Reason != ReasonNotAllowed {
		t.Errorf("no rules: got %s", got.Explain())
	}
}

func TestDecideNetMethods(t *testing.T) {
	limited := proxyDecider(t, Proxy{AllowLocal: true, Methods: MethodsLimited,
		MethodOrigin: Origin{Kind: OriginConfig, Key: "mode"},
		Domains:      []DomainRule{allowR("example.com"), denyR("bad.test")}})
	checkNet(t, limited, []netCase{
		{host: "example.com", method: "GET", allowed: true, rule: "example.com"},
		{host: "example.com", method: "HEAD", allowed: true, rule: "example.com"},
		{host: "example.com", method: "OPTIONS", allowed: true, rule: "example.com"},
		{host: "example.com", method: "POST", reason: ReasonMethodNotAllowed, rule: "example.com"},
		{host: "example.com", method: "get", reason: ReasonMethodNotAllowed, rule: "example.com"},
		{host: "example.com", method: MethodConnect, reason: ReasonMethodNotAllowed, rule: "example.com"},
		{host: "example.com", method: MethodSOCKS5, reason: ReasonMethodNotAllowed, rule: "example.com"},
		{host: "example.com", method: MethodUpgrade, reason: ReasonMethodNotAllowed, rule: "example.com"},
		// The host is judged first, as in the reference.
		{host: "bad.test", method: "POST", reason: ReasonDenied, rule: "bad.test"},
		{host: "other.test", method: "POST", reason: ReasonNotAllowed},
	})
	if got := limited.DecideNet("example.com", 80, "PUT"); got.Setting == nil || got.Setting.Key != "mode" {
		t.Errorf("a method refusal names the mode setting: %+v", got)
	}
	full := proxyDecider(t, Proxy{AllowLocal: true, Domains: []DomainRule{allowR("example.com")}})
	for _, m := range []string{"POST", "DELETE", MethodConnect, MethodSOCKS5, MethodUpgrade} {
		if got := full.DecideNet("example.com", 443, m); !got.Allowed {
			t.Errorf("full mode %s: %s", m, got.Explain())
		}
	}
}

func TestDecideNetPorts(t *testing.T) {
	d := proxyDecider(t, Proxy{AllowLocal: true, Domains: []DomainRule{allowR("example.com:8080"), denyR("bad.test")}})
	if d.rules[0].Pattern != "example.com" {
		t.Fatalf("a pattern's port is not part of it: %q", d.rules[0].Pattern)
	}
	for _, port := range []int{1, 80, 443, 8080, 65535} {
		if got := d.DecideNet("example.com", port, "GET"); !got.Allowed || got.Port != port {
			t.Errorf("port %d: %s", port, got.Explain())
		}
		if got := d.DecideNet("bad.test", port, "GET"); got.Allowed {
			t.Errorf("port %d: %s", port, got.Explain())
		}
	}
	for _, port := range []int{0, -1, 65536} {
		if got := d.DecideNet("example.com", port, "GET"); got.Allowed || got.Reason != ReasonInvalid {
			t.Errorf("port %d: %s", port, got.Explain())
		}
	}
}

func TestDecideNetLocal(t *testing.T) {
	lo := Origin{Kind: OriginRequirement, Key: "allow_local_binding"}
	strict := proxyDecider(t, Proxy{LocalOrigin: lo, Domains: []DomainRule{
		allowR("*"), allowR("10.1.2.3"), allowR("[::1]"), allowR("public.test"),
	}})
	checkNet(t, strict, []netCase{
		{host: "127.0.0.1", reason: ReasonNotAllowedLocal},
		{host: "localhost", reason: ReasonNotAllowedLocal},
		{host: "169.254.169.254", reason: ReasonNotAllowedLocal},
		{host: "192.168.1.1", reason: ReasonNotAllowedLocal},
		{host: "::ffff:127.0.0.1", reason: ReasonNotAllowedLocal},
		{host: "[fe80::1]", reason: ReasonNotAllowedLocal},
		// An exact allow rule names a local literal: allowed.
		{host: "10.1.2.3", allowed: true, rule: "10.1.2.3"},
		{host: "[0:0::1]", allowed: true, rule: "::1"},
		{host: "8.8.8.8", allowed: true, rule: "*"},
	})
	if got := strict.DecideNet("127.0.0.1", 80, "GET"); got.Setting == nil || *got.Setting != lo {
		t.Errorf("a local refusal names the setting: %+v", got)
	}
	// A name must be resolved and its addresses checked.
	name := strict.DecideNet("public.test", 443, "GET")
	if !name.Allowed || !name.CheckAddrs {
		t.Fatalf("a name with local addresses refused needs an address check: %+v", name)
	}
	pub, priv := netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("10.0.0.7")
	if got := name.WithAddrs([]netip.Addr{pub}); !got.Allowed {
		t.Errorf("public address: %s", got.Explain())
	}
	for _, addrs := range [][]netip.Addr{{priv}, {pub, priv}, nil, {netip.MustParseAddr("::1")}} {
		if got := name.WithAddrs(addrs); got.Allowed || got.Reason != ReasonNotAllowedLocal || got.Rule == nil {
			t.Errorf("addresses %v: %s", addrs, got.Explain())
		}
	}
	// Refused decisions and IP literals need no lookup.
	narrow := proxyDecider(t, Proxy{Domains: []DomainRule{allowR("public.test")}})
	if d := narrow.DecideNet("other.test", 80, "GET"); d.CheckAddrs || d.Allowed {
		t.Errorf("other.test: %+v", d)
	}
	if d := strict.DecideNet("8.8.8.8", 80, "GET"); d.CheckAddrs {
		t.Errorf("an IP literal needs no lookup: %+v", d)
	}

	// Shared case 020: local addresses allowed, yet a loopback address
	// still needs an allow rule; a name needs no address check.
	open := proxyDecider(t, Proxy{AllowLocal: true, Domains: []DomainRule{allowR("example.com")}})
	checkNet(t, open, []netCase{
		{host: "example.com", allowed: true, rule: "example.com"},
		{host: "other.org", reason: ReasonNotAllowed},
		{host: "127.0.0.1", reason: ReasonNotAllowed},
	})
	if d := open.DecideNet("example.com", 80, "GET"); d.CheckAddrs || !d.WithAddrs([]netip.Addr{priv}).Allowed {
		t.Errorf("local addresses allowed: %+v", d)
	}
}

func TestDecideNetModes(t *testing.T) {
	none, _ := NewNetDecider(Network{Mode: NetworkNone})
	if d := none.DecideNet("example.com", 443, "GET"); d.Allowed || d.Reason != ReasonNoNetwork {
		t.Errorf("none: %+v", d)
	}
	full, _ := NewNetDecider(Network{Mode: NetworkFull})
	if d := full.DecideNet("127.0.0.1", 443, "POST"); !d.Allowed {
		t.Errorf("full: %+v", d)
	}
	d, err := DecideNet(&Policy{Unrestricted: true}, "example.com", 80, "GET")
	if err != nil || !d.Allowed {
		t.Errorf("unrestricted: %+v %v", d, err)
	}
	// A proxy network without its Proxy allows nothing.
	d, err = DecideNet(&Policy{Network: Network{Mode: NetworkProxy}}, "example.com", 80, "GET")
	if err != nil || d.Allowed || d.Reason != ReasonNotAllowed {
		t.Errorf("proxy without rules: %+v %v", d, err)
	}
	if _, err := NewNetDecider(Network{Mode: "bogus"}); err == nil {
		t.Error("an unknown mode is refused")
	}
}

func TestDecideNetBadHosts(t *testing.T) {
	d := proxyDecider(t, Proxy{AllowLocal: true, Domains: []DomainRule{allowR("*")}})
	for _, h := range []string{"", ".", "a..b", "a b", "a/b", "a*b", "user@host", strings.Repeat("a", 64) + ".com", ".example.com"} {
		if got := d.DecideNet(h, 80, "GET"); got.Allowed {
			t.Errorf("host %q: %s", h, got.Explain())
		}
	}
}

func TestValidateDomainRule(t *testing.T) {
	for _, r := range []DomainRule{
		denyR("*"), denyR("**"), allowR("[ab].example.com"), allowR("{a,b}.example.com"),
		allowR("a**b.example.com"), allowR("*."), allowR("**."), allowR("a b.com"),
		{Pattern: "example.com", Action: "maybe"}, {Pattern: "Example.com", Action: DomainAllow},
		allowR(""),
	} {
		if err := ValidateDomainRule(r); err == nil {
			t.Errorf("%+v: accepted", r)
		} else if diag.CodeOf(err) == "" {
			t.Errorf("%+v: %T carries no diagnostic code", r, err)
		}
	}
	for _, r := range []DomainRule{
		allowR("*"), allowR("**.example.com"), allowR("*.example.com"), allowR("example.com"),
		allowR("region*.v2.x.net"), allowR("a?c.test"), allowR("[::1]"), allowR("10.0.0.1"), denyR("*.local"),
		allowR("_dmarc.example.com"),
	} {
		if err := ValidateDomainRule(r); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	if _, err := NewNetDecider(Network{Mode: NetworkProxy, Proxy: &Proxy{Domains: []DomainRule{denyR("*")}}}); err == nil {
		t.Error("NewNetDecider accepts a global deny")
	}
}

func TestIsPublicAddr(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "93.184.215.14": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.1.1.1": false, "172.16.0.1": false, "172.32.0.1": true, "192.168.0.1": false,
		"169.254.169.254": false, "0.0.0.0": false, "100.64.0.1": false, "224.0.0.1": false,
		"255.255.255.255": false, "198.18.0.1": false, "203.0.113.9": false,
		"::1": false, "::": false, "fe80::1": false, "fc00::1": false, "fd12::1": false, "ff02::1": false,
		"::ffff:10.0.0.1": false, "::ffff:8.8.8.8": true, "::10.0.0.1": false, "64:ff9b::10.0.0.1": false,
		"64:ff9b::8.8.8.8": true, "fe80::1%eth0": false,
	} {
		if got := IsPublicAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("%s: got %v want %v", s, got, want)
		}
	}
}

// linearMatch is the definition: the first rule (in order) with the
// action whose pattern matches. The decider's index must agree with it.
func linearMatch(rules []DomainRule, host string, action DomainAction) int {
	for i, r := range rules {
		if r.Action == action && matchDomainPattern(r.Pattern, host) {
			return i
		}
	}
	return -1
}

func randomPattern(r *rand.Rand, labels []string) string {
	n := 1 + r.Intn(3)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = labels[r.Intn(len(labels))]
		if r.Intn(8) == 0 {
			parts[i] = parts[i][:1] + "*"
		}
		if r.Intn(12) == 0 {
			parts[i] = "?" + parts[i][1:]
		}
	}
	p := strings.Join(parts, ".")
	switch r.Intn(4) {
	case 0:
		p = "*." + p
	case 1:
		p = "**." + p
	}
	return p
}

func randomHost(r *rand.Rand, labels []string) string {
	n := 1 + r.Intn(4)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = labels[r.Intn(len(labels))]
	}
	return strings.Join(parts, ".")
}

func TestDecideNetIndexAgreesWithLinearMatch(t *testing.T) {
	labels := []string{"a", "b", "ab", "ba", "com"}
	r := rand.New(rand.NewSource(1))
	for iter := 0; iter < 2000; iter++ {
		var rules []DomainRule
		for i := r.Intn(8); i > 0; i-- {
			a := DomainAllow
			if r.Intn(3) == 0 {
				a = DomainDeny
			}
			rules = append(rules, rule(a, randomPattern(r, labels)))
		}
		if r.Intn(10) == 0 {
			rules = append(rules, allowR("*"))
		}
		d := proxyDecider(t, Proxy{AllowLocal: true, Domains: rules})
		for j := 0; j < 20; j++ {
			h := randomHost(r, labels)
			deny, allow := linearMatch(rules, h, DomainDeny), linearMatch(rules, h, DomainAllow)
			got := d.DecideNet(h, 443, "GET")
			switch {
			case deny >= 0:
				if got.Allowed || got.Rule != &d.rules[deny] {
					t.Fatalf("rules %v host %s: got %s, want denied by rule %d", rules, h, got.Explain(), deny)
				}
			case allow >= 0:
				if !got.Allowed || got.Rule != &d.rules[allow] {
					t.Fatalf("rules %v host %s: got %s, want allowed by rule %d", rules, h, got.Explain(), allow)
				}
			default:
				if got.Allowed || got.Rule != nil || got.Reason != ReasonNotAllowed {
					t.Fatalf("rules %v host %s: got %s, want not allowed", rules, h, got.Explain())
				}
			}
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"?*.example.com", "a.example.com", true},
		{"?*.example.com", "a.b.example.com", true},
		{"?*.example.com", ".example.com", false},
		{"?*.example.com", "example.com", false},
		{"*", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
	} {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func BenchmarkDecideNet1000Rules(b *testing.B) {
	r := rand.New(rand.NewSource(2))
	var rules []DomainRule
	for i := 0; i < 1000; i++ {
		p := fmt.Sprintf("svc%d.team%d.example%d.com", i, i%37, i%11)
		switch i % 4 {
		case 1:
			p = "*." + p
		case 2:
			p = "**." + p
		case 3:
			if i%40 == 3 {
				p = fmt.Sprintf("region%d*.v2.tunnel.net", i) // a few generic globs
			}
		}
		a := DomainAllow
		if i%5 == 0 {
			a = DomainDeny
		}
		rules = append(rules, rule(a, p))
	}
	d := proxyDecider(b, Proxy{Domains: rules})
	hosts := make([]string, 256)
	for i := range hosts {
		n := r.Intn(1000)
		hosts[i] = fmt.Sprintf("a.b.svc%d.team%d.example%d.com", n, n%37, n%11)
		if i%3 == 0 {
			hosts[i] = fmt.Sprintf("unknown%d.example.org", i)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = d.DecideNet(hosts[i%len(hosts)], 443, "GET")
	}
}

// FuzzDecideNet: for any host and pattern, DecideNet does not panic, a
// valid rule's index agrees with the definition (linearMatch), and a
// normalized host is a fixed point of NormalizeHost.
func FuzzDecideNet(f *testing.F) {
	for _, s := range [][2]string{
		{"*.example.com", "a.example.com"}, {"**.example.com", "example.com"}, {"a*b?.c", "axxbz.c"},
		{"[::1]", "[0:0::1]:80"}, {"10.0.0.1", "10.0.0.1"}, {"*", "localhost"}, {"x.y.", "X.Y"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, host string) {
		if n := NormalizeHost(host); NormalizeHost(n) != n && validHost(n) {
			t.Fatalf("NormalizeHost(%q) = %q is not a fixed point", host, n)
		}
		r := DomainRule{Pattern: NormalizeDomainPattern(pattern), Action: DomainAllow}
		if ValidateDomainRule(r) != nil {
			return
		}
		rules := []DomainRule{r, {Pattern: "*.deny.test", Action: DomainDeny}}
		d, err := NewNetDecider(Network{Mode: NetworkProxy, Proxy: &Proxy{AllowLocal: true, Domains: rules}})
		if err != nil {
			t.Fatal(err)
		}
		got := d.DecideNet(host, 443, "GET")
		h := NormalizeHost(host)
		if !validHost(h) {
			if got.Allowed {
				t.Fatalf("invalid host %q allowed", host)
			}
			return
		}
		want := linearMatch(rules, h, DomainDeny) < 0 && linearMatch(rules, h, DomainAllow) >= 0
		if got.Allowed != want {
			t.Fatalf("pattern %q host %q: got %s, want allowed=%v", r.Pattern, host, got.Explain(), want)
		}
	})
}

func TestNetworkValidate(t *testing.T) {
	good := []Network{
		{Mode: NetworkNone},
		{Mode: NetworkFull},
		{Mode: NetworkProxy},
		{Mode: NetworkProxy, Proxy: &Proxy{SOCKS5: true, HTTPPort: 43128, SOCKSPort: 43129, Domains: []DomainRule{{Pattern: "*.example.com", Action: DomainAllow}}}},
		{Mode: NetworkProxy, Proxy: &Proxy{SOCKS5: false, HTTPPort: 8081}}, // SOCKS5 off: its port is unused
	}
	for _, n := range good {
		if err := n.Validate(); err != nil {
			t.Errorf("%+v: %v", n, err)
		}
	}
	bad := []Network{
		{Mode: "bogus"},
		{Mode: NetworkFull, Proxy: &Proxy{}},
		{Mode: NetworkProxy, Proxy: &Proxy{HTTPPort: 65536}},
		{Mode: NetworkProxy, Proxy: &Proxy{SOCKSPort: -1}},
		{Mode: NetworkProxy, Proxy: &Proxy{SOCKS5: true, SOCKSPort: DefaultHTTPPort}},
		{Mode: NetworkProxy, Proxy: &Proxy{Methods: "some"}},
		{Mode: NetworkProxy, Proxy: &Proxy{Domains: []DomainRule{{Pattern: "*", Action: DomainDeny}}}},
	}
	for _, n := range bad {
		if err := n.Validate(); err == nil {
			t.Errorf("%+v: accepted", n)
		}
	}
	// ProxyPorts: the listeners a proxy network's command may reach.
	if got := (Network{Mode: NetworkProxy, Proxy: &Proxy{SOCKS5: true}}).ProxyPorts(); len(got) != 2 || got[0] != DefaultHTTPPort || got[1] != DefaultSOCKSPort {
		t.Errorf("default ports: %v", got)
	}
	if got := (Network{Mode: NetworkProxy, Proxy: &Proxy{HTTPPort: 9}}).ProxyPorts(); len(got) != 1 || got[0] != 9 {
		t.Errorf("SOCKS5 off: %v", got)
	}
	if got := (Network{Mode: NetworkFull}).ProxyPorts(); got != nil {
		t.Errorf("full: %v", got)
	}
}

func TestMatchDomainAndDroppedFor(t *testing.T) {
	for _, c := range []struct {
		pattern, host string
		want          bool
	}{
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "example.com", false},
		{"**.example.com", "Example.COM.", true},
		{"example.com", "example.com:443", true},
		{"example.com", "a..example.com", false},
	} {
		if got := MatchDomain(c.pattern, c.host); got != c.want {
			t.Errorf("MatchDomain(%q, %q) = %v", c.pattern, c.host, got)
		}
	}
	user := []DomainRule{{Pattern: "registry.pkg.example", Action: DomainAllow}, {Pattern: "*.github.com", Action: DomainAllow}}
	p, dropped := NarrowProxy(Proxy{Domains: user}, NetRequirements{ManagedAllowedDomainsOnly: true,
		ManagedOnlyOrigin: Origin{Kind: OriginRequirement, Key: "experimental_network.managed_allowed_domains_only"}})
	if len(dropped) != 2 || len(p.Dropped) != 2 {
		t.Fatalf("dropped %v, kept %v", dropped, p.Dropped)
	}
	got := p.DroppedFor("api.github.com")
	if len(got) != 1 || got[0].Rule.Pattern != "*.github.com" || got[0].Setting == nil ||
		!strings.Contains(got[0].Why(), `requirement "experimental_network.managed_allowed_domains_only"`) {
		t.Errorf("DroppedFor: %+v", got)
	}
	if d := mustNetDecider(t, Network{Mode: NetworkProxy, Proxy: &p}).DecideNet("api.github.com", 443, "GET"); d.Allowed {
		t.Errorf("a dropped rule still allows: %s", d.Explain())
	}
}

func mustNetDecider(t *testing.T, n Network) *NetDecider {
	t.Helper()
	d, err := NewNetDecider(n)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
