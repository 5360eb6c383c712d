package semdiff

import (
	"bytes"
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

func text(s []Section, compared []string) string {
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
	secs := Compare(old, nw, Platforms)
	out := text(secs, Platforms)
	var macos *Section
	for i := range secs {
		if strings.Join(secs[i].Platforms, ",") == "macos" {
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
	secs := Compare(old, nw, Platforms)
	if len(secs) != 3 {
		t.Fatalf("want a section per platform, got:\n%s", text(secs, Platforms))
	}
	out := text(secs, Platforms)
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
	secs := Compare(old, nw, Platforms)
	if len(secs) != 1 || len(secs[0].Changes) != 1 || secs[0].Changes[0].To != "disabled" {
		t.Fatalf("got:\n%s", text(secs, Platforms))
	}
	if got := text(secs, Platforms); !strings.HasPrefix(got, "all platforms:\n  sandbox: enabled -> disabled") {
		t.Errorf("got:\n%s", got)
	}
}

func TestIdenticalPoliciesNoSections(t *testing.T) {
	if secs := Compare(base(), base(), Platforms); len(secs) != 0 {
		t.Errorf("identical policies differ:\n%s", text(secs, Platforms))
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
	out := text(Compare(old, nw, Platforms), Platforms)
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
	out := text(Compare(old, nw, Platforms), Platforms)
	if !strings.Contains(out, "auto-review policy text: [auto_review].policy at config.toml:5:10 -> requirements guardian_policy_config at requirements.toml:1:26") {
		t.Errorf("origin change not shown:\n%s", out)
	}
	nw.Approvals.AutoReviewPolicy = "be very careful"
	out = text(Compare(old, nw, Platforms), Platforms)
	if !strings.Contains(out, "requirements guardian_policy_config at requirements.toml:1:26") {
		t.Errorf("text change not shown with its source:\n%s", out)
	}
	if secs := Compare(old, old, Platforms); len(secs) != 0 {
		t.Errorf("no change reported as %v", secs)
	}
}
