package compiler

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"polc/diag"
	"polc/ir"
)

// HostCache answers the host lookups of compiles (stat, lstat, symlink
// resolution, what starting /bin/sh reads) once per path. It is for a
// caller that runs many compiles on a host that does not change while
// they run — polc rollout compiles thousands of configs on an empty
// home and project made for the run — and must not outlive that: a
// cached answer is never revalidated. Safe for concurrent use.
type HostCache struct {
	lstat, stat, eval, resolve, needs sync.Map
	// reqs holds each requirements file as read and parsed once: what
	// it added to the diagnostics and its layer (nil when unreadable).
	// Passes only read a parsed table (merging and profiles clone it).
	reqs sync.Map
}

// NewHostCache returns an empty cache.
func NewHostCache() *HostCache { return &HostCache{} }

type statAnswer struct {
	fi  fs.FileInfo
	err error
}

type evalAnswer struct {
	real string
	err  error
}

// Lstat is os.Lstat, once per path.
func (h *HostCache) Lstat(p string) (fs.FileInfo, error) {
	return h.statOnce(&h.lstat, "lstat", os.Lstat, p)
}

// Stat is os.Stat, once per path.
func (h *HostCache) Stat(p string) (fs.FileInfo, error) {
	return h.statOnce(&h.stat, "stat", os.Stat, p)
}

// statOnce answers stat (os.Stat or os.Lstat, named op in errors) for p
// from cache, from a missing ancestor's answer (not stored), or by
// asking the host once.
func (h *HostCache) statOnce(cache *sync.Map, op string, stat func(string) (fs.FileInfo, error), p string) (fs.FileInfo, error) {
	if v, ok := cache.Load(p); ok {
		a := v.(statAnswer)
		return a.fi, a.err
	}
	if _, errno := h.missingAncestor(p); errno != 0 {
		return nil, &fs.PathError{Op: op, Path: p, Err: errno}
	}
	fi, err := stat(p)
	cache.Store(p, statAnswer{fi, err})
	return fi, err
}

// missingAncestor finds, from the cache alone, an ancestor of p that
// did not resolve: its lstat or stat failed with ENOENT or ENOTDIR. The
// kernel resolves p through the same components, so any lookup of p
// fails at the same one with the same error, which it returns (0 when
// the nearest ancestor the cache knows resolved, or none is known).
// Such answers are not stored: users' paths below the run's empty home
// are thousands, and each costs a few cache reads instead of a lookup
// and an entry kept for the whole run.
func (h *HostCache) missingAncestor(p string) (string, syscall.Errno) {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return "", 0
	}
	for a := filepath.Dir(p); ; a = filepath.Dir(a) {
		for _, m := range []*sync.Map{&h.lstat, &h.stat} {
			v, ok := m.Load(a)
			if !ok {
				continue
			}
			var pe *fs.PathError
			if errors.As(v.(statAnswer).err, &pe) {
				if errno, ok := pe.Err.(syscall.Errno); ok && (errno == syscall.ENOENT || errno == syscall.ENOTDIR) {
					return a, errno
				}
			}
			return "", 0
		}
		if a == "/" {
			return "", 0
		}
	}
}

// EvalSymlinks is filepath.EvalSymlinks, once per path.
func (h *HostCache) EvalSymlinks(p string) (string, error) {
	if v, ok := h.eval.Load(p); ok {
		a := v.(evalAnswer)
		return a.real, a.err
	}
	real, err := filepath.EvalSymlinks(p)
	h.eval.Store(p, evalAnswer{real, err})
	return real, err
}

// Exists is ir.Exists through the cache.
func (h *HostCache) Exists(p string) bool {
	_, err := h.Lstat(p)
	return err == nil
}

