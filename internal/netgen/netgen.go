// Package netgen generates random proxy networks and requests for the
// tests that check a backend's evaluator against ir.DecideNet.
package netgen

import (
	"math/rand"
	"strings"

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
