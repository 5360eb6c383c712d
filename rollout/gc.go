package rollout

import (
	"os"
	"runtime/debug"
)

// batchGCPercent is the collector's target for a whole run: a run
// allocates a great deal per config (six compiles, the diffs, the
// backends' checks) and keeps little of it (the report), so the default
// of 100 spends about a fifth of the run collecting. 200 halves that
// work for about half again the peak heap (some 300 MB for 10,000
// configs instead of 200 MB).
const batchGCPercent = 200

// BatchGC sets the collector for a run over a corpus and returns what
// restores the previous setting. polc rollout calls it around Run, and
// the benchmark does as polc rollout does. GOGC in the environment
// wins: then it changes nothing.
func BatchGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(batchGCPercent)
	return func() { debug.SetGCPercent(old) }
}
