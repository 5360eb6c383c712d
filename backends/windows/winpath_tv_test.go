package windows

import (
	"fmt"
	"math/rand"
	"path"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/bmatcuk/doublestar/v4"

	"polc/internal/globwalk"
	"polc/ir"
)

// fakeWinHost is a Windows file tree held in memory: paths in slash form
// with a drive letter, original case.
type fakeWinHost struct {
	paths map[string]string // Key → canonical slash path
}

func (h *fakeWinHost) env(ws string) ir.Env {
	return ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: ws}, Platform: "windows",
		// Windows resolves case and separators to the object: the
		// canonical spelling of an existing prefix, the rest as written.
		Resolve: func(p string) string {
			n := 0 // components below the deepest existing prefix
			for c := Key(p); ; n++ {
				if canon, ok := h.paths[c]; ok {
					if n == 0 {
						return canon
					}
					return canon + "/" + restCase(p, n)
				}
				par, ok := parentKey(c)
				if !ok {
					return strings.ReplaceAll(p, `\`, "/")
				}
				c = par
			}
		},
		Exists: func(p string) bool { _, ok := h.paths[Key(p)]; return ok },
	}
}

// restCase returns the last n components of p as written (slash form).
func restCase(p string, n int) string {
	parts := strings.Split(strings.ReplaceAll(p, `\`, "/"), "/")
	return strings.Join(parts[len(parts)-n:], "/")
}

// expand matches the globs against the fake tree as globwalk would: the
// canonical path below the base, within the depth cap or in a region
// where the cap is lifted (the nearest region at or above the path).
func (h *fakeWinHost) expand(globs []BoundGlob, regions []globwalk.Region) ([]GlobHit, error) {
	uncapped := func(k string) bool {
		best, up := -1, false
		for _, r := range regions {
			if rk := Key(r.Path); underKey(k, rk) && keyDepth(rk) >= best {
				best, up = keyDepth(rk), r.Uncapped
			}
		}
		return up
	}
	var out []GlobHit
	keys := make([]string, 0, len(h.paths))
	for k := range h.paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, g := range globs {
		base := Key(g.Base)
		for _, k := range keys {
			if k == base || !underKey(k, base) {
				continue
			}
			if g.MaxDepth > 0 && keyDepth(k)-keyDepth(base) > g.MaxDepth && !uncapped(k) {
				continue
			}
			p := h.paths[k]
			if ok, _ := doublestar.Match(g.Pattern, p); ok {
				out = append(out, GlobHit{Path: p, Glob: i})
			}
		}
	}
	return out, nil
}

// spell writes a path as a Windows user might: random case, backslashes,
// sometimes the \\?\ prefix.
func spell(rng *rand.Rand, p string) string {
	var b strings.Builder
	for _, r := range p {
		if rng.Intn(3) == 0 {
			r = unicode.ToUpper(r)
		}
		b.WriteRune(r)
	}
	s := b.String()
	if rng.Intn(2) == 0 {
		s = strings.ReplaceAll(s, "/", `\`)
		if rng.Intn(3) == 0 {
			s = `\\?\` + s
		}
	}
	return s
}

func TestRandomWindowsPathsAgreeWithDecide(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 40
	}
	compared := 0
	for s := 0; s < seeds; s++ {
		rng := rand.New(rand.NewSource(int64(1000 + s)))
		h := &fakeWinHost{paths: map[string]string{}}
		add := func(p string) {
			for c := p; ; c = path.Dir(c) {
				h.paths[Key(c)] = c
				if len(c) <= 3 {
					break
				}
			}
		}
		names := []string{"Src", "app", "Docs", "k.env", "id.Key", ".git", ".codex", "Out"}
		var all []string
		var grow func(dir string, depth int)
		grow = func(dir string, depth int) {
			for i, n := 0, 1+rng.Intn(3); i < n; i++ {
				p := dir + "/" + names[rng.Intn(len(names))]
				if _, dup := h.paths[Key(p)]; dup {
					continue
				}
				add(p)
				all = append(all, p)
				if depth < 4 && rng.Intn(2) == 0 {
					grow(p, depth+1)
				}
			}
		}
		ws := "C:/Src/App"
		add(ws)
		grow(ws, 1)
		grow("C:/Users/Dev", 1)
		all = append(all, ws, "C:/Users/Dev", "C:/Windows/System32/cmd.exe", "D:/data/x")
		n := len(all)
		for i := 0; i < n/2+1; i++ {
			all = append(all, all[rng.Intn(n)]+"/"+names[rng.Intn(len(names))])
		}

		pol := &ir.Policy{Profile: "win", Minimal: &ir.Origin{Kind: ir.OriginConfig}}
		accesses := []ir.Access{ir.Read, ir.Write, ir.Deny}
		pol.Rules = append(pol.Rules, ir.Rule{Path: ir.VarWorkspaceRoot, Access: ir.Write})
		for i, nr := 0, rng.Intn(6); i < nr; i++ {
			p := all[rng.Intn(len(all))]
			if strings.HasPrefix(p, "C:/Windows") {
				continue
			}
			if strings.HasPrefix(p, ws+"/") && rng.Intn(2) == 0 {
				p = ir.VarWorkspaceRoot + strings.TrimPrefix(p, ws)
			}
			r := ir.Rule{Path: p, Access: accesses[rng.Intn(3)], Origin: ir.Origin{Kind: ir.OriginConfig, Key: fmt.Sprint("r", i)}}
			if rng.Intn(6) == 0 {
				r.Mandatory, r.Access = true, ir.Deny
			}
			if rng.Intn(6) == 0 {
				r.SkipIfMissing, r.Access = true, ir.Read
			}
			pol.Rules = append(pol.Rules, r)
		}
		for _, pat := range []string{"/**/*.env", "/*/*.Key", "/**/.git"} {
			if rng.Intn(2) == 0 {
				pol.Globs = append(pol.Globs, ir.Glob{Pattern: ir.VarWorkspaceRoot + pat, Base: ir.VarWorkspaceRoot, MaxDepth: rng.Intn(3)})
			}
		}
		pol.Sort()
		plan, _ := Lower(pol, LowerOptions{})
		env := h.env(ws)
		dec, err := ir.NewDecider(pol, env)
		if err != nil {
			t.Fatal(err)
		}
		for mode, m := range plan.Modes {
			ev, err := NewEvaluator(plan, mode, env, h.expand)
			if err != nil {
				t.Fatal(err)
			}
			if err := ev.B.CheckOneKindPerSID(); err != nil {
				t.Fatalf("seed %d %s mode: %v", s, mode, err)
			}
			for _, p := range all {
				for _, op := range []ir.Op{ir.OpRead, ir.OpWrite} {
					want := dec.Decide(p, op)
					if want.Glob != nil && !env.Exists(want.GlobMatch) {
						continue
					}
					asked := spell(rng, p)
					got := ev.Decide(asked, op)
					compared++
					if got.Allowed == want.AllowedWithinCap {
						continue
					}
					pr := probe{p, op}
					if coveringGapFake(m.Gaps, env, pr, got.Allowed) || coveringGapFake(ev.B.Gaps, env, pr, got.Allowed) {
						continue
					}
					t.Fatalf("seed %d %s mode: %s %s (asked as %s): windows=%v ir=%v\n\twindows: %s\n\tir: %s\npolicy: %+v",
						s, mode, op, p, asked, got.Allowed, want.AllowedWithinCap, got.Reason, want.Reason(), pol.Rules)
				}
			}
		}
	}
	t.Logf("%d Windows-path probes compared", compared)
}

func coveringGapFake(gaps []Gap, env ir.Env, pr probe, winAllowed bool) bool {
	for _, g := range gaps {
		if g.Op != pr.op.String() || g.Refuses != winAllowed {
			continue
		}
		if g.Path == "/" || underKey(Key(pr.path), Key(env.Bindings.Bind(g.Path))) {
			return true
		}
	}
	return false
}
