//go:build linux && (amd64 || arm64)

package hugeheap

import "unsafe"

// The package imports nothing with an init of its own, so that Go, which
// initialises packages in import-path order among those whose imports
// are done, runs its init among the very first: importing package
// syscall would make it wait for syscall, sync and internal/godebug,
// whose first heap pages (some 40 faults, 0.6 ms) would then be small
// ones. The system call and the environment are reached by linkname
// instead: syscall.RawSyscall and the runtime's syscall.runtime_envs are
// both kept by Go for such uses. Should a Go release refuse these links
// (the build fails, nothing silent), importing syscall instead costs
// only the later init: about 1% of a small launch here.

//go:linkname rawSyscall syscall.RawSyscall
func rawSyscall(trap, a1, a2, a3 uintptr) (r1, r2, errno uintptr)

//go:linkname runtimeEnvs syscall.runtime_envs
func runtimeEnvs() []string

// hugePage is the size of a transparent huge page where base pages are
// 4 KiB. With larger base pages (arm64 kernels with 16 or 64 KiB pages)
// huge pages are larger than the ranges advised here, and the advice has
// no effect.
const hugePage = 2 << 20

// From the kernel's mman-common.h and errno-base.h.
const (
	madvHugepage = 14
	madvCollapse = 25
	eagain       = 11
)

var (
	// probe is a heap object: where it lands is where the heap is filling.
	probe *[16]byte
	// asked and answer are what init did (Result).
	asked  bool
	answer uintptr
)

func init() {
	if disabled(runtimeEnvs()) {
		return
	}
	asked = true
	answer = advise()
}

// advise marks the 2 MiB range the heap is filling, and the next, for
// huge pages, and collapses the first into one now. It returns the
// collapse's errno (0: done).
func advise() uintptr {
	probe = new([16]byte)
	start := uintptr(unsafe.Pointer(probe)) &^ (hugePage - 1)
	// Advice only: an error (no THP, an old kernel, the next range not
	// mapped yet) leaves the heap as the runtime made it.
	rawSyscall(sysMadvise, start, 2*hugePage, madvHugepage)
	_, _, e := rawSyscall(sysMadvise, start, hugePage, madvCollapse)
	if e == eagain {
		// Transient (a page the kernel could not take just then, one
		// launch in fifty here): once more.
		_, _, e = rawSyscall(sysMadvise, start, hugePage, madvCollapse)
	}
	return e
}

// disabled reports whether the environment's GODEBUG sets disablethp=1
// (the runtime then marks its heap MADV_NOHUGEPAGE, which the advice here
// would undo). As in the runtime, the first GODEBUG in the environment
// counts, and in it the last setting of a name.
func disabled(env []string) bool {
	v := ""
	for _, kv := range env {
		if len(kv) >= 8 && kv[:8] == "GODEBUG=" {
			v = kv[8:]
			break
		}
	}
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

// Result reports whether the package asked the kernel to collapse the
// heap's first range into a huge page, and the errno it answered (0:
// done). It did not ask under GODEBUG=disablethp=1.
func Result() (tried bool, errno uintptr) { return asked, answer }
