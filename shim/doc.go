// Package shim is polc's thin shim: it takes a lowered (and, when a
// trust key is configured, verified) artifact, binds host values, expands
// deny globs the artifact defers, and runs the command under the
// platform's sandbox. It makes no policy decisions. The platform code
// lives in per-OS files (run_linux.go, run_darwin.go, run_windows.go);
// the Linux mask stage, the sandbox's side, is package maskstage.
//
// # Where a small launch's time goes
//
// polc exec -- /bin/true on a small project (bench/exec.sh: a few files,
// three masks, the direct launch) against bare bubblewrap with the same
// mounts, on a 2-core VM where an empty system call costs about 1 µs.
// Times are medians from in-process marks; only their shares carry over
// to another machine.
//
//	polc's own start, to main          ~14 ms   Go runtime ~5, package inits and the 20 MB binary's first touches ~9
//	CLI, compile, lower                 ~3 ms   mostly first execution of their code (page faults), not work
//	plan (host state, mounts, globs)    ~2 ms   one stat per path component, the glob cache
//	registry, descriptors, fork/exec    ~3 ms   the registry of mount points, memfds, bwrap's exec
//	bubblewrap to its mounts            ~9 ms   as bare bubblewrap
//	the guard check                     <0.1 ms
//	bubblewrap's rest and the command   ~7 ms   as bare bubblewrap
//	release                             ~1 ms   rmdir of the mount points bwrap made on the host (.codex...)
//
// Bare bubblewrap takes about 17 ms from the shell, polc about 40: the
// difference is polc's start and its own work, of which the start is
// the larger part, and most of both is the cost of touching code for the
// first time, not computation. Each of the 120-odd packages polc is
// built from runs its init on every start; a launch through the mask
// stage (package maskstage) runs only some 75 of them a second time.
package shim
