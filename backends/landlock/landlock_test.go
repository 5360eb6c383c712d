package landlock

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/diag"
	"polc/ir"
)

// randomTree lays out a small random tree under root and returns every
// path in it.
func randomTree(t *testing.T, r *rand.Rand, root string) []string {
	names := []string{"a", "b", "src", "docs", "secrets", ".git", "x.env", "k.key", "notes.txt"}
	paths, dirs := []string{root}, []string{root}
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

var globVocab = []string{"/**/*.env", "/**/secrets", "/*.key", "/a/*"}

// randomPolicy writes few random rules (so that some are expressible
// under Landlock and some are not), protected names, and now and then a
// deny glob.
func randomPolicy(r *rand.Rand, root string, paths []string) *ir.Policy {
	ws := ir.VarWorkspaceRoot
	sym := func(p string) string { return ws + strings.TrimPrefix(p, root) }
	p := &ir.Policy{Profile: "random", WorkspaceRoots: []string{ws}}
	accesses := []ir.Access{ir.Read, ir.Write, ir.Deny}
	for i, n := 0, 1+r.IntN(3); i < n; i++ {
		path := paths[r.IntN(len(paths))]
		rule := ir.Rule{Path: sym(path), Access: accesses[r.IntN(3)], Origin: ir.Origin{Kind: ir.OriginConfig, Key: sym(path),
			Pos: diag.Pos{File: "config.toml", Line: i + 1, Col: 1}}}
		rule.Mandatory = rule.Access == ir.Deny && r.IntN(6) == 0
		p.Rules = append(p.Rules, rule)
	}
	if r.IntN(3) == 0 {
		for _, w := range p.Rules {
			if w.Access == ir.Write {
				p.Rules = append(p.Rules, ir.Rule{Path: w.Path + "/.git", Access: ir.Read, SkipIfMissing: r.IntN(2) == 0,
					Origin: ir.Origin{Kind: ir.OriginProtected, Key: ".git"}})
				break
			}
		}
	}
	if r.IntN(4) == 0 {
		g := globVocab[r.IntN(len(globVocab))]
		p.Globs = append(p.Globs, ir.Glob{Pattern: ws + g, Base: ir.GlobBase(ws + g), MaxDepth: r.IntN(3),
			Origin: ir.Origin{Kind: ir.OriginConfig, Pos: diag.Pos{File: "config.toml", Line: 9, Col: 1}}})
	}
	p.Sort()
	return p
}

// TestEvaluatorAgreesWithDecide is translation validation: on random
// trees and policies, every policy Lower accepts is enforced by its
// payload exactly as ir.Decide says (on every path of the tree and a new
// name in each directory), and every refusal names a path where the
// grants alone would allow what Decide denies. Both kinds must occur.
func TestEvaluatorAgreesWithDecide(t *testing.T) {
	accepted, refused := 0, 0
	for seed := uint64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		root, _ := filepath.EvalSymlinks(t.TempDir())
		paths := randomTree(t, r, root)
		pol := randomPolicy(r, root, paths)
		env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: root}, Platform: "linux"}
		dec, err := ir.NewDecider(pol, env)
		if err != nil {
			t.Fatal(err)
		}
		out, conflicts := Lower(pol, env)
		if len(conflicts) > 0 {
			refused++
			// The grants alone, as Landlock would have them.
			all := &Payload{Format: Format}
			for _, rule := range pol.Rules {
				h := ir.ResolvePath(env.Bindings.Bind(rule.Path))
				if (rule.Access == ir.Read || rule.Access == ir.Write) && ir.Exists(h) {
					all.Grants = append(all.Grants, Grant{Path: h, Access: rule.Access})
				}
			}
			ev := NewEvaluator(all, nil)
			for _, c := range conflicts {
				if c.Pos.File == "" && c.Code != diag.LandlockProtectedMetadata {
					t.Errorf("seed %d: conflict without a location: %+v", seed, c)
				}
				if c.Witness == "" {
					if c.Code != diag.LandlockGlobUnderGrant {
						t.Errorf("seed %d: conflict without a witness: %+v", seed, c)
					}
					continue
				}
				present := env
				present.Exists = func(p string) bool {
					fi, err := os.Stat(filepath.Dir(p))
					return ir.Exists(p) || err == nil && fi.IsDir()
				}
				d, _ := ir.Decide(pol, present, c.Witness, c.Op)
				if d.Allowed || !ev.Decide(c.Witness, c.Op).Allowed {
					t.Errorf("seed %d: conflict %s at %s (%s) is no disagreement: Decide %v, grants %v", seed, c.Code, c.Witness, c.Op, d.Allowed, ev.Decide(c.Witness, c.Op).Allowed)
				}
			}
			continue
		}
		accepted++
		ev := NewEvaluator(out, nil)
		var probes []string
		for _, p := range paths {
			probes = append(probes, p)
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				probes = append(probes, filepath.Join(p, fmt.Sprintf("new%d", r.IntN(100))))
			}
		}
		for _, p := range probes {
			for _, op := range []ir.Op{ir.OpRead, ir.OpWrite} {
				want := dec.Decide(p, op)
				got := ev.Decide(p, op)
				if got.Allowed != want.AllowedWithinCap || got.Allowed != want.Allowed {
					t.Errorf("seed %d: %s %s: Landlock %v (%s), Decide %v (%s)\nrules %+v\nglobs %+v", seed, op, strings.TrimPrefix(p, root),
						got.Allowed, got.Reason, want.Allowed, want.Reason(), pol.Rules, pol.Globs)
				}
			}
		}
	}
	t.Logf("accepted %d, refused %d of 300 random policies", accepted, refused)
	if accepted < 30 || refused < 30 {
		t.Fatalf("accepted %d, refused %d of 300: the generator no longer exercises both", accepted, refused)
	}
}

