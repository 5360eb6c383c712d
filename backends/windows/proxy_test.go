package windows

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"polc/diag"
	"polc/internal/canonjson"
	"polc/internal/netgen"
	"polc/ir"
)

func proxyPolicy(px ir.Proxy) *ir.Policy {
	return &ir.Policy{Profile: "net", Minimal: &ir.Origin{}, Rules: []ir.Rule{{Path: "/", Access: ir.Read}, {Path: `C:\work`, Access: ir.Write}},
		Network: ir.Network{Mode: ir.NetworkProxy, Proxy: &px, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "network"}}}
}

func proxyEval(t *testing.T, pol *ir.Policy, mode string) (*Plan, *Evaluator) {
	t.Helper()
	plan, diags := Lower(pol, LowerOptions{})
	if diags.HasErrors() {
		t.Fatalf("Lower: %v", diags.Err())
	}
	raw, err := canonjson.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	if plan, err = Decode(raw); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	ev, err := NewEvaluator(plan, mode, ir.Env{Bindings: ir.Bindings{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return plan, ev
}

// loopbackTCPRule is the offline account's loopback TCP block.
func loopbackTCPRule(t *testing.T, m *Mode) Step {
	t.Helper()
	for _, s := range m.Steps {
		if s.Op == OpFirewallRule && s.Protocol == "tcp" && s.RemoteAddrs == loopbackAddrs {
			return s
		}
	}
	t.Fatal("no loopback TCP rule")
	return Step{}
}

// TestProxyLowering: in proxy mode the elevated plan's firewall leaves
// open loopback TCP to the proxy's listeners only, the plan carries the
// proxy network, and unelevated mode (which cannot block anything)
// refuses.
func TestProxyLowering(t *testing.T) {
	for _, c := range []struct {
		px    ir.Proxy
		ports []int
		block string
	}{
		{ir.Proxy{}, []int{3128}, "1-3127,3129-65535"},
		{ir.Proxy{SOCKS5: true}, []int{3128, 8081}, "1-3127,3129-8080,8082-65535"},
		{ir.Proxy{HTTPPort: 9000, SOCKSPort: 1, SOCKS5: true}, []int{1, 9000}, "2-8999,9001-65535"},
	} {
		px := c.px
		px.Domains = []ir.DomainRule{{Pattern: "registry.pkg.example", Action: ir.DomainAllow}}
		plan, ev := proxyEval(t, proxyPolicy(px), "")
		if plan.PreferredMode != Elevated || !plan.Modes[Unelevated].Refused {
			t.Errorf("%+v: preferred %s, unelevated refused %v", c.px, plan.PreferredMode, plan.Modes[Unelevated].Refused)
		}
		if fmt.Sprint(plan.Network.ProxyPorts) != fmt.Sprint(c.ports) || plan.Network.Proxy == nil || len(plan.Network.Proxy.Domains) != 1 {
			t.Errorf("%+v: network %+v", c.px, plan.Network)
		}
		el := plan.Modes[Elevated]
		if el.Identity != SIDProxyUser {
			t.Errorf("%+v: runs as %s, not the proxy account", c.px, el.Identity)
		}
		if r := loopbackTCPRule(t, el); r.RemotePorts != c.block {
			t.Errorf("%+v: loopback TCP blocked on %s, want %s", c.px, r.RemotePorts, c.block)
		}
		for _, p := range c.ports {
			for _, lo := range []string{"127.0.0.1", "::1"} {
				if v := ev.Network(lo, p); !v.Allowed {
					t.Errorf("%+v: the proxy at %s:%d is unreachable: %s", c.px, lo, p, v.Reason)
				}
			}
		}
		for _, dst := range [][2]any{{"127.0.0.1", 80}, {"104.16.0.1", 443}, {"::1", 22}, {"10.0.0.1", c.ports[0]}, {"2001:db8::1", c.ports[0]}} {
			if v := ev.Network(dst[0].(string), dst[1].(int)); v.Allowed {
				t.Errorf("%+v: direct connection to %v allowed: %s", c.px, dst, v.Reason)
			}
		}
	}

	// The offline account (no network) never has a loopback port open,
	// and the two accounts' firewall rules are distinct, machine-wide: a
	// command without the network cannot reach any launch's proxy, and
	// switching between the two kinds of policy changes no rule.
	off := &ir.Policy{Profile: "off", Minimal: &ir.Origin{}, Rules: []ir.Rule{{Path: "/", Access: ir.Read}}, Network: ir.Network{Mode: ir.NetworkNone}}
	offPlan, diags := Lower(off, LowerOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	offMode := offPlan.Modes[Elevated]
	if offMode.Identity != SIDOffline || loopbackTCPRule(t, offMode).RemotePorts != "*" {
		t.Errorf("no network: %s, loopback TCP blocked on %s", offMode.Identity, loopbackTCPRule(t, offMode).RemotePorts)
	}
	proxyPlan, _ := proxyEval(t, proxyPolicy(ir.Proxy{}), "")
	names := map[string]string{}
	for _, m := range []*Mode{offMode, proxyPlan.Modes[Elevated]} {
		for _, st := range m.Steps {
			if st.Op != OpFirewallRule {
				continue
			}
			if st.SID != m.Identity {
				t.Errorf("rule %s is scoped to %s, not %s", st.Name, st.SID, m.Identity)
			}
			if other, ok := names[st.Name]; ok && other != m.Identity {
				t.Errorf("rule %s is both %s's and %s's", st.Name, other, m.Identity)
			}
			names[st.Name] = m.Identity
		}
	}
	if len(names) != 8 {
		t.Errorf("firewall rules: %v", names)
	}

	pol := proxyPolicy(ir.Proxy{HTTPPort: 4000, SOCKSPort: 4000, SOCKS5: true,
		SOCKS5Origin: ir.Origin{Kind: ir.OriginConfig, Key: "enable_socks5", Pos: diag.Pos{File: "c.toml", Line: 7, Col: 1}}})
	_, diags = Lower(pol, LowerOptions{})
	if !diags.HasErrors() || diags.Errors()[0].Code != diag.WindowsProxyPorts || diags.Errors()[0].Pos.Line != 7 {
		t.Errorf("colliding ports: %v", diags)
	}
}

// TestProxyPlanChecked: a plan whose proxy and firewall ports disagree
// is refused.
func TestProxyPlanChecked(t *testing.T) {
	plan, diags := Lower(proxyPolicy(ir.Proxy{SOCKS5: true}), LowerOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	for name, mod := range map[string]func(p *Plan){
		"ports": func(p *Plan) { p.Network.ProxyPorts = []int{3128} },
		"mode":  func(p *Plan) { p.Network.Mode = string(ir.NetworkFull) },
		"rules": func(p *Plan) { p.Network.Proxy.Domains = []ir.DomainRule{{Pattern: "*", Action: ir.DomainDeny}} },
	} {
		c := *plan
		px := *plan.Network.Proxy
		c.Network.Proxy = &px
		c.Network.ProxyPorts = append([]int(nil), plan.Network.ProxyPorts...)
		mod(&c)
		raw, err := canonjson.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(raw); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// TestEgressAgreesWithDecideNet is translation validation for the
// network: on random proxy networks and requests, what the elevated
// plan lets leave (through its firewall, or through the proxy it leaves
// reachable) equals ir.DecideNet, and nothing leaves except through the
// proxy.
func TestEgressAgreesWithDecideNet(t *testing.T) {
	r := rand.New(rand.NewSource(215))
	checked := 0
	for iter := 0; iter < 150; iter++ {
		pol := proxyPolicy(netgen.Proxy(r))
		plan, ev := proxyEval(t, pol, "")
		if plan.PreferredMode != Elevated {
			t.Fatalf("proxy mode prefers %s", plan.PreferredMode)
		}
		for j := 0; j < 40; j++ {
			host, port, method := netgen.Request(r)
			netgen.CheckEgress(t, ev, pol, host, port, method)
			checked++
		}
	}
	for _, n := range []ir.Network{{Mode: ir.NetworkNone}, {Mode: ir.NetworkFull}} {
		pol := &ir.Policy{Profile: "net", Minimal: &ir.Origin{}, Rules: []ir.Rule{{Path: "/", Access: ir.Read}}, Network: n}
		_, ev := proxyEval(t, pol, Elevated)
		for j := 0; j < 40; j++ {
			host, port, method := netgen.Request(r)
			netgen.CheckEgress(t, ev, pol, host, port, method)
			checked++
		}
	}
	if checked < 6000 {
		t.Fatalf("only %d requests checked", checked)
	}
}

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestProxyPlanGolden pins the whole plan of a proxy-mode policy, so
// that a change to its firewall rules or steps is a reviewed diff.
func TestProxyPlanGolden(t *testing.T) {
	pol := proxyPolicy(ir.Proxy{SOCKS5: true, Methods: ir.MethodsLimited, Domains: []ir.DomainRule{
		{Pattern: "*.pkg.example", Action: ir.DomainAllow, Managed: true, Origin: ir.Origin{Kind: ir.OriginRequirement, Key: "experimental_network.domains"}},
		{Pattern: "evil.pkg.example", Action: ir.DomainDeny, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "domains"}},
	}})
	plan, diags := Lower(pol, LowerOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	got, err := canonjson.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("testdata", "managed-proxy.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./backends/windows -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the plan differs from %s (run with -update and review the diff)", file)
	}
}
