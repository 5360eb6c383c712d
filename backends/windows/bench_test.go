package windows

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"polc/ir"
)

func BenchmarkLower(b *testing.B) {
	pol := seedPolicy()
	b.ReportAllocs()
	for b.Loop() {
		Lower(pol, LowerOptions{})
	}
}

// benchWorld is a project of n files in 10-wide directories, 1 in 20 a
// .env file.
func benchWorld(b *testing.B, n int) string {
	root := b.TempDir()
	proj := filepath.Join(root, "proj")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("f%d.txt", i)
		if i%20 == 0 {
			name = fmt.Sprintf("f%d.env", i)
		}
		p := filepath.Join(proj, fmt.Sprint(i/1000), fmt.Sprint(i/100%10), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return proj
}

// BenchmarkBind is what the runtime does at every launch before it
// writes ACEs: bind the plan and expand the deny glob over 10,000 files.
func BenchmarkBind(b *testing.B) {
	proj := benchWorld(b, 10000)
	plan, _ := Lower(seedPolicy(), LowerOptions{})
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: proj}, Platform: "windows"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := plan.Bind(Elevated, env, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecide is one modelled access check (explain, validation).
func BenchmarkDecide(b *testing.B) {
	proj := benchWorld(b, 1000)
	plan, _ := Lower(seedPolicy(), LowerOptions{})
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: proj}, Platform: "windows"}
	ev, err := NewEvaluator(plan, Elevated, env, nil)
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(proj, "0", "5", "f512.txt")
	b.ReportAllocs()
	for b.Loop() {
		ev.Decide(p, ir.OpWrite)
	}
}
