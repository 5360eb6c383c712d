// Package netgen generates random proxy networks and requests for the
// tests that check a backend's evaluator against ir.DecideNet.
package netgen

import (
	"fmt"
	"math/rand"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"polc/backends"
	"polc/ir"
)

var labels = []string{"a", "b", "ab", "test"}

// Literals are the IP literals and local names patterns and hosts draw
// from: public, private, loopback (both families) and localhost.
var Literals = []string{"10.1.2.3", "93.184.215.7", "127.0.0.1", "localhost", "::1"}

func name(r *rand.Rand, glob bool) string {
	parts := make([]string, 1+r.Intn(3))
	for i := range parts {
		parts[i] = labels[r.Intn(len(labels))]
		if glob && r.Intn(10) == 0 {
			parts[i] = parts[i][:1] + "*"
		}
	}
	return strings.Join(parts, ".")
}

// Pattern is a random domain pattern: exact, "*.", "**.", with an inner
// glob now and then, or an IP literal.
func Pattern(r *rand.Rand) string {
	p := name(r, true)
	switch r.Intn(6) {
	case 0:
		p = "*." + p
	case 1:
		p = "**." + p
	case 2:
		p = Literals[r.Intn(len(Literals))]
	}
	return ir.NormalizeDomainPattern(p)
}

// Proxy is a random valid proxy network: up to six rules (a third of
// them denies, sometimes a global allow), limited methods a third of the
// time, local addresses allowed half the time, SOCKS5 half the time,
// default or custom ports.
func Proxy(r *rand.Rand) ir.Proxy {
	for {
		var rs []ir.DomainRule
		for i := r.Intn(7); i > 0; i-- {
			a := ir.DomainAllow
			if r.Intn(3) == 0 {
				a = ir.DomainDeny
			}
			rs = append(rs, ir.DomainRule{Pattern: Pattern(r), Action: a, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "domains"}})
		}
		if r.Intn(8) == 0 {
			rs = append(rs, ir.DomainRule{Pattern: "*", Action: ir.DomainAllow})
		}
		px := ir.Proxy{Domains: rs, AllowLocal: r.Intn(2) == 0, SOCKS5: r.Intn(2) == 0}
		if r.Intn(3) == 0 {
			px.Methods = ir.MethodsLimited
		}
		if r.Intn(2) == 0 {
			px.HTTPPort = 20000 + r.Intn(1000)
			px.SOCKSPort = 21000 + r.Intn(1000)
		}
		if _, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &px}); err == nil {
			return px
		}
	}
}

// Host is a random destination: mostly names, sometimes a literal.
func Host(r *rand.Rand) string {
	if r.Intn(5) == 0 {
		return Literals[r.Intn(len(Literals))]
	}
	return name(r, false)
}

// Methods are the methods Request draws from: plain HTTP, a tunnel, and
// SOCKS5.
var Methods = []string{"GET", "HEAD", "POST", "PUT", ir.MethodConnect, ir.MethodUpgrade, ir.MethodSOCKS5}

// Ports are the destination ports Request draws from. None is a default
// proxy port, so that a destination is never the proxy itself.
var Ports = []int{22, 53, 80, 443, 8080}

// Request is a random request: host, port and method.
func Request(r *rand.Rand) (string, int, string) {
	return Host(r), Ports[r.Intn(len(Ports))], Methods[r.Intn(len(Methods))]
}

// CheckEgress fails t unless ev's answer for one request agrees with
// ir.DecideNet on pol: allowed or not and, where polc runs the proxy,
// decided by the proxy with DecideNet's reason and rule. A SOCKS5
// request is refused when the policy does not enable SOCKS5 (nothing
// listens for it), whatever DecideNet says of its destination.
func CheckEgress(t testing.TB, ev backends.EgressEvaluator, pol *ir.Policy, host string, port int, method string) {
	t.Helper()
	want, err := ir.DecideNet(pol, host, port, method)
	if err != nil {
		t.Fatal(err)
	}
	got := ev.Egress(host, port, method)
	// In proxy mode polc runs the proxy (a nil Proxy is one with no rules).
	proxy := pol.Network.Mode == ir.NetworkProxy && !pol.Unrestricted
	if proxy && method == ir.MethodSOCKS5 && (pol.Network.Proxy == nil || !pol.Network.Proxy.SOCKS5) {
		if got.Allowed {
			t.Fatalf("SOCKS5 %s:%d allowed without SOCKS5: %s", host, port, got.Reason)
		}
		return
	}
	what := fmt.Sprintf("network %+v: %s %s:%d", pol.Network.Proxy, method, host, port)
	if got.Allowed != want.Allowed {
		t.Fatalf("%s: artifact %v (%s), DecideNet %v (%s)", what, got.Allowed, got.Reason, want.Allowed, want.Explain())
	}
	if !proxy {
		return
	}
	// In proxy mode every decision is the proxy's.
	if got.Via != backends.ViaProxy || got.Decision == nil {
		t.Fatalf("%s: decided %q, not by the proxy: %s", what, got.Via, got.Reason)
	}
	d := *got.Decision
	if d.Reason != want.Reason || d.CheckAddrs != want.CheckAddrs || (d.Rule == nil) != (want.Rule == nil) ||
		d.Rule != nil && (d.Rule.Pattern != want.Rule.Pattern || d.Rule.Action != want.Rule.Action) {
		t.Fatalf("%s: proxy decided %s, DecideNet %s", what, d.Explain(), want.Explain())
	}
}

// HTTPServer stands for the conformance harness's loopback server, the
// $HTTP of an http probe's URL.
const HTTPServer = "127.0.0.1:40001"

// HTTPProbe is the request an http probe's URL makes (a conformance
// case's "http URL" row): host, port (the scheme's default when the URL
// names none) and GET. ok is false for a URL that is not http or https.
func HTTPProbe(rawURL string) (host string, port int, method string, ok bool) {
	u, err := url.Parse(strings.ReplaceAll(rawURL, "$HTTP", HTTPServer))
	if err != nil || u.Host == "" {
		return "", 0, "", false
	}
	switch u.Scheme {
	case "http":
		port = 80
	case "https":
		port = 443
	default:
		return "", 0, "", false
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return "", 0, "", false
		}
	}
	return u.Hostname(), port, "GET", true
}
