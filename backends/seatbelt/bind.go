package seatbelt

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"polc/diag"
	"polc/ir"
)

// aliases are macOS's top-level symlinks: Seatbelt sees the resolved
// /private/... path, so the backend writes every path that way.
var aliases = []struct{ from, to string }{
	{"/tmp", "/private/tmp"},
	{"/var", "/private/var"},
	{"/etc", "/private/etc"},
}

// Alias rewrites a path below /tmp, /var or /etc to its /private form. On
// macOS realpath already does this; applying it after the host's resolver
// lets Linux tests exercise the same canonical paths.
func Alias(p string) string {
	for _, a := range aliases {
		if ir.HasPathPrefix(p, a.from) {
			return a.to + p[len(a.from):]
		}
	}
	return p
}

// unalias undoes Alias for a host that has no /private (Linux tests).
func unalias(p string) string {
	for _, a := range aliases {
		if ir.HasPathPrefix(p, a.to) {
			return a.from + p[len(a.to):]
		}
	}
	return p
}

// MacEnv returns env as macOS judges paths: platform macos, paths resolved
// by env's resolver and then through the top-level aliases, existence
// checked under either name. Give the same MacEnv to ir.Decide and to the
// evaluator to compare them.
func MacEnv(env ir.Env) ir.Env {
	resolve, exists := env.Resolve, env.Exists
	if resolve == nil {
		resolve = ir.ResolvePath
	}
	if exists == nil {
		exists = ir.Exists
	}
	out := env
	out.Platform = ir.MacOS
	out.Resolve = func(p string) string { return Alias(resolve(unaliasIfAbsent(p, exists))) }
	out.Exists = func(p string) bool { return exists(p) || exists(unalias(p)) }
	return out
}

// unaliasIfAbsent maps /private/x back to /x when only the latter exists,
// so that resolving an already-canonical path works on hosts without
// /private.
func unaliasIfAbsent(p string, exists func(string) bool) string {
	if u := unalias(p); u != p && !exists(p) {
		return u
	}
	return p
}

// Binding is a payload bound on one host.
type Binding struct {
	// Values maps each parameter to its value.
	Values map[string]string
	// Args are the sandbox-exec -D arguments, in payload order.
	Args []string
	// Hosts are the places' canonical host paths, by index.
	Hosts []string
}

