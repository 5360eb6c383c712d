package seatbelt

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"polc/backends"
	"polc/diag"
	"polc/internal/netgen"
	"polc/ir"
)

func proxyPolicy(px ir.Proxy) *ir.Policy {
	return &ir.Policy{Profile: "net", Rules: []ir.Rule{{Path: "/Users/u/app", Access: ir.Write}},
		Network: ir.Network{Mode: ir.NetworkProxy, Proxy: &px, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "network"}}}
}

func lowerEval(t *testing.T, pol *ir.Policy) (*Evaluator, string) {
	t.Helper()
	return lowerEvalEnv(t, pol, ir.Env{})
}

func lowerEvalEnv(t *testing.T, pol *ir.Policy, env ir.Env) (*Evaluator, string) {
	t.Helper()
	out, diags := Lower(pol, backends.Options{})
	if diags.HasErrors() {
		t.Fatalf("Lower: %v", diags.Err())
	}
	ev, err := NewEvaluator(out.Payload, env)
	if err != nil {
		t.Fatalf("NewEvaluator: %v", err)
	}
	return ev, string(out.Files["sb"])
}

// TestProxyLowering: proxy mode allows outbound TCP to the proxy's
// loopback listeners only, and the payload carries the proxy network the
// launch starts the proxy for.
func TestProxyLowering(t *testing.T) {
	for _, c := range []struct {
		px    ir.Proxy
		ports []int
	}{
		{ir.Proxy{}, []int{3128}},
		{ir.Proxy{SOCKS5: true}, []int{3128, 8081}},
		{ir.Proxy{HTTPPort: 9000, SOCKSPort: 8000, SOCKS5: true}, []int{8000, 9000}},
		{ir.Proxy{HTTPPort: 9000, SOCKSPort: 9000}, []int{9000}},
	} {
		px := c.px
		px.Domains = []ir.DomainRule{{Pattern: "registry.pkg.example", Action: ir.DomainAllow}}
		ev, sb := lowerEval(t, proxyPolicy(px))
		if fmt.Sprint(ev.Payload.ProxyPorts) != fmt.Sprint(c.ports) {
			t.Errorf("%+v: proxy ports %v, want %v", c.px, ev.Payload.ProxyPorts, c.ports)
		}
		for _, p := range c.ports {
			if !strings.Contains(sb, fmt.Sprintf("(allow network-outbound (remote ip \"localhost:%d\"))", p)) {
				t.Errorf("%+v: no outbound rule for %d:\n%s", c.px, p, userPart(sb))
			}
		}
		if n := strings.Count(sb, "(allow network-outbound"); n != len(c.ports) {
			t.Errorf("%+v: %d outbound rules, want %d", c.px, n, len(c.ports))
		}
		for _, bad := range []string{"(allow network-outbound)", "(allow network-inbound", "network-bind", "*:53"} {
			if strings.Contains(sb, bad) {
				t.Errorf("%+v: profile has %s", c.px, bad)
			}
		}
		if ev.Payload.Proxy == nil || len(ev.Payload.Proxy.Domains) != 1 || ev.Payload.Proxy.Domains[0].Pattern != "registry.pkg.example" {
			t.Errorf("%+v: payload proxy %+v", c.px, ev.Payload.Proxy)
		}
		for _, p := range c.ports {
			if v := ev.Network("127.0.0.1", p); !v.Allowed {
				t.Errorf("%+v: the proxy at 127.0.0.1:%d is unreachable: %s", c.px, p, v.Reason)
			}
		}
		for _, dst := range [][2]any{{"127.0.0.1", 80}, {"104.16.0.1", 443}, {"::1", 22}, {"10.0.0.1", c.ports[0]}} {
			if v := ev.Network(dst[0].(string), dst[1].(int)); v.Allowed {
				t.Errorf("%+v: direct connection to %v allowed: %s", c.px, dst, v.Reason)
			}
		}
	}

	// Listeners on one port cannot both run: a located error.
	pol := proxyPolicy(ir.Proxy{HTTPPort: 4000, SOCKSPort: 4000, SOCKS5: true,
		SOCKS5Origin: ir.Origin{Kind: ir.OriginConfig, Key: "enable_socks5", Pos: diag.Pos{File: "c.toml", Line: 7, Col: 1}}})
	_, diags := Lower(pol, backends.Options{})
	if !diags.HasErrors() || diags.Errors()[0].Code != diag.MacProxyPorts || diags.Errors()[0].Pos.Line != 7 {
		t.Errorf("colliding ports: %v", diags)
	}
}

// TestProxyPayloadChecked: a payload whose proxy and profile disagree is
// refused, not run.
func TestProxyPayloadChecked(t *testing.T) {
	out, diags := Lower(proxyPolicy(ir.Proxy{SOCKS5: true}), backends.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	pl, err := Decode(out.Payload)
	if err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(p *Payload){
		"ports":   func(p *Payload) { p.ProxyPorts = []int{3128} },
		"mode":    func(p *Payload) { p.Network = ir.NetworkNone },
		"rules":   func(p *Payload) { p.Proxy.Domains = []ir.DomainRule{{Pattern: "*", Action: ir.DomainDeny}} },
		"methods": func(p *Payload) { p.Proxy.Methods = "post-only" },
		// A reader of the proxy-less layout must never see a proxy payload.
		"format":   func(p *Payload) { p.Format = FormatTag },
		"no proxy": func(p *Payload) { p.Proxy = nil },
	} {
		c := *pl
		px := *pl.Proxy
		c.Proxy = &px
		mod(&c)
		if name == "no proxy" && c.Format != FormatTagProxy {
			t.Fatalf("proxy payload format %q", c.Format)
		}
		if _, err := Decode(mustJSON(t, &c)); err == nil || !strings.Contains(err.Error(), string(diag.MacBadArtifact)) {
			t.Errorf("%s: Decode = %v", name, err)
		}
	}
}

// TestEgressAgreesWithDecideNet is translation validation for the
// network: on random proxy networks and requests, what the macOS
// artifact lets leave (directly, or through the proxy it routes to)
// equals ir.DecideNet; and no request leaves except through the proxy.
func TestEgressAgreesWithDecideNet(t *testing.T) {
	r := rand.New(rand.NewSource(210))
	checked := 0
	for iter := 0; iter < 150; iter++ {
		px := netgen.Proxy(r)
		pol := proxyPolicy(px)
		ev, _ := lowerEval(t, pol)
		for j := 0; j < 40; j++ {
			host, port, method := netgen.Request(r)
			netgen.CheckEgress(t, ev, pol, host, port, method)
			checked++
		}
	}
	// No network and the full network agree too.
	for _, n := range []ir.Network{{Mode: ir.NetworkNone}, {Mode: ir.NetworkFull}} {
		pol := &ir.Policy{Profile: "net", Network: n}
		ev, _ := lowerEval(t, pol)
		for j := 0; j < 40; j++ {
			host, port, method := netgen.Request(r)
			netgen.CheckEgress(t, ev, pol, host, port, method)
			checked++
		}
	}
	ev, _ := lowerEval(t, &ir.Policy{Profile: ":danger-full-access", Unrestricted: true})
	netgen.CheckEgress(t, ev, &ir.Policy{Unrestricted: true}, "example.com", 443, "CONNECT")
	if checked < 6000 {
		t.Fatalf("only %d requests checked", checked)
	}
}
