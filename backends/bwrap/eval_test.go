package bwrap

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"

	"polc/backends"
	"polc/ir"
)

// randomTree lays out a small random tree of directories and files under
// root and returns every path in it.
func randomTree(t *testing.T, r *rand.Rand, root string) []string {
	names := []string{"a", "b", "src", "docs", "secrets", ".git", "x.env", "id_rsa", "k.key", "notes.txt"}
	paths := []string{root}
	dirs := []string{root}
	for i := 0; i < 25; i++ {
		parent := dirs[r.IntN(len(dirs))]
		if ir.Depth(parent)-ir.Depth(root) >= 4 {
			continue
		}
		p := filepath.Join(parent, names[r.IntN(len(names))])
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if r.IntN(2) == 0 && !strings.Contains(filepath.Base(p), ".") {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, p)
		} else if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

var globVocab = []string{"/**/*.env", "/**/secrets", "/*.key", "/**/id_*", "/a/*", "/**/docs/**"}

// randomPolicy writes random rules on existing paths of the tree.
func randomPolicy(r *rand.Rand, root string, paths []string) *ir.Policy {
	ws := ir.VarWorkspaceRoot
	sym := func(p string) string { return ws + strings.TrimPrefix(p, root) }
	p := &ir.Policy{Profile: "random", WorkspaceRoots: []string{ws}}
	if r.IntN(2) == 0 {
		p.Minimal = &ir.Origin{Kind: ir.OriginConfig}
	}
	if r.IntN(3) == 0 {
		p.Rules = append(p.Rules, ir.Rule{Path: "/", Access: ir.Read})
	}
	accesses := []ir.Access{ir.Read, ir.Write, ir.Deny}
	for i, n := 0, 1+r.IntN(6); i < n; i++ {
		path := paths[r.IntN(len(paths))]
		p.Rules = append(p.Rules, ir.Rule{Path: sym(path), Access: accesses[r.IntN(3)], Mandatory: r.IntN(8) == 0})
	}
	for i := range p.Rules {
		if p.Rules[i].Access != ir.Deny {
			p.Rules[i].Mandatory = false
		}
	}
	for i, n := 0, r.IntN(3); i < n; i++ {
		g := globVocab[r.IntN(len(globVocab))]
		p.Globs = append(p.Globs, ir.Glob{Pattern: ws + g, Base: ir.GlobBase(ws + g), MaxDepth: r.IntN(4)})
	}
	p.Sort()
	return p
}

func matchesAnyGlob(d *ir.Policy, env ir.Env, path string) bool {
	for _, g := range d.Globs {
		pat := env.Bindings.Bind(g.Pattern)
		if ok, _ := doublestar.Match(pat, path); ok {
			return true
		}
	}
	return false
}

// TestEvaluatorAgreesWithDecide is translation validation on random
// policies and trees: reading the lowered artifact back must give
// ir.Decide's answer as Linux enforces it (AllowedWithinCap: matches
// beyond the scan depth stay readable). Excluded by construction, and
// documented in the package doc: rules on missing paths (a missing write
// root grants nothing) and new files matching a glob (globs are a
// snapshot). Symlinks: TestEvaluatorAgreesWithDecideThroughSymlinks.
func TestEvaluatorAgreesWithDecide(t *testing.T) {
	b := Backend
	for seed := uint64(1); seed <= 100; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		root := t.TempDir()
		root, _ = filepath.EvalSymlinks(root)
		paths := randomTree(t, r, root)
		pol := randomPolicy(r, root, paths)
		env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: root}, Platform: "linux"}
		out, diags := b.Lower(pol, backends.Options{})
		if diags.HasErrors() {
			t.Fatalf("seed %d: lower: %v", seed, diags)
		}
		ev, err := b.Evaluator(out.Payload, env, backends.Options{})
		if err != nil {
			t.Fatalf("seed %d: evaluator: %v", seed, err)
		}
		dec, err := ir.NewDecider(pol, env)
		if err != nil {
			t.Fatal(err)
		}
		// What runs: the arguments of both launches, read back by the
		// simulator (the direct launch's masks by bwrap, the mask
		// stage's after them).
		plan := ev.(*Evaluator).Plan()
		sims := map[string]*argSim{}
		for _, stage := range []bool{false, true} {
			var masks []Mask
			if stage {
				masks = plan.Masks
			}
			args, _ := plan.LaunchArgs(stage, 7)
			sim, err := simulateArgs(args, masks)
			if err != nil {
				t.Fatalf("seed %d: simulating the launch (stage %v): %v", seed, stage, err)
			}
			sims[map[bool]string{false: "direct", true: "mask stage"}[stage]] = sim
		}
		var probes []string
		for _, p := range paths {
			probes = append(probes, p)
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				n := filepath.Join(p, fmt.Sprintf("new%d", r.IntN(100)))
				if !matchesAnyGlob(pol, env, n) {
					probes = append(probes, n)
				}
			}
		}
		for _, p := range probes {
			for _, op := range []ir.Op{ir.OpRead, ir.OpWrite} {
				want := dec.Decide(p, op)
				got := ev.Decide(p, op)
				if got.Allowed != want.AllowedWithinCap {
					t.Errorf("seed %d: %s %s: evaluator %v (%s), Decide %v (%s)\npolicy: %+v\nglobs: %+v",
						seed, op, strings.TrimPrefix(p, root), got.Allowed, got.Reason, want.AllowedWithinCap, want.Reason(), pol.Rules, pol.Globs)
				}
				for launch, sim := range sims {
					acc := sim.Access(ir.ResolvePath(p))
					if ok := acc == ir.Write || acc == ir.Read && op == ir.OpRead; ok != want.AllowedWithinCap {
						t.Errorf("seed %d: %s %s: the %s launch's bwrap arguments give %v, Decide %v (%s)\nargs: %q",
							seed, op, strings.TrimPrefix(p, root), launch, acc, want.AllowedWithinCap, want.Reason(), sim.args)
					}
				}
			}
		}
	}
}

