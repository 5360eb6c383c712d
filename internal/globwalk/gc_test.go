package globwalk

import (
	"runtime/debug"
	"testing"
	"time"
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
// collector off until gcResumeDelay after its Verify.
func TestDeferredExpansionHoldsGC(t *testing.T) {
	_, pats, opts, _ := indexWorld(t)
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	saved := gcResumeDelay
	gcResumeDelay = 50 * time.Millisecond
	defer func() { gcResumeDelay = saved }()
	res := launchExpand(t, pats, opts)
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC percent %d after the expansion, want off until Verify", p)
	}
	must(t, res.Verify(nil))
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC percent %d just after Verify, want off a moment longer", p)
	}
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetGCPercent(-1) != 100 {
		if time.Now().After(deadline) {
			t.Fatalf("the collector was not resumed after Verify")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
