package bwrap

import (
	"os"
	"path/filepath"
	"strings"
)

// resolver is ir.ResolvePath with memory: the rules of one launch share
// long prefixes (the project, its .git, .codex, .agents, .polc), and
// ir.ResolvePath re-walks each from / with filepath.EvalSymlinks (and,
// for a missing path, once more for every missing component). A
// resolver looks each directory up once. Same answers: symlinks in the
// longest existing prefix resolved, ".." in a link's text applied to
// the resolved parent, the missing rest kept as written.
type resolver struct {
	real map[string]string // cleaned absolute path → resolved; "" = does not exist (or unreadable)
}

func newResolver() *resolver { return &resolver{real: map[string]string{"/": "/"}} }

// Resolve implements ir.Env.Resolve.
func (r *resolver) Resolve(p string) string {
	p = filepath.Clean(p)
	if !filepath.IsAbs(p) {
		return p
	}
	cur := "/"
	rest := strings.TrimPrefix(p, "/")
	for rest != "" {
		comp, more, _ := strings.Cut(rest, "/")
		next := r.lookup(cur, comp, 0)
		if next == "" {
			return filepath.Join(cur, rest)
		}
		cur, rest = next, more
	}
	return cur
}

// lookup resolves name in the resolved directory dir ("" when missing).
func (r *resolver) lookup(dir, name string, depth int) string {
	key := filepath.Join(dir, name)
	if v, ok := r.real[key]; ok {
		return v
	}
	v := ""
	if fi, err := os.Lstat(key); err == nil {
		v = key
		if fi.Mode()&os.ModeSymlink != 0 {
			v = ""
			if target, err := os.Readlink(key); err == nil && depth < 255 {
				if !filepath.IsAbs(target) {
					target = dir + "/" + target // no Clean: ".." applies to what precedes it once resolved
				}
				v = r.resolveAll(target, depth+1)
			}
		}
	}
	r.real[key] = v
	return v
}

// resolveAll resolves a whole path, "" when a component is missing (a
// dangling link makes its own path missing, as EvalSymlinks says).
func (r *resolver) resolveAll(p string, depth int) string {
	cur := "/"
	for _, comp := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if comp == "" || comp == "." {
			continue
		}
		if comp == ".." {
			cur = filepath.Dir(cur)
			continue
		}
		cur = r.lookup(cur, comp, depth)
		if cur == "" {
			return ""
		}
	}
	return cur
}
