package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"polc/backends"
	"polc/backends/bwrap"
	"polc/compiler"
	"polc/conformance"
)

// BenchmarkExecPrepare is what `polc exec` does in its own process
// before bwrap starts, on the seed profile of bench/exec.sh: compile
// the config, lower it for Linux, decode the artifact and plan the
// launch on this host (deny globs expanded through the cache).
func BenchmarkExecPrepare(b *testing.B) {
	c := &conformance.Case{Config: seedConfig + "glob_scan_max_depth = 3\n",
		Tree: []string{"proj/.env", "proj/a.txt", "proj/sub/x.env", "proj/sub/deep/y.env", "proj/.git/HEAD"}}
	base := "/var/tmp/polc-e2e"
	os.MkdirAll(base, 0o755)
	root, err := os.MkdirTemp(base, "bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(root)
	w, err := c.Build(root)
	if err != nil {
		b.Fatal(err)
	}
	cache := filepath.Join(root, "cache")
	be, err := backends.Get("linux")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := compiler.Compile(compiler.Options{Dir: w.Proj, Profile: "workspace", ForExec: true, NoExpand: true,
			CodexHome: w.CodexHome, Home: w.Home, Tmpdir: w.Tmp, SystemDir: filepath.Join(root, "etc")})
		if res.Policy == nil {
			b.Fatal(res.Diags)
		}
		out, diags := be.Lower(res.Policy, backends.Options{})
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		art, err := bwrap.Decode(out.Payload)
		if err != nil {
			b.Fatal(err)
		}
		plan, err := bwrap.PlanHost(art, res.Env, bwrap.PlanOptions{GlobCacheDir: cache})
		if err != nil {
			b.Fatal(err)
		}
		if len(plan.Masks) != 3 {
			b.Fatalf("%d masks", len(plan.Masks))
		}
	}
}