// Bind computes every parameter of the payload on the host env describes
// and checks the assumptions the profile was written under: paths under
// one root nest as their text says (no symlink below the root), no
// :minimal system root and variable root lie inside one another, and
// places of different roots nest only in ways the IN parameters express. A
// failed check is an error naming the paths: the artifact cannot be
// enforced faithfully here, so it is not run.
func Bind(pl *Payload, env ir.Env) (*Binding, error) {
	env = MacEnv(env)
	canon := env.Resolve
	n := len(pl.Places)
	hosts := make([]string, n)
	eff := make([]ir.Access, n)
	rootHost := map[string]string{"/": "/"}
	bindRoot := func(root string) (string, error) {
		if h, ok := rootHost[root]; ok {
			return h, nil
		}
		v, ok := env.Bindings.BindOK(root)
		if !ok {
			return "", diag.Errorf(diag.MacBadPath, "%s is not set on this host", root)
		}
		h := canon(v)
		rootHost[root] = h
		return h, nil
	}
	// lexical is where a path would be if nothing below its root were a
	// symlink.
	lexical := func(p, root string) (string, error) {
		rh, err := bindRoot(root)
		if err != nil {
			return "", err
		}
		if root == "/" {
			return Alias(p), nil
		}
		rest := strings.TrimPrefix(p, root)
		if rest == "" {
			return rh, nil
		}
		if rh == "/" {
			return rest, nil
		}
		return rh + rest, nil
	}
	for i, pc := range pl.Places {
		if pc.Minimal {
			hosts[i], eff[i] = pc.Path, pc.Access
			continue
		}
		v, ok := env.Bindings.BindOK(pc.Path)
		if !ok {
			return nil, diag.Errorf(diag.MacBadPath, "rule path %s: variable not set on this host", pc.Path)
		}
		h := canon(v)
		lex, err := lexical(pc.Path, pc.Root)
		if err != nil {
			return nil, err
		}
		if h != lex {
			return nil, diag.Errorf(diag.MacSymlinkedRule, "rule path %s resolves to %s through a symlink below %s; Seatbelt judges resolved paths, so name %s in the config", pc.Path, h, pc.Root, h)
		}
		hosts[i] = h
		if env.Exists(h) {
			eff[i] = pc.Access
		} else {
			eff[i] = pc.IfMissing
		}
	}
	globHosts := make([]string, len(pl.Globs))
	for i, g := range pl.Globs {
		hg, err := ir.Glob{Pattern: g.Pattern, Base: g.Base}.Bind(env)
		if errors.Is(err, ir.ErrUnbound) {
			return nil, diag.Errorf(diag.MacBadPath, "deny glob %s: variable not set on this host", g.Pattern)
		}
		if err != nil {
			return nil, diag.Errorf(diag.MacBadArtifact, "deny glob %s: %v", g.Pattern, err)
		}
		// Seatbelt matches resolved paths, so a base reached through a
		// symlink below its root is refused rather than followed.
		h := hg.Base
		lex, err := lexical(g.Base, g.Root)
		if err != nil {
			return nil, err
		}
		if h != lex {
			return nil, diag.Errorf(diag.MacSymlinkedRule, "deny glob %s: its base resolves to %s through a symlink below %s; write the glob under %s", g.Pattern, h, g.Root, h)
		}
		globHosts[i] = h
	}

	// :minimal roots are literals, in a section with no cross-root
	// guards: no variable root's place may lie at, below or above one.
	for i, pc := range pl.Places {
		if pc.Minimal || pc.Root == "/" || eff[i] == 0 {
			continue
		}
		for j, m := range pl.Places {
			if m.Minimal && (ir.HasPathPrefix(hosts[j], hosts[i]) || ir.HasPathPrefix(hosts[i], hosts[j])) {
				return nil, diag.Errorf(diag.MacLayoutMismatch, "%s is %s, which overlaps the system directory %s; the macOS artifact cannot carve one out of the other", pc.Path, hosts[i], m.Path)
			}
		}
	}

	b := &Binding{Values: map[string]string{}, Hosts: hosts}
	for _, pr := range pl.Params {
		var v string
		switch {
		case pr.Glob:
			if pr.Place < 0 || pr.Place >= len(globHosts) {
				return nil, diag.Errorf(diag.MacBadArtifact, "parameter %s names glob %d of %d", pr.Name, pr.Place, len(globHosts))
			}
			v = strings.TrimSuffix(globHosts[pr.Place], "/") + "/"
		case pr.Place >= 0 && pr.Place < n:
			h := hosts[pr.Place]
			switch pr.When {
			case "":
				v = h
			case "exists":
				v = pick(env.Exists(h), h)
			case "missing":
				v = pick(!env.Exists(h), h)
			case "in":
				in, err := decidesIn(pl, pr.Place, pr.Root, hosts, eff)
				if err != nil {
					return nil, err
				}
				v = pick(in, h)
			default:
				return nil, diag.Errorf(diag.MacBadArtifact, "parameter %s: unknown condition %q", pr.Name, pr.When)
			}
		default:
			return nil, diag.Errorf(diag.MacBadArtifact, "parameter %s names place %d", pr.Name, pr.Place)
		}
		if _, dup := b.Values[pr.Name]; dup {
			return nil, diag.Errorf(diag.MacBadArtifact, "parameter %s defined twice", pr.Name)
		}
		b.Values[pr.Name] = v
		b.Args = append(b.Args, "-D"+pr.Name+"="+v)
	}
	if err := checkCrossRoots(pl, hosts, eff, b.Values); err != nil {
		return nil, err
	}
	return b, nil
}

func pick(ok bool, v string) string {
	if ok {
		return v
	}
	return Unbound
}

// deeper reports whether place t decides over place n where both apply:
// t exists as a rule and lies strictly below n, or at n with a stronger
// access (deny > write > read).
func deeper(t, n int, hosts []string, eff []ir.Access) bool {
	if eff[t] == 0 {
		return false
	}
	if hosts[t] == hosts[n] {
		return eff[t] > eff[n]
	}
	return ir.HasPathPrefix(hosts[t], hosts[n])
}

// sectionPlace reports whether place i has a filter in its root's
// section on this host: a present, non-mandatory, non-:minimal place.
func sectionPlace(pl *Payload, i int, eff []ir.Access) bool {
	p := pl.Places[i]
	return !p.Mandatory && !p.Minimal && eff[i] != 0
}

