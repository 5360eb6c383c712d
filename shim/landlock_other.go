//go:build !linux

package shim

import "polc/diag"

// LandlockArg is argv[1] of the Linux child that applies Landlock.
const LandlockArg = "__polc-landlock-stage"

// LandlockABI is 0: Landlock is a Linux feature.
func LandlockABI() int { return 0 }

// RunLandlock refuses: Landlock mode exists on Linux only.
func RunLandlock(l *Launch, payload []byte) (int, error) {
	return 0, failf(diag.LandlockUnsupported, "Landlock mode (--landlock, features.use_legacy_landlock) runs on Linux only")
}

// LandlockMain is never reached off Linux.
func LandlockMain() { panic("shim: Landlock stage off Linux") }
