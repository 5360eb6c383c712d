package windows

import (
	"reflect"
	"testing"

	"polc/backends"
	"polc/diag"
	"polc/internal/conformance"
	"polc/ir"
)

// TestCheckAgreesWithLower: Check (the plan's gaps without its steps)
// says what Lower says, and every mode has the gaps Lower records, on
// hand-made policies and on every shared conformance case.
func TestCheckAgreesWithLower(t *testing.T) {
	pos := diag.Pos{File: "config.toml", Line: 4, Col: 1}
	cfg := ir.Origin{Kind: ir.OriginConfig, Pos: pos}
	policies := map[string]*ir.Policy{
		"bare": {Profile: "bare", Rules: []ir.Rule{{Path: ir.VarWorkspaceRoot, Access: ir.Write, Origin: cfg}}},
		"full read, network": {Network: ir.Network{Mode: ir.NetworkFull}, Rules: []ir.Rule{
			{Path: "/", Access: ir.Read}, {Path: ir.VarWorkspaceRoot, Access: ir.Write}}},
		"deny read": {Network: ir.Network{Mode: ir.NetworkFull}, Rules: []ir.Rule{
			{Path: "/", Access: ir.Read}, {Path: ir.VarHome + "/.ssh", Access: ir.Deny, Origin: cfg}}},
		"system dirs": {Minimal: &ir.Origin{Kind: ir.OriginConfig, Pos: pos}, Rules: []ir.Rule{
			{Path: "C:/Windows/System32/config", Access: ir.Deny}, {Path: "C:/Program Files/Tool", Access: ir.Write}}},
		"case collision": {Minimal: &ir.Origin{}, Rules: []ir.Rule{
			{Path: ir.VarWorkspaceRoot + "/Docs", Access: ir.Write}, {Path: ir.VarWorkspaceRoot + "/docs", Access: ir.Deny}}},
		"posix paths":    {Minimal: &ir.Origin{}, Rules: []ir.Rule{{Path: "/opt/tools", Access: ir.Read, Origin: cfg}}},
		"glob":           {Minimal: &ir.Origin{}, Globs: []ir.Glob{{Pattern: ir.VarWorkspaceRoot + "/**/*.env", Base: ir.VarWorkspaceRoot, Origin: cfg}}},
		"proxy, no port": {Minimal: &ir.Origin{}, Network: ir.Network{Mode: ir.NetworkProxy}},
		"proxy":          {Minimal: &ir.Origin{}, Network: ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: 3128}}},
		"proxy ports collide": {Network: ir.Network{Mode: ir.NetworkProxy, Origin: cfg,
			Proxy: &ir.Proxy{SOCKS5: true, HTTPPort: 3128, SOCKSPort: 3128}}},
		"unrestricted": {Unrestricted: true},
	}
	cases, err := conformance.Load("../../internal/conformance/testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		_, res := c.Compile(t)
		if res.Policy != nil {
			policies["conformance "+c.Name] = res.Policy
		}
	}
	for name, p := range policies {
		for _, allow := range []bool{false, true} {
			opts := LowerOptions{AllowUnenforceable: allow}
			plan, lowered := Lower(p, opts)
			gaps, checked := lower(p, opts, true)
			if !reflect.DeepEqual(checked, lowered) {
				t.Errorf("%s (allow %v): Check\n%v\nLower\n%v", name, allow, checked, lowered)
			}
			if got := (windowsBackend{}).Check(p, backends.Options{AllowUnenforceable: allow}); !reflect.DeepEqual(got, lowered) {
				t.Errorf("%s: the backend's Check differs from Lower", name)
			}
			for mode, m := range plan.Modes {
				g := gaps.Modes[mode]
				if g == nil || !reflect.DeepEqual(g.Gaps, m.Gaps) || g.Refused != m.Refused {
					t.Errorf("%s: mode %s: gaps differ", name, mode)
				}
			}
		}
	}
}
