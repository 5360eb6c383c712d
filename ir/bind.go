package ir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"polc/diag"
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

// HostFile is the host path of a file an origin names. The compiler
// records origin files symbolically, so that a policy is the same on
// every machine: a file below a variable as ${VAR}/..., an input file
// under none by the name Inputs gives it. HostFile undoes that for
// display; any other name (an absolute path, "-c") is returned as is.
func (e Env) HostFile(f string) string {
	if h, ok := e.Inputs[f]; ok {
		return h
	}
	if h, ok := e.Bindings.BindOK(f); ok {
		return h
	}
	return f
}

// HostPos is p with its file named on the host (HostFile).
func (e Env) HostPos(p diag.Pos) diag.Pos {
	if p.File != "" {
		p.File = e.HostFile(p.File)
	}
	return p
}

// HostOrigin is o with its file named on the host (HostFile).
func (e Env) HostOrigin(o Origin) Origin {
	o.Pos = e.HostPos(o.Pos)
	return o
}

// HostDiags names the files of l's positions on the host (HostFile): a
// backend locates its diagnostics at the policy's symbolic origins, and
// the user is shown the files on this machine.
func (e Env) HostDiags(l diag.List) diag.List {
	out := make(diag.List, len(l))
	for i, d := range l {
		d.Pos = e.HostPos(d.Pos)
		if d.End != nil {
			end := e.HostPos(*d.End)
			d.End = &end
		}
		if len(d.Related) > 0 {
			rel := make([]diag.Related, len(d.Related))
			for j, r := range d.Related {
				rel[j] = diag.Related{Pos: e.HostPos(r.Pos), Message: r.Message}
			}
			d.Related = rel
		}
		out[i] = d
	}
	return out
}

// HostOrigins is a copy of p whose origins name their files on the host
// (HostFile), for display code that hands a whole policy to a printer
// (polc diff, polc rollout's report); p is left as it is.
func (e Env) HostOrigins(p *Policy) *Policy {
	if p == nil {
		return nil
	}
	c := p.cloneOrigins()
	c.Origins(func(o *Origin) { o.Pos = e.HostPos(o.Pos) })
	return c
}

// cloneOrigins copies p deep enough that writing the copy's origins
// leaves p's alone.
func (p *Policy) cloneOrigins() *Policy {
	c := *p
	c.Rules = slices.Clone(p.Rules)
	c.Globs = slices.Clone(p.Globs)
	c.Minimal = clonePtr(p.Minimal)
	c.Network.UnixSockets = slices.Clone(p.Network.UnixSockets)
	c.Network.AllUnixSockets = clonePtr(p.Network.AllUnixSockets)
	if p.Network.Proxy != nil {
		px := *p.Network.Proxy
		px.Domains = slices.Clone(px.Domains)
		px.Dropped = slices.Clone(px.Dropped)
		for i := range px.Dropped {
			px.Dropped[i].By = clonePtr(px.Dropped[i].By)
			px.Dropped[i].Setting = clonePtr(px.Dropped[i].Setting)
		}
		c.Network.Proxy = &px
	}
	c.Approvals.AutoReviewPolicyOrigin = clonePtr(p.Approvals.AutoReviewPolicyOrigin)
	return &c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}
