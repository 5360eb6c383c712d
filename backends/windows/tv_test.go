package windows

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/internal/conformance"
	"polc/ir"
)

// probe is one question asked of both ir.Decide and the evaluator.
type probe struct {
	path string
	op   ir.Op
}

// validate compares every mode of plan with ir.Decide on the probes.
// A disagreement must be explained by a gap of that mode covering the
// path: a refusing gap when Windows would allow what the policy denies,
// a fail-closed gap when it would deny what the policy allows. It
// returns the number of probes compared per mode.
func validate(t *testing.T, label string, plan *Plan, pol *ir.Policy, env ir.Env, probes []probe) int {
	t.Helper()
	d, err := ir.NewDecider(pol, env)
	if err != nil {
		t.Fatalf("%s: ir: %v", label, err)
	}
	exists := env.Exists
	if exists == nil {
		exists = ir.Exists
	}
	compared := 0
	for name := range plan.Modes {
		ev, err := NewEvaluator(plan, name, env, nil)
		if err != nil {
			t.Fatalf("%s: %s: %v", label, name, err)
		}
		if err := ev.B.CheckOneKindPerSID(); err != nil {
			t.Errorf("%s: %s mode: %v", label, name, err)
		}
		for _, pr := range probes {
			want := d.Decide(pr.path, pr.op)
			if want.Glob != nil && !exists(want.GlobMatch) {
				continue // snapshot platforms cannot deny a path created later
			}
			compared++
			got := ev.Decide(pr.path, pr.op)
			if got.Allowed == want.AllowedWithinCap {
				continue
			}
			if g := coveringGap(plan.Modes[name].Gaps, env, pr, got.Allowed); g != nil {
				continue
			}
			if g := coveringGap(ev.B.Gaps, env, pr, got.Allowed); g != nil {
				continue
			}
			t.Errorf("%s: %s mode: %s %s: windows allowed=%v, ir allowed=%v\n\twindows: %s\n\tir: %s",
				label, name, pr.op, pr.path, got.Allowed, want.AllowedWithinCap, got.Reason, want.Reason())
		}
	}
	return compared
}

func coveringGap(gaps []Gap, env ir.Env, pr probe, winAllowed bool) *Gap {
	for i := range gaps {
		g := &gaps[i]
		if g.Op != pr.op.String() || g.Refuses != winAllowed {
			continue
		}
		host := env.Bindings.Bind(g.Path)
		if g.Path == "/" || underKey(Key(ir.ResolvePath(pr.path)), Key(host)) {
			return g
		}
	}
	return nil
}

func seedPolicy() *ir.Policy {
	ws := ir.VarWorkspaceRoot
	return &ir.Policy{
		Profile:        "workspace",
		Minimal:        &ir.Origin{Kind: ir.OriginConfig, Key: ":minimal"},
		WorkspaceRoots: []string{ws},
		Rules: []ir.Rule{
			{Path: ws, Access: ir.Write, Origin: ir.Origin{Kind: ir.OriginConfig, Key: ":project_roots/."}},
			{Path: ws + "/.git", Access: ir.Read, SkipIfMissing: true, Origin: ir.Origin{Kind: ir.OriginProtected}},
			{Path: ws + "/.codex", Access: ir.Read, Origin: ir.Origin{Kind: ir.OriginProtected}},
		},
		Globs: []ir.Glob{{Pattern: ws + "/**/*.env", Base: ws, MaxDepth: 3, Origin: ir.Origin{Kind: ir.OriginConfig}}},
	}
}

