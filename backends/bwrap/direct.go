package bwrap

import (
	"fmt"
	"os"

	"polc/ir"
)

// MaxDirectMasks is the most masks a launch hands to bubblewrap itself
// (the direct launch: one process of polc, bwrap runs the command).
// Above it polc's inner stage applies them, because bwrap's masks are
// dear and the inner stage's are cheap:
//   - bwrap 0.8 re-reads /proc/self/mountinfo for every mount it makes
//     (and its --ro-bind-data writes, chmods and binds a temporary file
//     for each), so its setup grows quadratically with the mounts: here
//     (bench/exec.sh MASKS=n, seed profile) each file mask costs bwrap
//     0.4-0.6 ms, 120 masks cost 65 ms, a bare bwrap with 1,000 takes
//     2.6 s;
//   - the inner stage costs one more Go process (3-5 ms, about flat in
//     the number of masks: direct mount calls, no mountinfo re-reads);
//   - the two break even near 16 masks (direct against inner, whole
//     launch: 8 masks 24.5 against 26.5 ms, 12: 26.6 against 27.9 ms,
//     16: 26.3 against 25.5 ms);
//   - far above, bwrap also caps --args at 9,000 words (a file mask takes
//     four) and each file mask holds a descriptor until bwrap reads it.
const MaxDirectMasks = 16

// DirectNamespaceArgs are bwrap's process arguments when bwrap itself
// runs the command: bwrap's own pid 1 reaps orphans and the command is
// pid 2 (with --as-pid-1 the command would be pid 1, which the kernel
// shields from every signal it has no handler for, SIGTERM and a
// command's own `kill -KILL $$` included), and every capability is
// dropped.
func DirectNamespaceArgs(art *Artifact) []string {
	var args []string
	if art.NewSession {
		args = append(args, "--new-session")
	}
	if art.DieWithParent {
		args = append(args, "--die-with-parent")
	}
	for _, ns := range art.Namespaces {
		args = append(args, "--unshare-"+ns)
	}
	return append(args, "--cap-drop", "ALL")
}

// LaunchArgs are the namespace and filesystem arguments polc's launcher
// passes bwrap for the plan: the direct launch's, whose masks read their
// empty files from descriptor firstMaskFD on (MaskArgs; maskFiles is how
// many), or the mask stage's (polc as pid 1 with the capabilities it
// needs to mask, and drops). The launcher adds only its descriptors
// (seccomp, status, block, sync) and the working directory.
func (hp *HostPlan) LaunchArgs(stage bool, firstMaskFD int) (args []string, maskFiles int) {
	args = DirectNamespaceArgs(hp.Artifact)
	if stage {
		// The mask stage mounts (CAP_SYS_ADMIN) and empties its bounding
		// set before the fork (CAP_SETPCAP); it drops both itself.
		args = append(args, "--as-pid-1", "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP")
	}
	args = append(args, hp.Args...)
	if !stage {
		var masks []string
		masks, maskFiles = hp.MaskArgs(firstMaskFD)
		args = append(args, masks...)
	}
	return args, maskFiles
}

// MaskArgs are the bwrap operations that apply hp.Masks, in order, as
// the inner stage applies them (after every other mount): an existing
// file gets an empty, mode-000, read-only file bound over it
// (--perms 0000 --ro-bind-data FD P); a directory gets an empty mode-000
// tmpfs, remounted read-only (--perms 0000 --tmpfs D --remount-ro D),
// which hides everything below it, carve-outs included: a deny glob
// that matches a directory denies its whole subtree (ir.Decide).
//
// Each file mask reads its own descriptor (bwrap reads one to its end,
// then closes it): the i-th file mask uses firstFD+i, and files is how
// many there are. Each must read as empty (/dev/null will do).
func (hp *HostPlan) MaskArgs(firstFD int) (args []string, files int) {
	for _, m := range hp.Masks {
		if m.Dir {
			args = append(args, "--perms", "0000", "--tmpfs", m.Path, "--remount-ro", m.Path)
			continue
		}
		args = append(args, "--perms", "0000", "--ro-bind-data", fmt.Sprint(firstFD+files), m.Path)
		files++
	}
	return args, files
}

// decide is the plan's verdict on a resolved host path: the mask that
// hides it, or else the mount that decides it (the deepest, the latest
// on a tie).
func (hp *HostPlan) decide(p string) (Entry, bool) {
	for _, m := range hp.Entries {
		if (m.Kind == KindMaskFile || m.Kind == KindMaskGlob) && ir.HasPathPrefix(p, m.Path) {
			return m, true
		}
	}
	best := -1
	for i, m := range hp.Entries {
		switch m.Kind {
		case KindSymlink, KindMaskFile, KindMaskGlob:
			continue
		}
		if ir.HasPathPrefix(p, m.Path) && (best < 0 || ir.Depth(m.Path) >= ir.Depth(hp.Entries[best].Path)) {
			best = i
		}
	}
	if best < 0 {
		return Entry{Path: "/", Kind: KindRootTmp}, false
	}
	return hp.Entries[best], false
}

// Readable reports whether the sandbox sees the resolved host path p as
// it is on the host: it exists there and a read or write mount, not a
// mask, decides it. (Unrestricted plans see everything.)
func (hp *HostPlan) Readable(p string) bool {
	if hp.Artifact != nil && hp.Artifact.Unrestricted {
		return true
	}
	if _, err := os.Lstat(p); err != nil {
		return false
	}
	e, masked := hp.decide(p)
	if masked {
		return false
	}
	switch e.Kind {
	case KindDev, KindProc:
		return false // their content is not the host's
	}
	return e.access() != ir.Deny
}

// Writable reports whether the sandbox may write the resolved host path
// p (or create it, when it is missing).
func (hp *HostPlan) Writable(p string) bool {
	if hp.Artifact != nil && hp.Artifact.Unrestricted {
		return true
	}
	e, masked := hp.decide(p)
	return !masked && e.access() == ir.Write
}
