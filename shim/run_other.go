//go:build !linux && !darwin && !windows

package shim

import "runtime"

// Run refuses: polc has no sandbox for this operating system.
func Run(l *Launch) (int, error) {
	return 0, &Failure{Msg: "polc exec: no sandbox is available on " + runtime.GOOS + " (Linux, macOS and Windows are supported)"}
}
