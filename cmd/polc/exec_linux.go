package main

import (
	"os"

	"polc/runtime"
)

// The sandbox's pid 1 is polc itself (bwrap runs /proc/self/fd/N with
// runtime.InnerArg): catch it before the CLI is built.
func init() {
	if len(os.Args) > 1 && os.Args[1] == runtime.InnerArg {
		runtime.InnerMain()
	}
}
