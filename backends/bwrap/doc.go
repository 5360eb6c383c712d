// Package bwrap is polc's Linux backend: it lowers an ir.Policy into the
// Linux artifact (canonical JSON of an ordered mount plan, namespaces and a
// seccomp specification), binds that artifact on a host at launch
// (PlanHost: the concrete mount table and the bubblewrap arguments that
// build it), and reads it back through a mount-table simulator
// (Evaluator) for translation validation against ir.Decide.
//
// # Shape of a launch
//
//	bwrap --new-session --die-with-parent
//	      --unshare-user --unshare-pid --unshare-ipc --unshare-uts [--unshare-net]
//	      --cap-drop ALL
//	      <root: --ro-bind / / | --bind / / | --perms 0111 --tmpfs />
//	      --dev /dev
//	      <exact rules, by depth: --ro-bind, --bind, --perms 0000|0111 --tmpfs (deny dirs),
//	       --perms 0111 --dir (ancestors in a tmpfs), --perms 0555|0000 --tmpfs (missing paths held),
//	       --perms 0000|0111 --dir (denied directories the root tmpfs does not show: placeholders)>
//	      [--symlink T L (logical paths of system roots in a tmpfs root)]
//	      --remount-ro <every tmpfs mask> [--remount-ro /]
//	      --proc /proc
//	      --ro-bind /proc/sys /proc/sys --ro-bind-try /proc/{sysrq-trigger,irq,bus} (ProcCoverArgs)
//	      <masks: --perms 0000 --ro-bind-data FD FILE | --perms 0000 --tmpfs DIR --remount-ro DIR>
//	      --seccomp FD --json-status-fd FD --block-fd FD --chdir DIR
//	      -- CMD...
//
// This is the direct launch: bwrap applies every mask itself, loads the
// seccomp filter (it always sets no_new_privs), drops every capability,
// and runs the command as the only child of its own pid 1, which reaps
// orphans; polc forwards signals to the command on the host. It is one
// process of polc, and is used when a plan has at most MaxDirectMasks
// masks and polc knows from the plan that the working directory and the
// command are there for the sandbox (polc/shim).
//
// With more masks (a deny glob matching thousands of files), bwrap runs
// polc's mask stage instead, as pid 1 (--as-pid-1), keeping
// CAP_SYS_ADMIN and CAP_SETPCAP in the new user namespace for it and
// loading the seccomp filter before it starts (--seccomp): in a mount
// namespace of its own it masks the files and glob matches with direct
// mount calls, makes itself undumpable, empties its bounding set, drops
// every capability of every thread and forks the command, reaping as
// pid 1 (polc/shim). Both launches give the same observable result
// (the stage's file masks are also noexec; a mode-000 empty file cannot
// be run either way).
//
// The arguments reach bwrap through --args FD, never the command line.
//
// # Deliberate differences from the reference (Codex linux-sandbox)
//
//   - Carve-outs below a denied directory stay reachable: the mask is a
//     traverse-only (0111) tmpfs and the directories leading to each
//     readable or writable rule below it are traverse-only too. Codex
//     loses readable carve-outs.
//   - Deny globs match directories as well as files (ir.Decide): a
//     matched directory is hidden whole. Codex's ripgrep scan lists files
//     only.
//   - There is no limit on the number of masked paths. Codex refuses more
//     than 8,192 glob matches; bwrap itself caps --args at 9,000 words and
//     re-reads /proc/self/mountinfo for every mount (quadratic), so above
//     MaxDirectMasks polc applies file masks and glob matches itself
//     inside the sandbox.
//   - A glob pattern rooted at / is expanded (within its cap) rather than
//     silently skipped.
//   - glob_scan_max_depth does not apply inside writable mounts: there
//     the sandbox could move a matched file below the cap (mv a
//     x/y/z/w/) and read it at the next launch, so the expansion walks
//     writable mounts to any depth (globwalk regions; read-only and
//     denied mounts inside them keep the cap). The reference stops at
//     the cap everywhere.
//   - Directories that exist only to reach a mount (ancestors in the tmpfs
//     root or in a deny mask) are traverse-only, so `ls` of a directory no
//     rule makes readable fails, as ir.Decide says.
//   - A proxy-only network is enforced as no network (fail closed).
//   - seccomp: see package polc/seccomp.
//
// Shared with the reference: a missing write root grants nothing until it
// exists; a missing denied or protected path inside a writable mount is
// held by an empty read-only directory (bwrap creates its mount point on
// the host; the shim removes it after the run, and records it first so
// that the next launch removes it when polc was killed); a deny or protected path
// that crosses a symlink inside a writable mount is refused; a writable
// root that is or sits under a symlink is bound at its real target; an
// existing denied directory that the sandbox would not show (outside
// every readable root) is still there, empty and unreadable (a
// placeholder directory, where the reference mounts a mode-000 tmpfs),
// so that a link to it fails with EACCES instead of dangling (`ls link`
// of a dangling link succeeds). Globs are a snapshot: a file created
// after launch that matches a deny glob is not masked.
//
// Symlinks and deny globs: a path is judged where it really is. A link
// is never masked itself (a mount over it lands on its target); a
// matched link's target is masked only when the globs deny the target
// itself (it or an ancestor matches, within the cap), so a link named
// like a match that points to a readable file masks nothing (the
// reference's recorded answer too), and the sandbox cannot mask a file
// of its choosing (libc) for the next launch by planting such a link.
// A link with an innocent name to a match is denied through the match's
// own mask.
package bwrap
