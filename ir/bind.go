package ir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Bindings give symbolic variables their host values, e.g.
// "${WORKSPACE_ROOT}" → "/home/me/proj". Values are absolute.
type Bindings map[string]string

// Bind replaces a leading variable with its host value. A path that
// starts with an unbound variable is returned unchanged, and BindOK
// reports it.
func (b Bindings) Bind(p string) string {
	out, _ := b.BindOK(p)
	return out
}

// BindOK is Bind that also reports whether every variable was bound.
func (b Bindings) BindOK(p string) (string, bool) {
	if !strings.HasPrefix(p, "${") {
		return p, true
	}
	end := strings.Index(p, "}")
	if end < 0 {
		return p, false
	}
	v, ok := b[p[:end+1]]
	if !ok || v == "" {
		return p, false
	}
	rest := p[end+1:]
	if rest == "" {
		return v, true
	}
	return strings.TrimSuffix(v, "/") + rest, true
}

// Symbolize turns a host path back into its symbolic form, using the
// longest binding that is a prefix of it. Paths under no binding stay
// absolute. WORKSPACE_ROOT is preferred on a tie, so that a project under
// $HOME reads as ${WORKSPACE_ROOT}/...
func (b Bindings) Symbolize(p string) string {
	best, bestVal := "", ""
	for k, v := range b {
		if v == "" || !HasPathPrefix(p, v) {
			continue
		}
		if len(v) > len(bestVal) || (len(v) == len(bestVal) && (k == VarWorkspaceRoot || (best != VarWorkspaceRoot && k < best))) {
			best, bestVal = k, v
		}
	}
	if best == "" {
		return p
	}
	if p == bestVal {
		return best
	}
	if bestVal == "/" {
		return best + p
	}
	return best + p[len(bestVal):]
}

// HasPathPrefix reports whether p is prefix or lies below it, component-wise.
func HasPathPrefix(p, prefix string) bool {
	if prefix == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == prefix || (strings.HasPrefix(p, prefix) && p[len(prefix)] == '/')
}

// Depth is the number of components of a clean absolute path ("/" is 0).
func Depth(p string) int {
	if p == "/" || p == "" {
		return 0
	}
	return strings.Count(p, "/")
}

// ResolvePath judges a path where it really is: it cleans it, resolves
// symlinks in the longest existing prefix, and keeps the missing rest as
// written. It never fails: an unreadable prefix stays lexical.
func ResolvePath(p string) string {
	p = filepath.Clean(p)
	if !filepath.IsAbs(p) {
		return p
	}
	rest := ""
	cur := p
	for {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			if rest == "" {
				return real
			}
			return filepath.Join(real, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		base := filepath.Base(cur)
		if rest == "" {
			rest = base
		} else {
			rest = base + "/" + rest
		}
		cur = parent
	}
}

// Exists reports whether a host path exists (without following a final symlink).
func Exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// ErrUnbound is the error of a binding whose variable has no value on
// this host.
var ErrUnbound = errors.New("variable not bound")

// ErrMalformedGlob is the error of a deny glob whose bound pattern does
// not parse.
var ErrMalformedGlob = errors.New("malformed pattern")

// HostGlob is a deny glob bound to one host (Glob.Bind).
type HostGlob struct {
	// Pattern is the host pattern: Base followed by the part of the
	// glob's pattern after its symbolic base, as written.
	Pattern string
	// Base is the glob's base on the host, resolved: where a scan
	// starts and what a match's depth counts from.
	Base string
	// Lexical is the base bound but not resolved: the directory the
	// config names, before its symlinks are followed.
	Lexical  string
	MaxDepth int
}

// Bind binds a deny glob to the host env describes: its base's variable
// gets its host value, the base is resolved by env.Resolve (nil:
// ResolvePath), and the pattern keeps, after that resolved base, what it
// says below its base. This is the one binding of a glob that Decide,
// the compiler's expansion and every backend's launch use; what differs
// between platforms is a parameter, not a copy: env.Resolve is how the
// platform resolves a path (macOS's adds the firmlinks of its system
// volume), and a platform that must refuse a base reached through a
// symlink (Seatbelt) compares Base with Lexical. An error wraps
// ErrUnbound or ErrMalformedGlob and names the glob.
func (g Glob) Bind(env Env) (HostGlob, error) {
	base, ok := env.Bindings.BindOK(g.Base)
	if !ok {
		return HostGlob{}, fmt.Errorf("glob %s: %w", g.Pattern, ErrUnbound)
	}
	pat, _ := env.Bindings.BindOK(g.Pattern)
	resolve := env.Resolve
	if resolve == nil {
		resolve = ResolvePath
	}
	rb := resolve(base)
	suffix := strings.TrimPrefix(pat, base)
	bound := rb + suffix
	if rb == "/" {
		bound = "/" + strings.TrimPrefix(suffix, "/")
	}
	// Windows host paths use \; the pattern syntax is judged on /.
	if !doublestar.ValidatePattern(filepath.ToSlash(bound)) {
		return HostGlob{}, fmt.Errorf("glob %s: %w", g.Pattern, ErrMalformedGlob)
	}
	return HostGlob{Pattern: bound, Base: rb, Lexical: base, MaxDepth: g.MaxDepth}, nil
}
