package main

import (
	"os"

	"polc/hostprobe"
)

// The probes of polc doctor and of polc exec's failure diagnosis start
// children from polc's own executable: catch them before the CLI.
func init() {
	if len(os.Args) > 1 && os.Args[1] == hostprobe.ChildArg {
		hostprobe.ChildMain()
	}
}