func TestSeedAgreesWithDecide(t *testing.T) {
	root := t.TempDir()
	conformance.MkTree(t, root, "proj/.env", "proj/a.txt", "proj/sub/x.env", "proj/sub/deep/y.env", "proj/sub/deep/deeper/z.env",
		"proj/.git/config", "proj/.git/hooks/deep/h.env", "home/notes.txt")
	proj := filepath.Join(root, "proj")
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: proj}, Platform: "windows"}
	pol := seedPolicy()
	plan, diags := Lower(pol, LowerOptions{})
	if diags.HasErrors() {
		t.Fatalf("seed policy refused: %v", diags)
	}
	if plan.PreferredMode != Elevated || !plan.Modes[Unelevated].Refused || plan.Modes[Elevated].Refused {
		t.Fatalf("preferred=%s unelevated refused=%v elevated refused=%v", plan.PreferredMode, plan.Modes[Unelevated].Refused, plan.Modes[Elevated].Refused)
	}
	var probes []probe
	for _, rel := range []string{"proj/a.txt", "proj/.env", "proj/sub/x.env", "proj/sub/deep/y.env", "proj/sub/deep/deeper/z.env",
		"proj/new.txt", "proj/newdir", "proj/.git/config", "proj/.git/hooks/deep/h.env", "proj/.codex/config.toml", "proj/.codex", "home/notes.txt", "tmp/t.txt"} {
		for _, op := range []ir.Op{ir.OpRead, ir.OpWrite} {
			probes = append(probes, probe{filepath.Join(root, rel), op})
		}
	}
	validate(t, "seed", plan, pol, env, probes)

	// What a user checks: the answers themselves, in the elevated mode.
	ev, err := NewEvaluator(plan, Elevated, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rel   string
		op    ir.Op
		allow bool
	}{
		{"proj/a.txt", ir.OpWrite, true},
		{"proj/.env", ir.OpRead, false},
		// Beyond the depth cap, but in the writable project, where the
		// sandbox could have moved it: denied all the same.
		{"proj/sub/deep/deeper/z.env", ir.OpRead, false},
		// Beyond the cap in read-only .git: the cap applies.
		{"proj/.git/hooks/deep/h.env", ir.OpRead, true},
		{"proj/.git/config", ir.OpWrite, false},
		{"proj/.git/config", ir.OpRead, true},
		{"proj/.codex/config.toml", ir.OpWrite, false},
		{"proj/.CODEX/config.toml", ir.OpWrite, false}, // case-insensitive
		{"home/notes.txt", ir.OpRead, false},
		{"tmp/t.txt", ir.OpWrite, false},
	} {
		got := ev.Decide(filepath.Join(root, c.rel), c.op)
		if got.Allowed != c.allow {
			t.Errorf("%s %s = %v, want %v (%s)", c.op, c.rel, got.Allowed, c.allow, got.Reason)
		}
	}
	if v := ev.Network("127.0.0.1", 8080); v.Allowed {
		t.Errorf("network off but loopback allowed: %s", v.Reason)
	}
	if v := ev.Network("93.184.216.34", 443); v.Allowed {
		t.Errorf("network off but remote allowed: %s", v.Reason)
	}
}

