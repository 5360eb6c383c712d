//go:build !linux && !darwin && !windows

package shim

import (
	"runtime"

	"polc/diag"
)

// Run refuses: polc has no sandbox for this operating system.
func Run(l *Launch) (int, error) {
	return 0, failf(diag.NoSandboxForOS, "polc exec: no sandbox is available on %s (Linux, macOS and Windows are supported)", runtime.GOOS)
}
