//go:build !linux

package globwalk

import "unsafe"

// adviseHuge: huge pages are asked for on Linux only.
func adviseHuge(p unsafe.Pointer, n int) {}
