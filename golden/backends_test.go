package golden_test

// Every registered backend's artifact becomes a section of each golden
// case; importing them here registers them.
import (
	_ "polc/backends/bwrap"
	_ "polc/backends/seatbelt"
	_ "polc/backends/windows"
)
