package globwalk

import (
	"os"
	"testing"
	"time"

	"polc/internal/benchtree"
)

// The benchmarks run on the synthetic 200,000-file tree of
// internal/benchtree (10,420 directories, four levels, .env and .pem
// files sprinkled in).
func benchTree(b *testing.B) string { return benchtree.Dir(b) }

// benchGlobs are fifteen deny globs of the kind people write.
var benchGlobs = []string{
	"**/*.env", "**/*.pem", "**/*.key", "**/id_rsa*", "**/id_ed25519*",
	"**/.npmrc", "**/.pypirc", "**/*.p12", "**/*.pfx", "**/credentials*",
	"**/secrets/**", "**/.aws", "**/*.kdbx", "**/.netrc", "**/*secret*.json",
}

func benchPatterns(root string, n int) []Pattern {
	var ps []Pattern
	for _, g := range benchGlobs[:n] {
		ps = append(ps, Pattern{Pattern: root + "/" + g})
	}
	return ps
}

func runExpand(b *testing.B, pats []Pattern, opts Options) *Result {
	var res *Result
	cpu0 := cpuTime()
	for b.Loop() {
		var err error
		res, err = Expand(pats, opts)
		if err != nil {
			b.Fatal(err)
		}
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
	return res
}

func report(b *testing.B, res *Result) {
	b.ReportMetric(float64(len(res.Matches)), "matches")
	b.ReportMetric(float64(res.Stats.DirsRead), "dirs-listed")
	if res.Stats.Entries > 0 {
		b.ReportMetric(float64(res.Stats.Entries), "entries")
	}
}

// BenchmarkExpandCold1 is one **/*.env glob, no cache (the reference's
// `codex sandbox` takes about 0.35 s for this on such a tree).
func BenchmarkExpandCold1(b *testing.B) {
	root := benchTree(b)
	b.ReportAllocs()
	res := runExpand(b, benchPatterns(root, 1), Options{})
	report(b, res)
	if len(res.Matches) != 1200 {
		b.Fatalf("%d matches, want 1200 .env files", len(res.Matches))
	}
}

// BenchmarkExpandCold15 is fifteen globs in one walk: the bar is 1.3x
// BenchmarkExpandCold1.
func BenchmarkExpandCold15(b *testing.B) {
	root := benchTree(b)
	b.ReportAllocs()
	res := runExpand(b, benchPatterns(root, 15), Options{})
	report(b, res)
	if len(res.Matches) != 1200+400 {
		b.Fatalf("%d matches, want 1600", len(res.Matches))
	}
}

// BenchmarkExpandColdCap3 is one glob with glob_scan_max_depth 3 and
// beyond-cap reporting (what `polc check` runs).
func BenchmarkExpandColdCap3Report(b *testing.B) {
	root := benchTree(b)
	b.ReportAllocs()
	pats := benchPatterns(root, 1)
	pats[0].MaxDepth = 3
	res := runExpand(b, pats, Options{ReportBeyondCap: true})
	report(b, res)
	if len(res.BeyondCap) != 1200 {
		b.Fatalf("%d beyond cap, want 1000", len(res.BeyondCap))
	}
}

// BenchmarkExpandWarm1 and BenchmarkExpandWarm15 revalidate a cached
// expansion: the bar is a tenth of the cold figure.
func BenchmarkExpandWarm1(b *testing.B)  { benchWarm(b, 1) }
func BenchmarkExpandWarm15(b *testing.B) { benchWarm(b, 15) }

func benchWarm(b *testing.B, n int) {
	root := benchTree(b)
	opts := Options{CacheDir: b.TempDir(), CacheKey: testKey}
	pats := benchPatterns(root, n)
	if _, err := Expand(pats, opts); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	res := runExpand(b, pats, opts)
	report(b, res)
	if res.Stats.Cache != CacheHit {
		b.Fatalf("cache %q (%s), want hit", res.Stats.Cache, res.Stats.CacheNote)
	}
	b.ReportMetric(float64(res.Stats.DirsReused), "dirs-revalidated")
}

// BenchmarkExpandCold1Serial is BenchmarkExpandCold1 on one worker: the
// ratio of the two is what the pool (pool.go) buys on this machine.
func BenchmarkExpandCold1Serial(b *testing.B) {
	saved := walkers
	walkers = func() int { return 1 }
	defer func() { walkers = saved }()
	BenchmarkExpandCold1(b)
}

// BenchmarkLaunchWalk is what a launch does with the deny globs on a
// warm cache: the deferred expansion (the cache decoded, nothing
// stat-ed) and, once the mounts would be made, Verify (one stat of
// every cached directory, on every core). BenchmarkLaunchWalkCold is
// the same without a cache (a full walk, then Verify).
func BenchmarkLaunchWalk(b *testing.B)     { benchLaunch(b, benchTree(b), 1200, true) }
func BenchmarkLaunchWalkCold(b *testing.B) { benchLaunch(b, benchTree(b), 1200, false) }

// The same on the 1,000,000-file tree of benchtree.BuildLarge, when
// POLC_BENCH_LARGE_TREE names one (go run ./bench/mktree -large DIR;
// bench/scale.sh with POLC_BENCH_1M=1 runs the launches themselves).
func BenchmarkLaunchWalkLarge(b *testing.B) { benchLaunch(b, largeTree(b), benchtree.LargeEnv, true) }
func BenchmarkLaunchWalkLargeCold(b *testing.B) {
	benchLaunch(b, largeTree(b), benchtree.LargeEnv, false)
}

func largeTree(b *testing.B) string {
	dir := os.Getenv("POLC_BENCH_LARGE_TREE")
	if dir == "" {
		b.Skip("POLC_BENCH_LARGE_TREE is not set")
	}
	return dir
}

func benchLaunch(b *testing.B, root string, want int, warm bool) {
	pats := []Pattern{{Pattern: root + "/**/*.env", MaxDepth: 8}}
	opts := Options{Snapshot: true, Regions: []Region{{Path: root, Uncapped: true}}}
	if warm {
		opts.CacheDir, opts.CacheKey, opts.DeferRevalidation = b.TempDir(), testKey, true
		if _, err := Expand(pats, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	var res *Result
	var verify time.Duration
	cpu0 := cpuTime()
	for b.Loop() {
		expanded.Clear() // each iteration is a launch's first expansion
		var err error
		if res, err = Expand(pats, opts); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := res.Verify(nil); err != nil {
			b.Fatal(err)
		}
		verify += time.Since(t0)
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
	b.ReportMetric(float64(verify.Microseconds())/1000/float64(b.N), "verify-ms/op")
	b.ReportMetric(float64(res.Stats.DirsRead+res.Stats.DirsReused), "dirs")
	if warm && (!res.Stats.Deferred || res.Stats.DirsRead != 0) {
		b.Fatalf("deferred %v, %d listed: want a deferred hit", res.Stats.Deferred, res.Stats.DirsRead)
	}
	if len(res.Matches) != want {
		b.Fatalf("%d matches, want %d", len(res.Matches), want)
	}
}
