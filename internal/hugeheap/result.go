package hugeheap

import "errors"

// errNotTried is Result where nothing was asked of the kernel: another
// system than Linux, base pages other than 4 KiB, or GODEBUG=disablethp=1.
var errNotTried = errors.New("not tried")

// Result is nil when the heap's first range was collapsed into a huge
// page at init, and otherwise why not (the kernel's error, or not tried).
// polc reports it when a launch is debugged.
func Result() error { return result }
