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
// three masks, the direct launch, the metadata placeholders already
// there) against bare bubblewrap with the same mounts, on a 2-core VM
// where an empty system call costs about 1 µs, the first touch of a
// fresh 4 KiB page 15 to 25 µs and the first touch of a 64 KiB window
// of a file's mapping about 32 µs. Medians of in-process marks, with
// polc's executable on huge pages (package hugetext) and its heap on one
// (package hugeheap); only their shares carry over to another machine.
//
//	polc's own start, to main          ~11.6 ms the exec and the shell's fork, as for any program (~4);
//	                                            Go's runtime (~4: the heap's first pages, 753 itabs);
//	                                            120-odd package inits (~2.3, of which ~0.6 the heap's
//	                                            collapse into a huge page)
//	command line                       ~0.7 ms  urfave/cli's setup and flag parsing
//	compile, lower                     ~1.1 ms  config layers, path resolution (one stat per component)
//	plan (host state, mounts, globs)   ~1.3 ms  the glob cache, symlink checks
//	registry, descriptors              ~0.6 ms  the registry of mount points, memfds, pipes
//	fork/exec of bubblewrap            ~1.9 ms  Go's vfork child resets 64 signal handlers, dups, execs
//	bubblewrap and the command        ~16.5 ms  as bare bubblewrap (the seccomp filter, the status and
//	                                            block descriptors and data masks cost nothing measurable)
//	the guard check                    <0.1 ms  while bubblewrap waits
//	release, exit                      ~1.0 ms  a Go process's exit (6 threads: the waits for bwrap take the poller)
//
// Bare bubblewrap takes 18 to 22 ms from the shell, polc 33 to 40 (the
// box is noisy): 1.76 to 1.86 times as long in six runs of
// bench/exec.sh. A Go program that only starts bwrap with the same
// arguments and waits takes 1.45 times as long as bare bubblewrap: that
// much is the floor of any launcher written in Go here. The rest is
// polc's own start and work, and most of both is first touches of
// memory, not computation. Page faults were the largest single cost:
// before polc kept its code on huge pages (hugetext) its start took some
// 150 faults on its executable at 32 µs each, about 5 ms of every
// launch; its heap's first touches were some 330 faults more at 15 µs,
// of which starting the heap on a huge page saves about 200 (some 5% of
// a launch). Each of the 120-odd packages polc is
// built from runs its init on every start; a launch through the mask
// stage (package maskstage) runs only some 75 of them a second time.
// Tried and not worth it: starting bubblewrap before the compile,
// blocked reading its arguments from a pipe (--args), so that its exec
// and dynamic loading overlap polc's compile and plan. A Go launcher that
// does so with 2.5 ms of work of its own is 5% faster than one that
// starts bwrap after the work, but inside polc (bwrap started at init,
// synchronously or from a goroutine, with the descriptors of the plan
// made in advance) four A/B runs gave 0.98 to 1.03: polc's other early
// work (the signal setup, Go's pidfd probe, the heap's collapse) already
// keeps the second core busy. It would also choose bwrap before the plan,
// which FindBwrap needs to refuse a bwrap a sandbox could have written.
//
// Where the metadata placeholders (.codex, .agents, ...) are missing,
// bubblewrap makes them and polc removes them after the command: about
// 1.7 ms more.
package shim
