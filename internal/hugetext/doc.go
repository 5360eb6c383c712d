// Package hugetext keeps polc's own code in the page cache as 2 MiB
// folios, so that each start of polc maps its code and read-only data
// with a few huge-page faults instead of one fault per 64 KiB.
//
// # Why
//
// A start of polc touches code and data spread over its 13 MB of text
// and read-only data: every package's init, the runtime, the command
// line, the compiler, the launch. Each first touch of a 64 KiB window is
// a page fault that maps up to 16 pages of the page cache; on the 2-core
// virtual machine polc is measured on, such a fault costs about 32 µs
// (an anonymous one about 11), and a small launch takes some 150 of
// them: about 5 ms of a 45 ms launch. When the page cache holds the
// file in 2 MiB folios and the mapping is aligned, the kernel maps each
// 2 MiB with a single entry on the first touch (smaps' FilePmdMapped)
// and those faults are gone: `polc version` went from 17.9 to 13.0 ms.
//
// The kernel reads a file into 2 MiB folios only when a page-cache miss
// comes from a mapping marked MADV_HUGEPAGE (and the file system keeps
// large folios: ext4 since Linux 6.16, XFS, others). An executable's
// pages come in through exec and ordinary faults, in small folios; a
// copy (install, cp) is no better. So polc does it itself, once per
// page-cache lifetime of its executable.
//
// # How
//
// Due runs while polc waits for the sandboxed command, off the launch's
// critical path. It reads /proc/self/smaps for the executable's
// read-only mappings (matched by device and inode), and the 2 MiB ranges
// inside them whose file offset a huge page could map. If those are all
// mapped huge, it stops there (the usual case, one read of smaps). If
// not, and no other process maps the executable (smaps' Shared_Clean is
// zero: a page another process maps cannot be dropped, so its range
// could not become one folio), and no primer ran for it too recently
// (retried after 5 s, then twice as long each time up to an hour,
// recorded in polc's cache directory), the launch starts the primer
// (Start): a static program of a few hundred bytes (program_amd64.asm)
// run from a sealed memfd, which cannot map polc's pages itself. It
// waits for polc to exit (the end of a pipe polc holds), writes out any
// dirty pages of a new build (fdatasync), and then, one 2 MiB range at a
// time, drops the range from the page cache (POSIX_FADV_DONTNEED: only
// pages no process maps, which needs no write access to the file) and
// faults it back in through a MADV_HUGEPAGE mapping
// (MADV_POPULATE_READ), now as one 2 MiB folio. Later starts of the same
// file, by any user, map it huge. The mask stage is a polc too: a launch
// through it checks again once bwrap has exited.
//
// A polc that starts while the primer works can keep a range in small
// folios; the next attempt (after the back-off) takes it.
//
// Nothing here changes what any process can read or run: the folios
// hold the same bytes, and polc's own mappings stay read-only. Every
// failure is only a missed speed-up, reported when the launch is
// debugged (POLC_DEBUG_BWRAP), never an error.
package hugetext
