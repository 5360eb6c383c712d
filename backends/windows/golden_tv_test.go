package windows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/backends"
	"polc/compiler"
	"polc/internal/conformance"
	"polc/ir"

	win "polc/backends/windows"
)

// TestGoldenCasesWindows is translation validation over the worlds of the
// golden cases (golden/testdata): every path of the tree, its parent
// directories and a missing child, read and write, in both modes, must
// agree with ir.Decide within the depth cap unless a gap of the mode (or
// of the host) covers it. Cases the compiler refuses are skipped: the
// golden driver checks their diagnostics.
func TestGoldenCasesWindows(t *testing.T) {
	files, err := filepath.Glob("../../golden/testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no golden cases")
	}
	b := win.Backend
	validated := 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txtar")
		t.Run(name, func(t *testing.T) {
			in, err := conformance.ReadSections(f)
			if err != nil {
				t.Fatal(err)
			}
			root, _, opts := conformance.GoldenWorld(t, in)
			res := compiler.Compile(opts)
			if res.Policy == nil {
				return
			}
			out, _ := b.Lower(res.Policy, backends.Options{AllowUnenforceable: true})
			if out == nil {
				t.Fatal("no windows plan")
			}
			plan, err := win.Decode(out.Payload)
			if err != nil {
				t.Fatal(err)
			}
			env := res.Env
			env.Platform = "windows"
			dec, err := ir.NewDecider(res.Policy, env)
			if err != nil {
				t.Fatal(err)
			}
			paths := worldPaths(t, root)
			for mode, m := range plan.Modes {
				ev, err := win.NewEvaluator(plan, mode, env, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range paths {
					for _, op := range []ir.Op{ir.OpRead, ir.OpWrite} {
						ref := dec.Decide(p, op)
						if ref.Glob != nil && !ir.Exists(ref.GlobMatch) {
							continue // created after launch: no snapshot platform can deny it
						}
						got := ev.Decide(p, op)
						validated++
						if got.Allowed != ref.AllowedWithinCap && !gapCovers(m.Gaps, env, p, op, got.Allowed) && !gapCovers(ev.B.Gaps, env, p, op, got.Allowed) {
							t.Errorf("%s mode: %s %s: windows=%v ir(within cap)=%v\n\twindows: %s\n\tir: %s", mode, op, p, got.Allowed, ref.AllowedWithinCap, got.Reason, ref.Reason())
						}
					}
				}
			}
		})
	}
	t.Logf("%d golden-case probes validated", validated)
}

// worldPaths lists every path in the world plus a missing child of each
// directory.
func worldPaths(t *testing.T, root string) []string {
	var out []string
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		out = append(out, p)
		if info.IsDir() {
			out = append(out, filepath.Join(p, "polc-new"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
