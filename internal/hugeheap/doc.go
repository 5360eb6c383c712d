// Package hugeheap backs the start of polc's Go heap with one transparent
// huge page, so that a launch's heap costs one page fault instead of a few
// hundred.
//
// # Why
//
// A small `polc exec` touches about 1.5 MB of fresh heap: the runtime's
// first spans of each size class (Go 1.26 writes each span's mark bits at
// its end, so a fresh span costs two pages), goroutine stacks, every
// package's init, the compile and the plan. Each first touch of a 4 KiB
// page is a fault. On the 2-core virtual machine polc is measured on, an
// anonymous fault costs 15 to 25 µs (the host backs guest memory
// lazily), and the heap's 330 or so faults were some 5 ms of a 36 ms
// launch, whose whole budget beside bare bubblewrap is about 18 ms. On
// bare metal a fault is well under a microsecond and this package changes
// little either way.
//
// Go's runtime does not ask for huge pages for its heap, and the usual
// system setting (transparent_hugepage/enabled = madvise) gives them only
// to memory marked MADV_HUGEPAGE.
//
// # How
//
// The package's init runs among the very first, before sync: it imports
// nothing with an init of its own (the system call and the environment
// through linkname, see hugeheap_linux.go), and Go initialises packages
// in import-path order among those whose imports are done. It finds the
// 2 MiB-aligned range holding a fresh heap object (the range the heap is
// filling) and the one after it, marks both MADV_HUGEPAGE, and asks the
// kernel to collapse the first into one huge page now (MADV_COLLAPSE,
// Linux 6.1), copying the hundred or so pages the runtime already
// touched. The second range, if the runtime has mapped it by then, gets a
// huge page on its first fault (a range it maps later is a new mapping,
// without the mark).
// That costs about 0.3 to 0.7 ms (a few ms when the host must first back
// the new huge page) instead of some 3 ms of faults; at most 4 MiB of
// memory more than the heap would have touched. Linux on amd64 and arm64
// only.
//
// Only those two ranges are marked: a long walk of a large project grows
// the heap well past them, and there the runtime's own 4 KiB pages and
// scavenging are what keep peak memory low.
//
// Everything here is advice: the kernel may refuse it (THP disabled, no
// MADV_COLLAPSE, no free huge page) and polc runs the same, only slower.
// GODEBUG=disablethp=1, Go's own switch against huge pages on its heap,
// turns this off too.
package hugeheap
