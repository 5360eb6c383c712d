package seatbelt

import (
	"math/rand"
	"strings"
	"testing"

	"polc/backends"
	"polc/diag"
	"polc/ir"
)

// checkAgrees fails unless Check reports exactly Lower's diagnostics.
func checkAgrees(t *testing.T, name string, p *ir.Policy, opts backends.Options) {
	t.Helper()
	_, lowered := Lower(p, opts)
	got := Check(p, opts)
	if len(got) != len(lowered) {
		t.Fatalf("%s: Check %v, Lower %v", name, got, lowered)
	}
	for i := range got {
		if got[i].String() != lowered[i].String() || got[i].Fix != lowered[i].Fix {
			t.Errorf("%s: Check %v, Lower %v", name, got[i], lowered[i])
		}
	}
}

// TestCheckAgreesWithLower: Check says what Lower says, refusals,
// warnings and silence alike, without building the payload.
func TestCheckAgreesWithLower(t *testing.T) {
	pos := diag.Pos{File: "config.toml", Line: 4, Col: 9}
	ws := ir.VarWorkspaceRoot
	sock := ir.UnixSocket{Path: "/run/x.sock", Origin: ir.Origin{Pos: pos}}
	cases := map[string]*ir.Policy{
		"** inside a name": {Globs: []ir.Glob{{Pattern: ws + "/a**b", Base: ws, Origin: ir.Origin{Pos: pos}}}},
		"relative rule":    {Rules: []ir.Rule{{Path: "rel/path", Access: ir.Read, Origin: ir.Origin{Pos: pos}}}},
		"newline in rule":  {Rules: []ir.Rule{{Path: "/a\nb", Access: ir.Read, Origin: ir.Origin{Pos: pos}}}},
		"long branch":      {Globs: []ir.Glob{{Pattern: ws + "/" + strings.Repeat("x", 1100), Base: ws, Origin: ir.Origin{Pos: pos}}}},
		"unrestricted":     {Unrestricted: true, Rules: []ir.Rule{{Path: "rel", Access: ir.Read}}},
		"seed":             seedPolicy(),
		"socket, no network": {Rules: []ir.Rule{{Path: ws, Access: ir.Write}},
			Network: ir.Network{Mode: ir.NetworkNone, UnixSockets: []ir.UnixSocket{sock}}},
		"socket, full network": {Network: ir.Network{Mode: ir.NetworkFull, UnixSockets: []ir.UnixSocket{sock}}},
		"proxy ports collide": {Network: ir.Network{Mode: ir.NetworkProxy, Origin: ir.Origin{Pos: pos},
			Proxy: &ir.Proxy{SOCKS5: true, HTTPPort: 3128, SOCKSPort: 3128, SOCKS5Origin: ir.Origin{Pos: pos}}}},
		"proxy and socket": {Network: ir.Network{Mode: ir.NetworkProxy, UnixSockets: []ir.UnixSocket{sock},
			Proxy: &ir.Proxy{SOCKS5: true, HTTPPort: 3128, SOCKSPort: 3128}}},
		"proxy": {Network: ir.Network{Mode: ir.NetworkProxy}},
	}
	for name, p := range cases {
		checkAgrees(t, name, p, backends.Options{})
		checkAgrees(t, name+" (allow unenforceable)", p, backends.Options{AllowUnenforceable: true})
	}
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 60; i++ {
		pol, _, _ := randomCase(t, rng)
		pol.Sort()
		checkAgrees(t, "random", pol, backends.Options{})
	}
}
