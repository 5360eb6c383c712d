//go:build !windows

package globwalk

import (
	"syscall"
	"time"
)

// cpuTime is this process's user+system CPU time. Benchmarks report it
// next to wall time because on a shared machine wall time measures the
// neighbours as much as the code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
