package semdiff

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"polc/diag"
	"polc/ir"
)

func diagPos(file string, line, col int) diag.Pos { return diag.Pos{File: file, Line: line, Col: col} }

func base() *ir.Policy {
	ws := ir.VarWorkspaceRoot
	return &ir.Policy{
		Profile:        "dev",
		WorkspaceRoots: []string{ws},
		Rules: []ir.Rule{
			{Path: ws, Access: ir.Write, Origin: ir.Origin{Kind: ir.OriginConfig, Key: ":workspace_roots/."}},
			{Path: ws + "/a/b/c/d/deep.env", Access: ir.Read, Origin: ir.Origin{Kind: ir.OriginConfig, Key: ":workspace_roots/a/b/c/d/deep.env"}},
		},
		Network: ir.Network{Mode: ir.NetworkNone},
	}
}

func text(s []Section, compared []ir.Platform) string {
	var b bytes.Buffer
	Write(&b, s, compared)
	return b.String()
}

// A deny glob capped at depth 2 denies a deep read-only file on macOS
// (native matching) but not on Linux and Windows (snapshot expansion to
// depth 2 where the sandbox cannot write): the diff must say so per
// platform instead of claiming one answer.
func TestGlobBeyondCapDiffersPerPlatform(t *testing.T) {
	old, nw := base(), base()
	ws := ir.VarWorkspaceRoot
	nw.Globs = []ir.Glob{{Pattern: ws + "/**/*.env", Base: ws, MaxDepth: 2, Origin: ir.Origin{Kind: ir.OriginConfig, Key: ":workspace_roots/**/*.env"}}}
	secs := Compare(old, nw, ir.Platforms)
	out := text(secs, ir.Platforms)
	var macos *Section
	for i := range secs {
		if ir.JoinPlatforms(secs[i].Platforms, ",") == "macos" {
			macos = &secs[i]
		}
	}
	if macos == nil {
		t.Fatalf("no macOS section:\n%s", out)
	}
	found := false
	for _, c := range macos.Changes {
		if c.Subject == ws+"/a/b/c/d/deep.env" && c.From == "read" && c.To == "deny" && strings.Contains(c.Now, "deny glob") {
			found = true
		}
	}
	if !found {
		t.Errorf("macOS should lose access to deep.env:\n%s", out)
	}
	if strings.Contains(strings.Split(out, "macos:")[0], "deep.env: read -> deny") {
		t.Errorf("Linux/Windows enforce depth 2 only; deep.env must not be denied there:\n%s", out)
	}
}

func TestMinimalRootsArePerPlatform(t *testing.T) {
	old, nw := base(), base()
	nw.Minimal = &ir.Origin{Kind: ir.OriginConfig, Key: ":minimal"}
	secs := Compare(old, nw, ir.Platforms)
	if len(secs) != 3 {
		t.Fatalf("want a section per platform, got:\n%s", text(secs, ir.Platforms))
	}
	out := text(secs, ir.Platforms)
	for _, want := range []string{"/usr/lib", "/System/Library", "C:/Windows"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s:\n%s", want, out)
		}
	}
}

func TestSandboxDisabledIsOneLine(t *testing.T) {
	old, nw := base(), base()
	nw.Unrestricted = true
	nw.Profile = ":danger-full-access"
	secs := Compare(old, nw, ir.Platforms)
	if len(secs) != 1 || len(secs[0].Changes) != 1 || secs[0].Changes[0].To != "disabled" {
		t.Fatalf("got:\n%s", text(secs, ir.Platforms))
	}
	if got := text(secs, ir.Platforms); !strings.HasPrefix(got, "all platforms:\n  sandbox: enabled -> disabled") {
		t.Errorf("got:\n%s", got)
	}
}

func TestIdenticalPoliciesNoSections(t *testing.T) {
	if secs := Compare(base(), base(), ir.Platforms); len(secs) != 0 {
		t.Errorf("identical policies differ:\n%s", text(secs, ir.Platforms))
	}
}

// Where the sandbox can write, Linux and Windows lift the cap (it could
// move a secret below it), so a deep writable file is denied on every
// platform: one section, no per-platform split for it.
func TestGlobBeyondCapWritableDeniedEverywhere(t *testing.T) {
	old, nw := base(), base()
	ws := ir.VarWorkspaceRoot
	old.Rules[1].Access, nw.Rules[1].Access = ir.Write, ir.Write
	nw.Globs = []ir.Glob{{Pattern: ws + "/**/*.env", Base: ws, MaxDepth: 2, Origin: ir.Origin{Kind: ir.OriginConfig, Key: ":workspace_roots/**/*.env"}}}
	out := text(Compare(old, nw, ir.Platforms), ir.Platforms)
	if !strings.Contains(strings.Split(out, "linux")[0], "deep.env: write -> deny") || strings.Contains(strings.SplitN(out, "linux", 2)[1], "deep.env") {
		t.Errorf("deep.env should go from write to deny on all platforms at once:\n%s", out)
	}
}

