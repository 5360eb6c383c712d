package shim

import (
	"io"
	"os"
	"path/filepath"

	"polc/backends/bwrap"
	"polc/internal/statekey"
)

// hostState is polc's own state on this host: the deny-glob cache
// (which decides what the next launch masks) and the cleanup registry
// (which decides what the next launch deletes). Both are bound read-only
// into every sandbox, whatever the profile, and both are authenticated
// with the user's state key, because a sandbox that may write an
// ancestor of them can rename it away and plant its own (see
// internal/statekey).
type hostState struct {
	// key is the user's state key; nil where the kernel keyring is
	// unavailable: then there is no glob cache and the registry's dead
	// entries are never swept (nothing unauthenticated is trusted).
	key []byte
	// globs is the glob cache directory, registry the registry's ("" when
	// neither XDG variable nor HOME is usable).
	globs, registry string
}

// loadHostState finds, and creates, polc's state directories (before
// planning, so that the plan can bind them read-only), and the key.
func loadHostState(debug io.Writer) *hostState {
	s := &hostState{globs: cacheDir("globs"), registry: syntheticStateDir()}
	for _, d := range []string{s.globs, s.registry} {
		if d != "" {
			os.MkdirAll(d, 0o700)
		}
	}
	lockDir := ""
	if s.registry != "" {
		lockDir = filepath.Dir(s.registry)
	}
	if k, err := statekey.Key(lockDir); err == nil {
		s.key = k
	} else if debug != nil {
		io.WriteString(debug, "polc: no state key ("+err.Error()+"): no glob cache\n")
	}
	return s
}

// stateDirs are the directories every sandbox sees read-only: polc's
// directory above each piece of state, so that neither the state nor its
// parent can be renamed from inside.
func (s *hostState) stateDirs() []string {
	var dirs []string
	for _, d := range []string{s.globs, s.registry} {
		if d != "" {
			dirs = append(dirs, filepath.Dir(d))
		}
	}
	return dirs
}

// planOptions are PlanHost's options for this host's state.
func (s *hostState) planOptions() bwrap.PlanOptions {
	o := bwrap.PlanOptions{StateDirs: s.stateDirs(), CheckWalk: true}
	if s.key != nil {
		o.GlobCacheDir, o.GlobCacheKey = s.globs, s.key
		// POLC_NO_WATCHER=1: no process of polc's is left running (the
		// glob cache's watcher): every launch stats the cached tree.
		o.GlobWatch = os.Getenv("POLC_NO_WATCHER") == ""
	}
	return o
}