// TestEvaluatorNeverLooserOnMissingPaths: rules on paths that do not
// exist may make Linux stricter than ir.Decide, never looser.
func TestEvaluatorNeverLooserOnMissingPaths(t *testing.T) {
	b := Backend
	for seed := uint64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		root, _ := filepath.EvalSymlinks(t.TempDir())
		paths := randomTree(t, r, root)
		var withMissing []string
		for _, p := range paths {
			withMissing = append(withMissing, p, filepath.Join(p, "missing"), filepath.Join(p, "gone", "deeper"))
		}
		pol := randomPolicy(r, root, withMissing)
		env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: root}, Platform: "linux"}
		out, diags := b.Lower(pol, backends.Options{})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		ev, err := b.Evaluator(out.Payload, env, backends.Options{})
		if err != nil {
			t.Fatal(err)
		}
		dec, _ := ir.NewDecider(pol, env)
		for _, p := range withMissing {
			ops := []ir.Op{ir.OpRead, ir.OpWrite}
			if _, err := os.Lstat(p); err != nil {
				// A missing path can only be created (then read back):
				// judge the creation, where the parent exists, unless a
				// deny glob matches it (globs are a snapshot).
				fi, err := os.Stat(filepath.Dir(p))
				if err != nil || !fi.IsDir() || matchesAnyGlob(pol, env, p) {
					continue
				}
				ops = []ir.Op{ir.OpWrite}
			}
			for _, op := range ops {
				if got := ev.Decide(p, op); got.Allowed && !dec.Decide(p, op).AllowedWithinCap {
					t.Errorf("seed %d: %s %s allowed on Linux (%s) but denied by Decide (%s)\nrules %+v", seed, op, strings.TrimPrefix(p, root), got.Reason, dec.Decide(p, op).Reason(), pol.Rules)
				}
			}
		}
	}
}
