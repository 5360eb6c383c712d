// Package globwalk expands deny globs into the paths that exist now.
//
// Linux (bubblewrap) and Windows (ACLs) can only mask concrete paths, so a
// deny glob such as ${WORKSPACE_ROOT}/**/*.env is expanded twice: once at
// compile time, so that `polc check` and `polc explain` can report what it
// covers (and what lies beyond glob_scan_max_depth), and again by the
// runtime shim at every launch. Artifacts keep the pattern; this package
// produces the snapshot. Files created after the expansion are not covered.
//
// # Semantics
//
// Patterns use doublestar/v4 syntax (* ? [...] {a,b} **), matched against
// whole host paths exactly as ir.Decide matches them, so the expansion and
// the reference decision agree. `**/` matches zero or more directories,
// `*` matches hidden names, and no ignore file is honoured. The depth of an
// entry is the number of path components below its pattern's Base (1 =
// directly in Base); an entry deeper than the pattern's MaxDepth is not a
// match, and with Options.ReportBeyondCap it is listed in
// Result.BeyondCap instead, so that the compiler can name every file a
// snapshot platform leaves readable. Options.Regions lift the caps where
// the sandbox can write (it could move a matched file below any cap
// there): a match in an uncapped region counts at any depth, and the
// walk goes past a cap only into directories in or leading to one.
//
// # One walk
//
// Patterns are compiled into small per-segment automata and run together:
// there is one walk per distinct scan root, not one per pattern, and a
// pattern whose Base lies under another pattern's Base rides the outer
// walk. A directory is entered only while some pattern could still match
// below it (see stepEntry), so `*.pem` reads one directory and `a/*/b`
// reads two levels. Every match the automaton proposes is confirmed with
// doublestar.Match on the whole path, so a match is exactly what ir.Decide
// calls one; patterns whose segments cannot be tested one at a time
// (braces, classes that match "/") test whole paths at every entry and
// are bounded only by their cap. A matched directory is reported once and not descended
// for that pattern. Symlinks are never followed: a link is an entry that
// can match, and then its resolved target is reported so that the backend
// can mask the target too. Without following links the walk cannot cycle.
// Unreadable directories are recorded in Result.Errors and the walk goes
// on; whether that is fatal is the caller's policy (fail closed at launch).
//
// The directories are listed on a bounded pool of workers (pool.go): one
// task per directory on a shared stack, each worker with its own
// automaton tables and getdents buffer, children opened relative to
// their parent's descriptor; the partial results are merged and sorted,
// so the outcome does not depend on the schedule.
//
// # Cache
//
// With Options.CacheDir set, the expansion is stored keyed by the patterns,
// their bases and caps, together with the identity and timestamps (device,
// inode, mtime, ctime) of every directory the walk listed, as git's
// untracked cache does. A later call lstat-s only those directories; an
// unchanged directory's results are reused without listing it, a changed
// one is listed again (its unchanged subdirectories are still reused).
// On Linux those stats are statx calls relative to the open parent (one
// name each, never following a symlink), made on several threads while
// the cache file is still being decoded. With
// Options.DeferRevalidation (a launch, which verifies the walk after
// its mounts anyway) the cached directories are taken as unchanged and
// Result.Verify's stats are the revalidation: one stat per directory per
// launch instead of two. Such a launch plans on the cache's index, which
// the file holds ahead of the tree (the matches, and the walk roots'
// own nodes with their children's names; a MAC of its own): the roots
// are stat-ed, and listed again when their stamps moved, the matches
// below them are taken as they are, and the tree is read, checked and
// decoded on another goroutine while the sandbox is set up. Verify waits
// for it; a tree that fails its MAC or its decoding fails Verify, and
// the launch is refused and retried as one whose tree changed, so no
// command runs on masks whose tree was not checked. From such an
// expansion until just after its Verify the garbage collector is off
// (gc.go). A
// directory whose timestamps are too close to the scan's start is "racy"
// and always re-listed, because a change in the same clock tick would not
// move its mtime. ctime is compared because a sandboxed process can reset
// mtime with utimes but cannot reset ctime.
//
// The cache decides what gets masked, so it must live where the sandbox
// cannot write: the caller passes a directory outside every writable root,
// such as $XDG_CACHE_HOME/polc (and must not pass one inside the project
// or a temporary directory the profile makes writable). The file is written
// atomically (temporary file, then rename), carries a format version, the
// key and two HMAC-SHA256 (index, tree), and is used only when it is owned by the
// current user and not writable by group or others. A corrupt, foreign or
// unreadable cache is a miss, never a result.
//
// A watcher (watch.go), started by a launch on a large tree and left
// running, watches the cache file's directories with inotify; a later
// launch's Verify asks it which changed since the file was written and
// stats only those, the roots, and the directories it did not take
// from the file.
//
// # Where the time goes
//
// Everything here is bound by system calls, one or a few per directory
// (on the 2-core virtual machine it was measured on a system call costs
// 1 to 5 µs, and the first touch of a 4 KiB page of fresh memory about
// 13; the automaton's work per entry is a byte lookup or two). Per
// directory:
//
//   - cold walk: openat, statx of the open directory (the snapshot's and
//     cache's stamps, taken before the listing), getdents64 until it
//     returns 0 (twice for a small directory), close: five calls, none
//     per entry (d_type answers; an entry is lstat-ed only where the file
//     system leaves d_type unknown, and a matched directory once for its
//     identity); spread over the workers;
//   - cache: encoding and writing it after a cold or changed walk (about
//     19 bytes per directory); decoding it on a warm run (two small reads
//     for the index, one for the tree, an HMAC-SHA256 over each, one node
//     of 88 bytes per directory from one slab the kernel may back with
//     huge pages);
//   - warm revalidation: one statx by name relative to the open parent
//     (directories with cached children are opened O_PATH instead), on
//     several threads; deferred to Verify at launch;
//   - Verify: the same statx per directory, on several threads, as raw
//     system calls; a directory whose stamps moved is stat-ed again by
//     path and listed again (rare).
//
// So a cold launch costs about six system calls per directory and a warm
// one one. A warm launch on 1,000,000 files (101,112 directories, 1,111
// of them with cached children; 483 .env matches, so polc's mask stage
// mounts them) took about 250 ms on 2 cores, in ms since polc started:
//
//	  0- 25  process start, command line, compile (outside this package)
//	 25- 30  the plan up to the deny globs
//	 30- 31  the cache's header and index (30 KB) read and checked, the
//	         root stat-ed (and listed again: a launch's mount points in
//	         the project root move its stamps)
//	 31- 40  the plan's masks (an lstat each), bwrap started; meanwhile
//	         the tree (1.9 MB) is read, checked and decoded into 9 MB of
//	         nodes on huge pages (about 10 ms; on 4 KiB pages the first
//	         touch of that memory alone took 30 to 50 ms)
//	 40- 80  bwrap's setup, the mask stage's start and its 483 mounts
//	 80-240  Verify: 101,112 statx (and 1,111 opens) on 2 threads, about
//	         1.5 µs of wall time each (one thread takes 260 to 300 ms),
//	         beside which the shim checks each mask (two lstat)
//	240-255  the command, exit
//
// With the cache file's watcher serving (Options.Watch, watch.go) the
// 80-240 span is one question on a socket and a walk over the decoded
// nodes marking them unchanged: the same launch took about 105 ms, most
// of it bwrap's setup and the 483 mounts, the tree's decoding still
// among it (Verify waits for it), and the stats' floor no longer under
// it. Without a watcher:
//
// The stats after the mounts are the floor: bench/scale.sh measures one
// single-threaded pass of statx over the directories beside the launch
// (by path, which costs more than relative to an open parent). Outside
// them a launch is its fixed costs: the process's start (twice, with
// the mask stage), bwrap's setup and a mount per mask.
// The memory is one node per directory, shared by the cache and the
// snapshot, and the tree's bytes, which the decoded names point into
// (26 MiB peak for the launch above).
package globwalk
