package seatbelt

import (
	"fmt"
	"testing"

	"polc/backends"
	"polc/ir"
)

// bigPolicy is a 1,000-rule policy: nested project rules of every access,
// a few home and absolute rules, protected metadata, globs, :minimal.
func bigPolicy() *ir.Policy {
	ws := ir.VarWorkspaceRoot
	p := &ir.Policy{Profile: "big", Minimal: &ir.Origin{Kind: ir.OriginConfig}, Network: ir.Network{Mode: ir.NetworkNone}}
	p.Rules = append(p.Rules, ir.Rule{Path: ws, Access: ir.Write},
		ir.Rule{Path: ws + "/.git", Access: ir.Read, SkipIfMissing: true},
		ir.Rule{Path: ws + "/.codex", Access: ir.Read},
		ir.Rule{Path: ir.VarHome + "/.ssh", Access: ir.Deny},
		ir.Rule{Path: ir.VarHome + "/.cache", Access: ir.Write},
		ir.Rule{Path: "/opt/data", Access: ir.Read})
	for i := 0; len(p.Rules) < 1000; i++ {
		path := fmt.Sprintf("%s/pkg%d/mod%d/sub%d", ws, i%40, i%7, i)
		if i%3 == 0 {
			path = fmt.Sprintf("%s/pkg%d", ws, i%40)
		}
		p.Rules = append(p.Rules, ir.Rule{Path: path, Access: ir.Access(1 + i%3), Mandatory: i%97 == 0 && i%3 == 2})
	}
	for _, g := range []string{"/**/*.env", "/**/*.pem", "/secrets/**", "/**/id_*", "/build/*.key"} {
		p.Globs = append(p.Globs, ir.Glob{Pattern: ws + g, Base: ir.GlobBase(ws + g)})
	}
	p.Sort()
	return p
}

func BenchmarkLower1000Rules(b *testing.B) {
	p := bigPolicy()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		out, diags := Lower(p, backends.Options{})
		if diags.HasErrors() {
			b.Fatal(diags.Err())
		}
		size = len(out.Files["sb"])
	}
	b.ReportMetric(float64(size), "profile-bytes")
}

func BenchmarkBindAndInterpret1000Rules(b *testing.B) {
	p := bigPolicy()
	out, _ := Lower(p, backends.Options{})
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: "/Users/u/proj", ir.VarHome: "/Users/u"},
		Resolve: func(s string) string { return s }, Exists: func(string) bool { return true }}
	for b.Loop() {
		if _, err := NewEvaluator(out.Payload, env); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBigPolicyLowers keeps the benchmark's policy honest: it lowers, its
// profile parses with every string under 1 KiB, and it agrees with
// ir.Decide on a sample of paths.
func TestBigPolicyLowers(t *testing.T) {
	p := bigPolicy()
	root := t.TempDir()
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: root + "/proj", ir.VarHome: root + "/home"}}
	var paths []string
	for i := 0; i < 300; i += 7 {
		paths = append(paths, fmt.Sprintf("%s/proj/pkg%d/mod%d/sub%d/f.txt", root, i%40, i%7, i),
			fmt.Sprintf("%s/proj/pkg%d/x.env", root, i%40), fmt.Sprintf("%s/proj/pkg%d/a", root, i%40))
	}
	paths = append(paths, root+"/home/.ssh/id", root+"/home/.cache/x", "/opt/data/x", root+"/proj/secrets/a", root+"/proj/build/a.key")
	if n := validate(t, p, env, paths); n < 200 {
		t.Fatalf("%d comparisons", n)
	}
}

// BenchmarkBind1000Rules is the shim's launch-time work on macOS: binding
// every parameter and checking the layout (no SBPL parsing).
func BenchmarkBind1000Rules(b *testing.B) {
	out, _ := Lower(bigPolicy(), backends.Options{})
	pl, err := Decode(out.Payload)
	if err != nil {
		b.Fatal(err)
	}
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: "/Users/u/proj", ir.VarHome: "/Users/u"},
		Resolve: func(s string) string { return s }, Exists: func(string) bool { return true }}
	for b.Loop() {
		if _, err := Bind(pl, env); err != nil {
			b.Fatal(err)
		}
	}
}
