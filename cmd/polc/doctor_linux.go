package main

import "polc/hostprobe"

// The probes of polc doctor and of polc exec's failure diagnosis start
// children from polc's own executable: catch them before the CLI.
func init() { hostprobe.CatchChild() }
