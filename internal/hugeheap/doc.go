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
// The package's init runs early in polc's initialisation: it imports
// only syscall and unsafe, and Go initialises packages in import-path
// order among those whose imports are done. It finds the 2 MiB-aligned
// range holding a fresh heap object (the range the heap is filling) and
// the one after it, marks both MADV_HUGEPAGE, and asks the kernel to
// collapse the first into one huge page now (MADV_COLLAPSE, Linux 6.1),
// copying the hundred or so pages the runtime already touched. The second
// range, if it is mapped by then, gets a huge page on its first fault.
// That costs about 0.2 to 0.5 ms instead of some 3 ms of faults; at most
// 4 MiB of memory more than the heap would have touched.
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