// decidesIn reports whether place t decides inside some place of root
// (PATH_t_IN_ROOT is then bound, carving t out of that root's section),
// and refuses the layouts where carving t out of the whole section would
// also cut into a place of that root lying below t.
func decidesIn(pl *Payload, t int, root string, hosts []string, eff []ir.Access) (bool, error) {
	if eff[t] == 0 {
		return false, nil
	}
	in := false
	for n, p := range pl.Places {
		if p.Root == root && sectionPlace(pl, n, eff) && deeper(t, n, hosts, eff) {
			in = true
			break
		}
	}
	if !in {
		return false, nil
	}
	for n, p := range pl.Places {
		if p.Root != root || !sectionPlace(pl, n, eff) {
			continue
		}
		if hosts[n] != hosts[t] && ir.HasPathPrefix(hosts[n], hosts[t]) || hosts[n] == hosts[t] && eff[t] <= eff[n] {
			return false, diag.Errorf(diag.MacLayoutMismatch, "%s (%s) lies inside a %s rule and %s (%s) lies inside it in turn: the macOS artifact cannot express this nesting; name %s under one root in the config", pl.Places[t].Path, hosts[t], root, p.Path, hosts[n], hosts[n])
		}
	}
	return true, nil
}

// checkCrossRoots verifies that every place that decides inside a place
// of another root is carved out of that root's section by the IN
// parameter of itself or of an enclosing top place of its own root.
func checkCrossRoots(pl *Payload, hosts []string, eff []ir.Access, vals map[string]string) error {
	for ni, n := range pl.Places {
		if !sectionPlace(pl, ni, eff) {
			continue
		}
		for qi, q := range pl.Places {
			if q.Root == n.Root || !sectionPlace(pl, qi, eff) || !deeper(qi, ni, hosts, eff) {
				continue
			}
			covered := false
			for a := qi; a >= 0 && !covered; a = pl.Places[a].Parent {
				if pl.Places[a].Top {
					v, ok := vals[fmt.Sprintf("PATH_%d_IN_%s", a, rootSlug(n.Root))]
					covered = ok && v != Unbound
				}
			}
			if !covered {
				return diag.Errorf(diag.MacLayoutMismatch, "%s (%s) lies inside %s (%s) but below a rule of its own root that does not: the macOS artifact cannot express this nesting; name the path under %s in the config", q.Path, hosts[qi], n.Path, hosts[ni], n.Root)
			}
		}
	}
	return nil
}

// vnodeType is the Seatbelt vnode type of a host path ("" when missing).
func vnodeType(p string) string {
	st, err := os.Lstat(p)
	if err != nil {
		if st, err = os.Lstat(unalias(p)); err != nil {
			return ""
		}
	}
	m := st.Mode()
	switch {
	case m.IsDir():
		return "DIRECTORY"
	case m&os.ModeSymlink != 0:
		return "SYMLINK"
	case m&os.ModeCharDevice != 0:
		return "CHARACTER-DEVICE"
	case m&os.ModeDevice != 0:
		return "BLOCK-DEVICE"
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeSocket != 0:
		return "SOCKET"
	}
	return "REGULAR-FILE"
}

// MayWrite reports whether the sandbox might be able to write p under
// the bound payload: some place that grants write (when present or when
// missing) lies at or above it. It over-approximates (carve-outs are
// ignored), which is the safe side for choosing where the shim keeps the
// profile it hands to sandbox-exec.
func MayWrite(pl *Payload, b *Binding, env ir.Env, p string) bool {
	if pl.Unrestricted {
		return true
	}
	c := MacEnv(env).Resolve(p)
	for i, pc := range pl.Places {
		if pc.Mandatory || (pc.Access != ir.Write && pc.IfMissing != ir.Write) {
			continue
		}
		if i < len(b.Hosts) && ir.HasPathPrefix(c, b.Hosts[i]) {
			return true
		}
	}
	return false
}

// SandboxExec is the sandbox-exec the shim runs: an absolute path, so
// that one earlier on PATH cannot stand in for it (Codex does the same).
const SandboxExec = "/usr/bin/sandbox-exec"

// Command is the argv that runs argv under the profile stored in
// profileFile: sandbox-exec -f FILE -DKEY=VALUE... -- CMD ARGS. A file
// rather than -p: much faster for large profiles, and argv stays small.
func Command(profileFile string, b *Binding, argv []string) []string {
	out := make([]string, 0, 4+len(b.Args)+len(argv))
	out = append(out, SandboxExec, "-f", profileFile)
	out = append(out, b.Args...)
	out = append(out, "--")
	return append(out, argv...)
}
