package bwrap

import (
	"os"
	"path/filepath"

	"polc/ir"
)

// MaskHostDirs hides host directories that the profile reaches only
// through a wider rule (WSL2's interop sockets under a readable /run),
// as a deny glob's directory match is hidden: an empty mode-000 tmpfs,
// read-only, over each. A directory the sandbox does not show, or one
// that a rule of the profile names (or names a path inside), is left
// as the profile says. Call it on a fresh plan, before the launch.
func (hp *HostPlan) MaskHostDirs(dirs []string, why string) {
	if hp.Artifact == nil || hp.Artifact.Unrestricted {
		return
	}
	for _, d := range dirs {
		real := hp.Resolve(d)
		fi, err := os.Lstat(real)
		if err != nil || !fi.IsDir() || !hp.Readable(real) || hp.names(real) {
			continue
		}
		hp.guard(real, fi)
		hp.Masks = append(hp.Masks, Mask{Path: real, Dir: true})
		hp.Entries = append(hp.Entries, Entry{Path: real, Kind: KindMaskGlob, Dir: true, Why: why})
	}
}

// names reports whether a rule of the profile is at p or below it: an
// absolute rule of the artifact (one the plan may have folded into a
// wider mount of the same access), or a mount of the plan.
func (hp *HostPlan) names(p string) bool {
	for _, m := range hp.Artifact.Mounts {
		if filepath.IsAbs(m.Path) && m.Path != "/" && ir.HasPathPrefix(hp.Resolve(m.Path), p) {
			return true
		}
	}
	for _, e := range hp.Entries {
		switch e.Kind {
		case KindRootRO, KindRootRW, KindRootTmp, KindDev, KindProc:
			continue
		}
		if ir.HasPathPrefix(e.Path, p) {
			return true
		}
	}
	return false
}
