package rollout

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "polc/backends/bwrap"
	_ "polc/backends/seatbelt"
	_ "polc/backends/windows"
)

// benchCorpus writes n users' configs, each defining three profiles (one
// of them the default), no two alike: every user reads and writes paths
// of their own, as real configs do.
func benchCorpus(tb testing.TB, n int) (dir, oldReq, newReq string) {
	tb.Helper()
	dir = tb.TempDir()
	oldReq = filepath.Join(dir, "old.toml")
	newReq = filepath.Join(dir, "new.toml")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write(oldReq, "allowed_approval_policies = [\"on-request\", \"never\"]\n[permissions.filesystem]\ndeny_read = [\"~/.aws\"]\n")
	write(newReq, "allowed_approval_policies = [\"on-request\"]\n[permissions.filesystem]\ndeny_read = [\"~/.aws\", \"~/.ssh\", \"/srv/secrets/**/*.key\"]\n")
	corpus := filepath.Join(dir, "corpus")
	if err := os.Mkdir(corpus, 0o755); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		approval := "on-request"
		if i%3 == 0 {
			approval = "never"
		}
		write(filepath.Join(corpus, fmt.Sprintf("user%05d.toml", i)), fmt.Sprintf(`default_permissions = "dev"
approval_policy = %q

[permissions.dev]
extends = ":workspace"
[permissions.dev.filesystem]
"~/src/u%[2]d" = "write"
"~/.cache/u%[2]d" = "write"
":workspace_roots" = { "." = "write", "**/*.env" = "deny" }
[permissions.dev.network]
enabled = true

[permissions.review.filesystem]
":minimal" = "read"
":workspace_roots" = "read"
"/opt/tools/u%[2]d" = "read"

[permissions.ci]
extends = ":read-only"
[permissions.ci.filesystem]
"/var/ci/u%[2]d" = "write"
`, approval, i))
	}
	return corpus, oldReq, newReq
}

// BenchmarkRollout10k is the speed target: 10,000 configs with
// three profiles each, a baseline and new requirements, every platform.
// It reports the run's wall time in seconds (s/run) against the 10 s
// budget on 2 cores.
func BenchmarkRollout10k(b *testing.B) {
	corpus, oldReq, newReq := benchCorpus(b, 10000)
	b.ResetTimer()
	var last time.Duration
	for b.Loop() {
		start := time.Now()
		rep, d, err := Run([]string{corpus}, Options{Requirements: []string{newReq}, Baseline: []string{oldReq}})
		if err != nil || d.HasErrors() {
			b.Fatal(err, d)
		}
		last = time.Since(start)
		if n := rep.Summary.Profiles[Narrowed]; n != 30000 {
			b.Fatalf("want 30000 narrowed profiles, got %v", rep.Summary.Profiles)
		}
	}
	b.ReportMetric(last.Seconds(), "s/run")
}

func BenchmarkRollout300(b *testing.B) {
	corpus, oldReq, newReq := benchCorpus(b, 300)
	for b.Loop() {
		if _, _, err := Run([]string{corpus}, Options{Requirements: []string{newReq}, Baseline: []string{oldReq}}); err != nil {
			b.Fatal(err)
		}
	}
}
