package main

import (
	"os"

	"polc/shim"
)

// The Landlock stage is polc's own executable (shim.LandlockArg): catch
// it before the CLI is built.
func init() {
	if len(os.Args) > 1 && os.Args[1] == shim.LandlockArg {
		shim.LandlockMain()
	}
}