// ResolvePath answers as ir.ResolvePath does, sharing the work between
// paths: a path that does not exist (one lstat, cached) is its parent's
// answer joined with its name, and the parent's answer is cached too, so
// thousands of users' paths below the same home cost one lookup each.
func (h *HostCache) ResolvePath(p string) string {
	p = filepath.Clean(p)
	if !filepath.IsAbs(p) {
		return p
	}
	if v, ok := h.resolve.Load(p); ok {
		return v.(string)
	}
	if a, errno := h.missingAncestor(p); errno != 0 {
		// Nothing below a that does not resolve exists: p is a's
		// answer and the rest of its path (not stored, as above).
		return filepath.Join(h.ResolvePath(a), strings.TrimPrefix(p[len(a):], "/"))
	}
	out := ""
	// filepath.EvalSymlinks fails whenever the last component is
	// missing; only a path that exists can resolve on its own. One that
	// is not a symlink resolves as its parent does, with its name: a
	// lookup of that one component, where EvalSymlinks would look up
	// every component again for every path below the same directory.
	if fi, err := h.Lstat(p); err == nil {
		if fi.Mode()&fs.ModeSymlink == 0 {
			if parent := filepath.Dir(p); parent == p {
				out = p
			} else {
				out = filepath.Join(h.ResolvePath(parent), filepath.Base(p))
			}
		} else if real, err := h.EvalSymlinks(p); err == nil {
			out = real
		}
	}
	if out == "" {
		if parent := filepath.Dir(p); parent == p {
			out = p
		} else {
			out = filepath.Join(h.ResolvePath(parent), filepath.Base(p))
		}
	}
	h.resolve.Store(p, out)
	return out
}

// CommandNeeds is CommandNeeds, once per path. The slice is the
// caller's own.
func (h *HostCache) CommandNeeds(p string) []string {
	if v, ok := h.needs.Load(p); ok {
		return append([]string(nil), v.([]string)...)
	}
	out := CommandNeeds(p)
	h.needs.Store(p, append([]string(nil), out...))
	return out
}

type reqAnswer struct {
	diags diag.List
	layer *reqLayer
}

// readRequirementLayer is s.readRequirementLayer, once per file: the
// requirement files are the same for every compile of a rollout.
func (h *HostCache) readRequirementLayer(s *state, f string) {
	if v, ok := h.reqs.Load(f); ok {
		a := v.(*reqAnswer)
		s.diags = append(s.diags, a.diags...)
		if a.layer != nil {
			s.reqLayers = append(s.reqLayers, a.layer)
		}
		return
	}
	n, m := len(s.diags), len(s.reqLayers)
	s.readRequirementLayer(f)
	a := &reqAnswer{diags: append(diag.List(nil), s.diags[n:]...)}
	if len(s.reqLayers) > m {
		a.layer = s.reqLayers[m]
	}
	h.reqs.Store(f, a)
}

// The passes' host lookups: through Options.Host when it is set.

func (s *state) lstat(p string) (fs.FileInfo, error) {
	if s.opts.Host != nil {
		return s.opts.Host.Lstat(p)
	}
	return os.Lstat(p)
}

func (s *state) stat(p string) (fs.FileInfo, error) {
	if s.opts.Host != nil {
		return s.opts.Host.Stat(p)
	}
	return os.Stat(p)
}

func (s *state) evalSymlinks(p string) (string, error) {
	if s.opts.Host != nil {
		return s.opts.Host.EvalSymlinks(p)
	}
	return filepath.EvalSymlinks(p)
}

func (s *state) exists(p string) bool {
	_, err := s.stat(p)
	return err == nil
}

func (s *state) commandNeeds(p string) []string {
	if s.opts.Host != nil {
		return s.opts.Host.CommandNeeds(p)
	}
	return CommandNeeds(p)
}

// hostEnv is the environment the passes decide rule paths in: this
// host's bindings, with Options.Resolve (or the cache's) resolving paths.
func (s *state) hostEnv() ir.Env {
	env := ir.Env{Bindings: s.bindings, Resolve: s.opts.Resolve}
	if h := s.opts.Host; h != nil {
		if env.Resolve == nil {
			env.Resolve = h.ResolvePath
		}
		env.Exists = h.Exists
	}
	return env
}
