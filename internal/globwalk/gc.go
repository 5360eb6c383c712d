package globwalk

import (
	"runtime/debug"
	"sync"
	"time"
)

// A launch's deferred expansion allocates the decoded tree (about 120
// bytes a directory) in one burst while the sandbox is set up, and keeps
// all of it until Verify: a collection then would scan the growing tree,
// with a worker of its own on one of the few cores bubblewrap and the
// mask stage need, and free nothing. So from a deferred expansion until
// a moment after its Verify returns (gcResumeDelay: the command has
// started by then) the collector is off, under a memory limit
// (launchHeapLimit, or the process's own if lower) at which it runs
// anyway. Resumed at once, it would start a collection at once (the
// heap is then several times the goal of a process that has not
// collected yet), beside the command's start. A process that never
// calls Verify keeps that setting: it then collects at the limit.

// launchHeapLimit bounds the heap while the collector is held off: a
// warm launch on a million files needs about 30 MiB.
const launchHeapLimit = 48 << 20

// gcResumeDelay is how long after Verify the collector stays off.
var gcResumeDelay = 500 * time.Millisecond

var gcHold struct {
	sync.Mutex
	n            int
	percent      int
	limit        int64
	limitChanged bool
}

// holdGC turns the collector off until the returned release is called
// (once; later calls do nothing). Holds nest: the last release restores
// the settings the first hold found.
func holdGC() (release func()) {
	g := &gcHold
	g.Lock()
	defer g.Unlock()
	if g.n == 0 {
		g.limit = debug.SetMemoryLimit(-1)
		g.limitChanged = g.limit > launchHeapLimit
		if g.limitChanged {
			debug.SetMemoryLimit(launchHeapLimit)
		}
		g.percent = debug.SetGCPercent(-1)
	}
	g.n++
	return sync.OnceFunc(func() {
		g.Lock()
		defer g.Unlock()
		if g.n--; g.n == 0 {
			debug.SetGCPercent(g.percent)
			if g.limitChanged {
				debug.SetMemoryLimit(g.limit)
			}
		}
	})
}
