package seatbelt

import (
	"path/filepath"
	"strings"
	"testing"

	"polc/backends"
	"polc/compiler"
	"polc/internal/conformance"
	"polc/internal/netgen"
	"polc/ir"
)

// TestGoldenCasesAgreeWithDecide runs every case of the project's golden
// suite (golden/testdata) through the compiler and this backend, and
// checks the interpreter against ir.Decide on every path of the case's
// world, its explain probes, and a few system paths. Cases that do not
// compile (diagnostic cases) are skipped; the golden driver pins their
// output.
func TestGoldenCasesAgreeWithDecide(t *testing.T) {
	files, _ := filepath.Glob("../../golden/testdata/*.txtar")
	if len(files) == 0 {
		t.Skip("no golden cases")
	}
	compiled := 0
	for _, f := range files {
		in, err := conformance.ReadSections(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			root, w, opts := conformance.GoldenWorld(t, in)
			res := compiler.Compile(opts)
			if res.Policy == nil {
				t.Skip("does not compile (a diagnostics case)")
			}
			if _, diags := Lower(res.Policy, backends.Options{}); diags.HasErrors() {
				t.Fatalf("Lower: %v", diags.Err())
			}
			if in["macos"] == "" {
				t.Errorf("golden case has no macos section (its digest, or the artifact itself)")
			}
			paths := append(walkAll(t, root), "/usr/bin/env", "/etc/hosts", "/tmp/polc-x", root+"/etc-codex/x")
			for _, l := range strings.Split(in["explain"], "\n") {
				if _, p, ok := strings.Cut(strings.TrimSpace(l), " "); ok {
					paths = append(paths, w.HostPath(strings.TrimSpace(p)))
				}
			}
			validate(t, res.Policy, res.Env, paths)
			// The network: what leaves is what ir.DecideNet says.
			ev, _ := lowerEvalEnv(t, res.Policy, res.Env)
			for _, host := range append(netgen.Literals, "registry.pkg.example", "example.com", "a.b.example.com") {
				for _, method := range netgen.Methods {
					netgen.CheckEgress(t, ev, res.Policy, host, 443, method)
				}
			}
			compiled++
		})
	}
	if compiled == 0 {
		t.Fatal("no golden case compiled")
	}
	_ = ir.OpRead
}
