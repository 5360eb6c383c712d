package main

// The backends register themselves with polc/backends.
import (
	_ "polc/backends/bwrap"
	_ "polc/backends/seatbelt"
	_ "polc/backends/windows"
)
