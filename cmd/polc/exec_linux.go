package main

import (
	"os"

	"polc/runtime"
)

// The sandbox's pid 1 is polc itself (bwrap runs /proc/self/fd/N with
// runtime.InnerArg): catch it before the CLI is built. For polc exec,
// start catching the signals it forwards now, so that the registration
// overlaps compiling the profile.
func init() {
	if len(os.Args) > 1 && os.Args[1] == runtime.InnerArg {
		runtime.InnerMain()
	}
	if len(os.Args) > 1 && os.Args[1] == "exec" {
		runtime.PrepareSignals()
	}
}