// The diff names which auto-review policy text applies and where it came
// from, also when only its origin changed (a managed guardian_policy_config
// took over the same text).
func TestAutoReviewPolicySource(t *testing.T) {
	old, nw := base(), base()
	old.Approvals = ir.Approvals{Policy: "on-request", Reviewer: "auto_review", AutoReviewPolicy: "be careful",
		AutoReviewPolicyOrigin: &ir.Origin{Kind: ir.OriginConfig, Key: "auto_review.policy", Pos: diagPos("config.toml", 5, 10)}}
	nw.Approvals = old.Approvals
	nw.Approvals.AutoReviewPolicyOrigin = &ir.Origin{Kind: ir.OriginRequirement, Key: "guardian_policy_config", Pos: diagPos("requirements.toml", 1, 26)}
	out := text(Compare(old, nw, ir.Platforms), ir.Platforms)
	if !strings.Contains(out, "auto-review policy text: [auto_review].policy at config.toml:5:10 -> requirements guardian_policy_config at requirements.toml:1:26") {
		t.Errorf("origin change not shown:\n%s", out)
	}
	nw.Approvals.AutoReviewPolicy = "be very careful"
	out = text(Compare(old, nw, ir.Platforms), ir.Platforms)
	if !strings.Contains(out, "requirements guardian_policy_config at requirements.toml:1:26") {
		t.Errorf("text change not shown with its source:\n%s", out)
	}
	if secs := Compare(old, old, ir.Platforms); len(secs) != 0 {
		t.Errorf("no change reported as %v", secs)
	}
}

// A proxy network's changes show per domain pattern (managed or the
// user's), and per setting; turning the proxy on shows every rule it
// brings; a rule that only moves (same pattern, same action) is no change.
func TestProxyChanges(t *testing.T) {
	req := ir.Origin{Kind: ir.OriginRequirement, Key: "experimental_network.allowed_domains", Pos: diagPos("req.toml", 3, 20)}
	user := ir.Origin{Kind: ir.OriginConfig, Key: "network.domains", Pos: diagPos("config.toml", 9, 13)}
	moved := user
	moved.Pos.Line = 12
	old, nw := base(), base()
	old.Network = ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{SOCKS5: true, Domains: []ir.DomainRule{
		{Pattern: "example.com", Action: ir.DomainAllow, Origin: user},
		{Pattern: "*.example.com", Action: ir.DomainAllow, Origin: user},
	}}}
	nw.Network = ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{SOCKS5: true, HTTPPort: 43128, AllowLocal: true, Domains: []ir.DomainRule{
		{Pattern: "example.com", Action: ir.DomainAllow, Origin: moved},
		{Pattern: "*.example.com", Action: ir.DomainAllow, Managed: true, Origin: req},
		{Pattern: "bad.example.com", Action: ir.DomainDeny, Managed: true, Origin: req},
	}}}
	out := text(Compare(old, nw, []ir.Platform{ir.Linux}), []ir.Platform{ir.Linux})
	for _, want := range []string{
		"domain *.example.com: allow -> managed allow",
		`now: requirement "experimental_network.allowed_domains" at req.toml:3:20`,
		"domain bad.example.com: none -> managed deny",
		"proxy local addresses: refused -> allowed",
		"proxy ports: http 3128, socks5 8081 -> http 43128, socks5 8081",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "domain example.com") {
		t.Errorf("a rule that only moved is reported:\n%s", out)
	}
	// Proxy on from no network: the rules appear with the mode change.
	out = text(Compare(base(), nw, []ir.Platform{ir.Linux}), []ir.Platform{ir.Linux})
	for _, want := range []string{"network: none -> proxy", "domain example.com: none -> allow", "proxy methods: none -> full"} {
		if !strings.Contains(out, want) {
			t.Errorf("proxy on: missing %q in:\n%s", want, out)
		}
	}
	if Compare(nw, nw, []ir.Platform{ir.Linux}) != nil {
		t.Error("a policy differs from itself")
	}
}

// TestPathsSharedAcrossPlatforms: the path comparison one Compare shares
// between its platforms gives each platform what comparing it alone
// gives, with and without :minimal on either side, deny globs capped
// and not, and writable directories below a cap.
func TestPathsSharedAcrossPlatforms(t *testing.T) {
	ws := ir.VarWorkspaceRoot
	minimal := &ir.Origin{Kind: ir.OriginConfig, Key: ":minimal"}
	variants := map[string]func(*ir.Policy){
		"plain":   func(*ir.Policy) {},
		"minimal": func(p *ir.Policy) { p.Minimal = minimal },
		"glob": func(p *ir.Policy) {
			p.Globs = []ir.Glob{{Pattern: ws + "/**/*.env", Base: ws, MaxDepth: 2, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "g"}}}
		},
		"glob+minimal+write": func(p *ir.Policy) {
			p.Minimal = minimal
			p.Rules = append(p.Rules, ir.Rule{Path: ws + "/a/b/c", Access: ir.Write, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "w"}},
				ir.Rule{Path: "/usr/lib/x", Access: ir.Deny, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "d"}})
			p.Globs = []ir.Glob{{Pattern: ws + "/**/*.env", Base: ws, MaxDepth: 1, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "g"}}}
		},
	}
	platforms := append(append([]ir.Platform(nil), ir.Platforms...), "", ir.Linux)
	compared := 0
	for on, fo := range variants {
		for nn, fn := range variants {
			old, nw := base(), base()
			fo(old)
			fn(nw)
			shared := &pathMemo{}
			for _, pl := range platforms {
				got := comparePlatform(old, nw, pl, shared)
				want := comparePlatform(old, nw, pl, &pathMemo{})
				if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
					t.Errorf("%s -> %s on %q: shared\n%s\nalone\n%s", on, nn, pl, g, w)
				}
				compared += len(want)
			}
		}
	}
	if compared == 0 {
		t.Fatal("no changes compared")
	}
}