func rule(path string, a ir.Access, line int) ir.Rule {
	return ir.Rule{Path: path, Access: a, Origin: ir.Origin{Kind: ir.OriginConfig, Key: path, Pos: diag.Pos{File: "config.toml", Line: line, Col: 1}}}
}

func TestLowerRefusals(t *testing.T) {
	root, _ := filepath.EvalSymlinks(t.TempDir())
	for _, d := range []string{"proj/src", "proj/.git", "home"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ws := ir.VarWorkspaceRoot
	env := ir.Env{Bindings: ir.Bindings{ws: filepath.Join(root, "proj")}}
	cases := []struct {
		name string
		pol  ir.Policy
		code diag.Code // "" accepted
		line int
	}{
		{"read-only", ir.Policy{Rules: []ir.Rule{rule("/", ir.Read, 1)}, Network: ir.Network{Mode: ir.NetworkNone}}, "", 0},
		{"write under read", ir.Policy{Rules: []ir.Rule{rule("/", ir.Read, 1), rule(ws, ir.Write, 2)}}, "", 0},
		{"deny under read", ir.Policy{Rules: []ir.Rule{rule("/", ir.Read, 1), rule(ws+"/src", ir.Deny, 2)}}, diag.LandlockNarrowerUnderGrant, 2},
		{"read under write", ir.Policy{Rules: []ir.Rule{rule(ws, ir.Write, 1), rule(ws+"/src", ir.Read, 3)}}, diag.LandlockNarrowerUnderGrant, 3},
		{"deny above grant", ir.Policy{Rules: []ir.Rule{rule("/", ir.Deny, 1), rule(ws, ir.Write, 2)}}, "", 0},
		{"mandatory deny above grant", ir.Policy{Rules: []ir.Rule{{Path: root, Access: ir.Deny, Mandatory: true,
			Origin: ir.Origin{Kind: ir.OriginRequirement, Pos: diag.Pos{File: "requirements.toml", Line: 4, Col: 1}}}, rule(ws, ir.Write, 2)}}, diag.LandlockMandatoryDeny, 4},
		{"protected .git", ir.Policy{Rules: []ir.Rule{rule(ws, ir.Write, 5), {Path: ws + "/.codex", Access: ir.Read, SkipIfMissing: true,
			Origin: ir.Origin{Kind: ir.OriginProtected, Key: ".codex", Pos: diag.Pos{File: "config.toml", Line: 5, Col: 1}}}}}, diag.LandlockProtectedMetadata, 5},
		{"glob under grant", ir.Policy{Rules: []ir.Rule{rule(ws, ir.Read, 1)}, Globs: []ir.Glob{{Pattern: ws + "/**/*.env", Base: ws,
			Origin: ir.Origin{Kind: ir.OriginConfig, Pos: diag.Pos{File: "config.toml", Line: 7, Col: 1}}}}}, diag.LandlockGlobUnderGrant, 7},
		{"glob beside grant", ir.Policy{Rules: []ir.Rule{rule(ws+"/src", ir.Read, 1)}, Globs: []ir.Glob{{Pattern: root + "/home/**/*.env", Base: root + "/home"}}}, "", 0},
		{"proxy", ir.Policy{Rules: []ir.Rule{rule("/", ir.Read, 1)}, Network: ir.Network{Mode: ir.NetworkProxy,
			Origin: ir.Origin{Kind: ir.OriginConfig, Pos: diag.Pos{File: "config.toml", Line: 8, Col: 1}}}}, diag.LandlockProxyNetwork, 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.pol.Network.Mode == "" {
				c.pol.Network.Mode = ir.NetworkNone
			}
			out, conflicts := Lower(&c.pol, env)
			if c.code == "" {
				if len(conflicts) > 0 || out == nil {
					t.Fatalf("refused: %+v", conflicts)
				}
				return
			}
			if len(conflicts) == 0 {
				t.Fatalf("accepted: %+v", out)
			}
			if conflicts[0].Code != c.code || conflicts[0].Pos.Line != c.line {
				t.Fatalf("got %s at %s (%s), want %s at line %d", conflicts[0].Code, conflicts[0].Pos, conflicts[0].Msg, c.code, c.line)
			}
		})
	}
}

func TestMinABI(t *testing.T) {
	root, _ := filepath.EvalSymlinks(t.TempDir())
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: root}}
	for _, c := range []struct {
		rules []ir.Rule
		want  int
	}{
		{nil, 1},
		{[]ir.Rule{rule(ir.VarWorkspaceRoot, ir.Write, 1)}, 2},
		{[]ir.Rule{rule("/", ir.Read, 1), rule(ir.VarWorkspaceRoot, ir.Write, 2)}, 3},
	} {
		out, conflicts := Lower(&ir.Policy{Rules: c.rules, Network: ir.Network{Mode: ir.NetworkNone}}, env)
		if len(conflicts) > 0 {
			t.Fatal(conflicts)
		}
		if out.MinABI != c.want {
			t.Errorf("%v: MinABI %d, want %d (%s)", c.rules, out.MinABI, c.want, out.Need)
		}
		b, _ := out.Encode()
		if _, err := Decode(b); err != nil {
			t.Error(err)
		}
	}
}
