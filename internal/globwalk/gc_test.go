package globwalk

import (
	"runtime/debug"
	"testing"
)

// TestHoldGC: the collector is off from the first hold to the last
// release, under the launch's limit, and the settings found before are
// back afterwards; a release called twice counts once.
func TestHoldGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(150))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 40))
	a := holdGC()
	b := holdGC()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC percent %d while held, want off", p)
	}
	if l := debug.SetMemoryLimit(-1); l != launchHeapLimit {
		t.Fatalf("memory limit %d while held, want %d", l, launchHeapLimit)
	}
	a()
	a()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC percent %d with one hold left, want off", p)
	}
	b()
	if p := debug.SetGCPercent(-1); p != 150 {
		t.Fatalf("GC percent %d after the last release, want 150", p)
	}
	debug.SetGCPercent(150)
	if l := debug.SetMemoryLimit(-1); l != 1<<40 {
		t.Fatalf("memory limit %d after the last release, want it back", l)
	}
}

// TestDeferredExpansionHoldsGC: a deferred expansion holds the
// collector off until its Verify returns.
func TestDeferredExpansionHoldsGC(t *testing.T) {
	_, pats, opts, _ := indexWorld(t)
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	res := launchExpand(t, pats, opts)
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC percent %d after the expansion, want off until Verify", p)
	}
	must(t, res.Verify(nil))
	if p := debug.SetGCPercent(100); p != 100 {
		t.Fatalf("GC percent %d after Verify, want 100 back", p)
	}
}
