package main

import (
	"os"

	// The sandbox's pid 1 in a launch through the mask stage is polc
	// itself (bwrap runs /proc/self/fd/N with maskstage.Arg): the
	// package's init runs the stage, early in polc's initialisation.
	_ "polc/internal/maskstage"
	// Early in initialisation, the heap on a huge page (see the package).
	_ "polc/internal/hugeheap"
	"polc/shim"
)

// For polc exec, start what every launch needs first now (the signals
// it forwards, Go's pidfd check), so that it overlaps compiling the
// profile.
func init() {
	if len(os.Args) == 3 && os.Args[1] == shim.WatchArg {
		// A glob cache's watcher, which a launch started.
		os.Exit(shim.ServeWatch(os.Args[2]))
	}
	if len(os.Args) > 1 && os.Args[1] == "exec" {
		shim.PrepareLaunch()
	}
}
