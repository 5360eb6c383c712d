//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"sort"
	"testing"
	"time"

	"polc/internal/conformance"
)

// BenchmarkProxiedLaunchOverhead is what a proxy-only network adds to a
// launch: `polc exec -- /bin/true` under the same :workspace profile
// with the network off and with polc's proxy (egress proxy started, its
// sockets made in the sandbox by sockexec's program, which then execs
// the command), run alternately in each iteration. It reports both
// medians and their difference (target: at most 10 ms), measured side
// by side so the machine's noise hits both alike, and, for scale, the
// launch without network through polc's mask stage (which a proxied
// launch took before sockexec, and still takes with many masks).
func BenchmarkProxiedLaunchOverhead(b *testing.B) {
	conformance.NeedSandbox(b)
	none := `default_permissions = "net"
[permissions.net]
extends = ":workspace"
`
	_, wNone := benchWorld(b, &conformance.Case{Config: none, Tree: []string{"proj/a.txt"}})
	_, wProxy := benchWorld(b, &conformance.Case{Config: proxyConfig("full"), Tree: []string{"proj/a.txt"}})
	launch := func(w *conformance.World, stage string) time.Duration {
		cmd := exec.Command(polcBin, "exec", "-C", w.Proj, "--", "/bin/true")
		cmd.Env = append(append(os.Environ(), w.Env()...), stageEnv(stage)...)
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		return time.Since(t0)
	}
	var tNone, tInner, tProxy []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tNone = append(tNone, launch(wNone, ""))
		tInner = append(tInner, launch(wNone, "inner"))
		tProxy = append(tProxy, launch(wProxy, ""))
	}
	med := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[len(d)/2]) / float64(time.Millisecond)
	}
	mNone, mInner, mProxy := med(tNone), med(tInner), med(tProxy)
	b.ReportMetric(mNone, "ms-no-network")
	b.ReportMetric(mInner, "ms-no-network-stage")
	b.ReportMetric(mProxy, "ms-proxied")
	b.ReportMetric(mProxy-mNone, "ms-added")
}
