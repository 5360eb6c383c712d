package artifact

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"polc/backends"
	"polc/diag"
	"polc/ir"
)

// fakeBackend stands in for the real backends, which this package must
// not import: it lowers a policy into a small JSON plan that names its
// variables symbolically (as the real ones do), adds a side file on
// macOS.
type fakeBackend struct{ platform ir.Platform }

func (f fakeBackend) Platform() ir.Platform { return f.platform }

func (f fakeBackend) Lower(p *ir.Policy, _ backends.Options) (*backends.Output, diag.List) {
	var d diag.List
	for _, r := range p.Rules {
		if r.Path == "/unenforceable" {
			d.Add(diag.LowerFailed, r.Origin.Pos, "cannot enforce "+r.Path, "")
			return nil, d
		}
	}
	plan := map[string]any{"platform": f.platform, "rules": len(p.Rules)}
	var binds []string
	for _, r := range p.Rules {
		// Real backends copy origins (with their file:line) into payloads.
		binds = append(binds, r.Access.String()+" "+r.Path+" "+r.Origin.String())
	}
	plan["binds"] = binds
	body, _ := json.Marshal(plan)
	out := &backends.Output{Platform: f.platform, Payload: body}
	if f.platform == "macos" {
		out.Files = map[string][]byte{"sb": []byte("(version 1)\n(deny default)\n")}
	}
	return out, d
}

func (f fakeBackend) Check(p *ir.Policy, opts backends.Options) diag.List {
	_, d := f.Lower(p, opts)
	return d
}

func (f fakeBackend) Evaluator(payload []byte, env ir.Env, _ backends.Options) (backends.Evaluator, error) {
	var plan map[string]any
	if err := json.Unmarshal(payload, &plan); err != nil {
		return nil, err
	}
	if plan["platform"] != string(f.platform) {
		return nil, errors.New("not my payload")
	}
	return fakeEval{}, nil
}

// fakeEval allows nothing; the artifact package never evaluates payloads
// itself (CheckStorage asks ir.Decide), it only needs the interface.
type fakeEval struct{}

func (fakeEval) Decide(string, ir.Op) backends.Verdict { return backends.Verdict{Reason: "fake"} }
func (fakeEval) Network(string, int) backends.Verdict  { return backends.Verdict{Reason: "fake"} }

// fakeLowerAll lowers the policy with the fake backends, as
// polc build lowers it with the real ones (lowering.LowerAll).
func fakeLowerAll(t testing.TB, p *ir.Policy, targets []ir.Platform) []backends.Result {
	t.Helper()
	var rs []backends.Result
	for _, pl := range targets {
		out, d := fakeBackend{platform: pl}.Lower(p, backends.Options{})
		rs = append(rs, backends.Result{Platform: pl, Output: out, Diags: d})
	}
	return rs
}

// testPolicy is the seed-like workspace profile, with origins pointing at
// a config file under the project, named symbolically as the compiler
// names it.
func testPolicy() *ir.Policy {
	ws := ir.VarWorkspaceRoot
	cfg := ws + "/.codex/config.toml"
	pos := func(line int) diag.Pos { return diag.Pos{File: cfg, Line: line, Col: 1} }
	return &ir.Policy{
		Profile:        "dev",
		Minimal:        &ir.Origin{Kind: ir.OriginConfig, Key: ":minimal", Pos: pos(4)},
		WorkspaceRoots: []string{ws},
		Rules: []ir.Rule{
			{Path: ws, Access: ir.Write, Origin: ir.Origin{Kind: ir.OriginConfig, Key: ":workspace_roots/.", Pos: pos(6)}},
			{Path: ws + "/.git", Access: ir.Read, SkipIfMissing: true, Origin: ir.Origin{Kind: ir.OriginProtected}},
			{Path: ws + "/.codex", Access: ir.Read, Origin: ir.Origin{Kind: ir.OriginProtected}},
			{Path: ws + "/.polc", Access: ir.Read, Origin: ir.Origin{Kind: ir.OriginProtected}},
			{Path: ir.VarHome + "/.ssh", Access: ir.Deny, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "~/.ssh", Pos: pos(8)}},
			{Path: ir.VarTmpdir, Access: ir.Write, Origin: ir.Origin{Kind: ir.OriginBuiltin, Key: ":tmpdir"}},
		},
		Globs: []ir.Glob{{Pattern: ws + "/**/*.env", Base: ws, MaxDepth: 3,
			Origin: ir.Origin{Kind: ir.OriginConfig, Key: ":workspace_roots/**/*.env", Pos: pos(7)}}},
		GlobScanMaxDepth: 3,
		Network:          ir.Network{Mode: ir.NetworkNone},
	}
}

func testKey(t testing.TB, seed byte) ed25519.PrivateKey {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

func trustOf(keys ...ed25519.PrivateKey) []PublicKey {
	var out []PublicKey
	for i, k := range keys {
		pub := k.Public().(ed25519.PublicKey)
		out = append(out, PublicKey{ID: KeyID(pub), Key: pub, File: fmt.Sprintf("key%d.pub", i)})
	}
	return out
}

func mustBuild(t testing.TB, p *ir.Policy, targets ...ir.Platform) []*Artifact {
	t.Helper()
	arts, d := Build(p, fakeLowerAll(t, p, targets), BuildOptions{Version: "test"})
	if d.HasErrors() {
		t.Fatalf("build: %v", d.Err())
	}
	return arts
}

func wantCode(t *testing.T, err error, code diag.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := diag.CodeOf(err); got != code {
		t.Fatalf("got %v (code %q), want code %s", err, got, code)
	}
}
