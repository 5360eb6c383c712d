package main

import (
	"os"

	"polc/shim"
)

// The sandbox's pid 1 is polc itself (bwrap runs /proc/self/fd/N with
// shim.InnerArg): catch it before the CLI is built. For polc exec,
// start catching the signals it forwards now, so that the registration
// overlaps compiling the profile.
func init() {
	if len(os.Args) > 1 && os.Args[1] == shim.InnerArg {
		shim.InnerMain()
	}
	if len(os.Args) > 1 && os.Args[1] == "exec" {
		shim.PrepareSignals()
	}
}
