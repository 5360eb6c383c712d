package artifact

import (
	"polc/ir"
	"testing"
)

// BenchmarkBuildThreePlatforms packages one profile for every platform
// (the fake backends cost little, so this is the artifact layer's own
// share of polc build's 20 ms budget).
func BenchmarkBuildThreePlatforms(b *testing.B) {
	p := testPolicy()
	key := testKey(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		arts, d := Build(p, fakeLowerAll(b, p, ir.Platforms), BuildOptions{Version: "bench", SignKey: key})
		if d.HasErrors() || len(arts) != 3 {
			b.Fatal(d.Err())
		}
		for _, a := range arts {
			if _, err := a.Render(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecodeVerify is what polc exec --artifact pays before launch:
// strict decode, digest and signature check.
func BenchmarkDecodeVerify(b *testing.B) {
	a := mustBuild(b, testPolicy(), "linux")[0]
	key := testKey(b, 1)
	a.Sign(key)
	body, _ := a.Encode()
	trust := trustOf(key)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		e, err := Decode(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Verify(trust); err != nil {
			b.Fatal(err)
		}
	}
}