// randomWorld builds a random tree and policy. Names are lower case, so
// that no two paths differ only in case (one path on Windows, two here).
func randomWorld(t *testing.T, rng *rand.Rand) (*ir.Policy, ir.Env, []probe) {
	root := t.TempDir()
	names := []string{"a", "b", "c", "k.env", "x.key", ".git", ".codex", "d"}
	var paths []string
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		n := 1 + rng.Intn(3)
		for i := 0; i < n; i++ {
			name := names[rng.Intn(len(names))]
			p := filepath.Join(dir, name)
			if _, err := os.Lstat(p); err == nil {
				continue
			}
			if depth < 4 && rng.Intn(3) > 0 {
				if err := os.MkdirAll(p, 0o755); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
				walk(p, depth+1)
			} else {
				if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
		}
	}
	proj := filepath.Join(root, "proj")
	if err := os.MkdirAll(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	walk(proj, 1)
	walk(root, 1)
	// A few symlinks, inside and out.
	for i := 0; i < 2 && len(paths) > 1; i++ {
		target := paths[rng.Intn(len(paths))]
		link := filepath.Join(proj, fmt.Sprintf("l%d", i))
		if rng.Intn(2) == 0 {
			link += ".env"
		}
		if os.Symlink(target, link) == nil {
			paths = append(paths, link)
		}
	}
	// Missing paths next to existing ones.
	n := len(paths)
	for i := 0; i < n/2+1; i++ {
		paths = append(paths, filepath.Join(paths[rng.Intn(n)], names[rng.Intn(len(names))]))
	}
	paths = append(paths, root, proj, filepath.Join(proj, "new"))

	sym := func(p string) string { // some rules symbolic, some absolute
		if strings.HasPrefix(p, proj) && rng.Intn(2) == 0 {
			return ir.VarWorkspaceRoot + strings.TrimPrefix(p, proj)
		}
		return p
	}
	pol := &ir.Policy{Profile: "random", WorkspaceRoots: []string{ir.VarWorkspaceRoot}}
	if rng.Intn(4) > 0 {
		pol.Minimal = &ir.Origin{Kind: ir.OriginConfig, Key: ":minimal"}
	}
	accesses := []ir.Access{ir.Read, ir.Write, ir.Deny}
	if rng.Intn(4) == 0 {
		pol.Rules = append(pol.Rules, ir.Rule{Path: "/", Access: accesses[rng.Intn(3)], Origin: ir.Origin{Kind: ir.OriginConfig, Key: ":root"}})
	}
	if rng.Intn(3) == 0 {
		pol.Rules = append(pol.Rules, ir.Rule{Path: ir.VarHome, Access: accesses[rng.Intn(3)], Origin: ir.Origin{Kind: ir.OriginConfig, Key: "~"}})
	}
	pol.Rules = append(pol.Rules, ir.Rule{Path: ir.VarWorkspaceRoot, Access: accesses[rng.Intn(2)], Origin: ir.Origin{Kind: ir.OriginConfig}})
	for i, nr := 0, rng.Intn(7); i < nr; i++ {
		p := paths[rng.Intn(len(paths))]
		r := ir.Rule{Path: sym(p), Access: accesses[rng.Intn(3)], Origin: ir.Origin{Kind: ir.OriginConfig, Key: fmt.Sprint("r", i)}}
		switch rng.Intn(8) {
		case 0:
			r.Mandatory, r.Access = true, ir.Deny
			r.Origin.Kind = ir.OriginRequirement
		case 1:
			r.SkipIfMissing, r.Access = true, ir.Read
			r.Origin.Kind = ir.OriginProtected
		}
		pol.Rules = append(pol.Rules, r)
	}
	pats := []string{"/**/*.env", "/*.key", "/*/c", "/**/.git", "/a/**", "/**/b/*"}
	for i, ng := 0, rng.Intn(3); i < ng; i++ {
		base := ir.VarWorkspaceRoot
		if rng.Intn(3) == 0 {
			base = root
		}
		g := ir.Glob{Pattern: base + pats[rng.Intn(len(pats))], Base: base, MaxDepth: rng.Intn(4), Origin: ir.Origin{Kind: ir.OriginConfig}}
		g.Base = strings.TrimSuffix(ir.GlobBase(g.Pattern), "/a")
		if strings.HasSuffix(ir.GlobBase(g.Pattern), "/a") {
			g.Base = ir.GlobBase(g.Pattern)
		}
		if rng.Intn(5) == 0 {
			g.Mandatory = true
		}
		pol.Globs = append(pol.Globs, g)
	}
	if rng.Intn(2) == 0 {
		pol.Network.Mode = ir.NetworkFull
	}
	pol.Sort()
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: proj, ir.VarHome: root}, Platform: "windows"}
	var probes []probe
	for _, p := range paths {
		probes = append(probes, probe{p, ir.OpRead}, probe{p, ir.OpWrite})
	}
	return pol, env, probes
}

func TestRandomPoliciesAgreeWithDecide(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 40
	}
	total := 0
	for s := 0; s < seeds; s++ {
		rng := rand.New(rand.NewSource(int64(s)))
		pol, env, probes := randomWorld(t, rng)
		plan, _ := Lower(pol, LowerOptions{})
		total += validate(t, fmt.Sprintf("seed %d", s), plan, pol, env, probes)
		if t.Failed() {
			t.Logf("policy: %+v", pol)
			return
		}
	}
	if total < seeds*20 {
		t.Errorf("only %d probes compared over %d random worlds", total, seeds)
	}
	t.Logf("%d probes compared over %d random worlds (both modes)", total, seeds)
}
