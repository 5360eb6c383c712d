package hugeheap

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page where base pages are
// 4 KiB (amd64, and arm64 with 4 KiB pages).
const hugePage = 2 << 20

// Not in package syscall.
const (
	madvHugepage = 14
	madvCollapse = 25
)

var (
	// probe is a heap object: where it lands is where the heap is filling.
	probe *[16]byte
	// result is what the collapse at init returned.
	result error = errNotTried
)

func init() {
	if syscall.Getpagesize() != 4096 || disabled() {
		return
	}
	result = advise()
}

// advise marks the 2 MiB range the heap is filling, and the next, for
// huge pages, and collapses the first into one now.
func advise() error {
	probe = new([16]byte)
	start := uintptr(unsafe.Pointer(probe)) &^ (hugePage - 1)
	// Advice only: an error (no THP, an old kernel, the next range not
	// mapped yet) leaves the heap as the runtime made it.
	syscall.RawSyscall(syscall.SYS_MADVISE, start, 2*hugePage, madvHugepage)
	if _, _, e := syscall.RawSyscall(syscall.SYS_MADVISE, start, hugePage, madvCollapse); e != 0 {
		return e
	}
	return nil
}

// disabled reports whether GODEBUG sets disablethp=1 (the runtime then
// marks its heap MADV_NOHUGEPAGE, which the advice here would undo). As
// in the runtime, the last setting of a name wins.
func disabled() bool {
	v, _ := syscall.Getenv("GODEBUG")
	off := false
	for v != "" {
		f := v
		v = ""
		for i := 0; i < len(f); i++ {
			if f[i] == ',' {
				f, v = f[:i], f[i+1:]
				break
			}
		}
		if len(f) >= 11 && f[:11] == "disablethp=" {
			off = f[11:] == "1"
		}
	}
	return off
}
