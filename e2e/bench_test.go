package e2e

import (
	"os"
	"path/filepath"
	"polc/internal/benchtree"
	"testing"

	"polc/backends"
	"polc/backends/bwrap"
	"polc/compiler"
	"polc/internal/conformance"
	"polc/ir"
	"polc/lowering"
)

// benchWorld builds a case's world for a benchmark, under /var/tmp (the
// :workspace profile makes /tmp writable), removed when it ends.
func benchWorld(b *testing.B, c *conformance.Case) (root string, w *conformance.World) {
	b.Helper()
	base := "/var/tmp/polc-e2e"
	os.MkdirAll(base, 0o755)
	root, err := os.MkdirTemp(base, "bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(root) })
	if w, err = c.Build(root); err != nil {
		b.Fatal(err)
	}
	return root, w
}

// BenchmarkExecPrepare is what `polc exec` does in its own process
// before bwrap starts, on the seed profile of bench/exec.sh: compile
// the config, lower it for Linux (the typed artifact, never encoded) and
// plan the launch on this host (deny globs expanded through the cache).
func BenchmarkExecPrepare(b *testing.B) {
	c := &conformance.Case{Config: seedConfig + "glob_scan_max_depth = 3\n",
		Tree: []string{"proj/.env", "proj/a.txt", "proj/sub/x.env", "proj/sub/deep/y.env", "proj/.git/HEAD"}}
	root, w := benchWorld(b, c)
	cache := filepath.Join(root, "cache")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := compiler.Compile(compiler.Options{Dir: w.Proj, Profile: "workspace", ForExec: true, NoExpand: true,
			CodexHome: w.CodexHome, Home: w.Home, Tmpdir: w.Tmp, SystemDir: filepath.Join(root, "etc"),
			Host: compiler.NewHostCache()}) // as polc exec compiles
		if res.Policy == nil {
			b.Fatal(res.Diags)
		}
		r := lowering.LowerAll(res.Policy, []ir.Platform{ir.Linux}, backends.Options{NoPayload: true})[0]
		if d := r.Refusal(); d != nil {
			b.Fatal(d)
		}
		plan, err := bwrap.PlanHost(r.Output.Artifact.(*bwrap.Artifact), res.Env, bwrap.PlanOptions{GlobCacheDir: cache})
		if err != nil {
			b.Fatal(err)
		}
		if len(plan.Masks) != 3 {
			b.Fatalf("%d masks", len(plan.Masks))
		}
	}
}

// BenchmarkPlanLargeTree is the launch-time part of `polc exec` that
// depends on the project's size: PlanHost of the seed profile (project
// writable, **/*.env denied, glob_scan_max_depth = 3) with the 200,000-file
// tree as the project, cold (no glob cache) and warm (cache revalidated).
// Every .env file lies at depth 4, beyond the cap: the masks metric says
// how many the launch hides.
func BenchmarkPlanLargeTree(b *testing.B) {
	proj := benchtree.Dir(b)
	c := &conformance.Case{Config: seedConfig + "glob_scan_max_depth = 3\n"}
	root, w := benchWorld(b, c)
	res := compiler.Compile(compiler.Options{Dir: proj, Profile: "workspace", ForExec: true, NoExpand: true,
		CodexHome: w.CodexHome, Home: w.Home, Tmpdir: w.Tmp, SystemDir: filepath.Join(root, "etc")})
	if res.Policy == nil {
		b.Fatal(res.Diags)
	}
	r := lowering.LowerAll(res.Policy, []ir.Platform{ir.Linux}, backends.Options{NoPayload: true})[0]
	if d := r.Refusal(); d != nil {
		b.Fatal(d)
	}
	art := r.Output.Artifact.(*bwrap.Artifact)
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			opts := bwrap.PlanOptions{}
			if mode == "warm" {
				opts.GlobCacheDir = b.TempDir()
				if _, err := bwrap.PlanHost(art, res.Env, opts); err != nil {
					b.Fatal(err)
				}
			}
			var plan *bwrap.HostPlan
			var err error
			for b.Loop() {
				plan, err = bwrap.PlanHost(art, res.Env, opts)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(plan.Masks)), "masks")
		})
	}
}
