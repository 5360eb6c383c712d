package artifact

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"polc/diag"
	"polc/ir"
)

// Bind gives the artifact's variables their host values. values maps a
// variable (ir.VarHome, ...) to its host value; empty means unset.
//
// A variable the artifact needs but the host does not set is refused when
// a deny rule, a mandatory rule or a deny glob uses it: dropping those
// would widen the sandbox. When only grants (read or write rules) use it,
// they name no path on this host and are left unbound, which can only
// narrow the sandbox; this is how Codex treats :tmpdir when $TMPDIR is
// unset. What happens to such rules is then the runtime's call: the Linux
// runtime refuses a rule whose variable is unbound, so the launch still
// fails closed, with its own message.
func (e *Envelope) Bind(values map[string]string) (ir.Env, error) {
	env := ir.Env{Bindings: ir.Bindings{}, Platform: ir.Platform(e.Scope.Platform)}
	for _, v := range e.Payload.Bindings {
		val := values[v]
		if val == "" {
			if use := restrictiveUse(e.Payload.Policy, v); use != "" {
				return ir.Env{}, errf(diag.ArtifactUnbound, "", "artifact needs %s for %s, but it is not set on this host", v, use)
			}
			continue
		}
		if !filepath.IsAbs(val) {
			return ir.Env{}, errf(diag.ArtifactUnbound, "", "%s is %q on this host, not an absolute path", v, val)
		}
		env.Bindings[v] = filepath.Clean(val)
	}
	return env, nil
}

// restrictiveUse names the first rule or glob under variable v that
// restricts access, "" when only grants use it.
func restrictiveUse(p *ir.Policy, v string) string {
	under := func(s string) bool { return s == v || strings.HasPrefix(s, v+"/") }
	for _, g := range p.Globs {
		if under(g.Base) {
			return "deny glob " + g.Pattern
		}
	}
	if under(firstOr(p.WorkspaceRoots, "")) {
		return "the primary workspace root"
	}
	for _, r := range p.Rules {
		if !under(r.Path) {
			continue
		}
		if r.Access == ir.Deny || r.Mandatory {
			return r.Access.String() + " rule " + r.Path
		}
		// A read rule only narrows a write grant of the same variable
		// above it, which vanishes with it; on its own it narrows what
		// a broader rule grants, and must not be dropped.
		if r.Access == ir.Read && !hasWriteAncestor(p, r, v) {
			return "read rule " + r.Path
		}
	}
	return ""
}

func hasWriteAncestor(p *ir.Policy, r ir.Rule, v string) bool {
	for _, w := range p.Rules {
		if w.Access == ir.Write && (w.Path == v || strings.HasPrefix(w.Path, v+"/")) && w.Path != r.Path && ir.HasPathPrefix(r.Path, w.Path) {
			return true
		}
	}
	return false
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// CheckStorage refuses an artifact that lives where its own policy lets
// the sandbox write: the artifact file, its side files, or any directory
// above them (a writable directory lets the sandbox replace the file). It
// asks ir.Decide, the reference every backend's evaluator is validated
// against, rather than an evaluator: the Linux evaluator plans the whole
// mount table and expands deny globs over the tree, a walk the launch
// does anyway and that this check, which only asks about a few paths,
// does not need (ir.Decide matches globs on the paths themselves).
// file must be absolute.
//
// One writable ancestor is tolerated: the top of a writable root itself
// (the directory a write rule names), because the sandbox mounts it there
// and cannot rename or replace it. That is what keeps .polc/ at the
// project root usable: the root is writable, .polc below it is
// protected, and nothing between them is writable.
func CheckStorage(a *Artifact, file string, env ir.Env) error {
	if a.Payload.Policy.Unrestricted {
		return errf(diag.ArtifactWritable, file, "profile %s disables the sandbox, so the command could rewrite this artifact wherever it is stored; run it with polc exec -P instead of --artifact", a.Scope.Profile)
	}
	return checkStored(a, env, storage{
		code: diag.ArtifactWritable, errFile: file, file: file, side: a.SideFiles(file), what: "artifact",
		fix: "keep artifacts in .polc/ at the project root or outside every writable root",
	})
}

// CheckTrustStorage refuses trust keys (--trust files and the system
// trust directory's) that the artifact's policy lets the sandbox write,
// as CheckStorage refuses the artifact: a trust key is what makes the
// next launch run an artifact, so a command that could replace it could
// choose the policy of a later run (sign its own artifact with its own
// key). The same single writable ancestor is tolerated: the top of a
// writable root, which the sandbox cannot rename or replace. Each key's
// File must be absolute.
func CheckTrustStorage(a *Artifact, artifactFile string, keys []PublicKey, env ir.Env) error {
	for _, k := range keys {
		if a.Payload.Policy.Unrestricted {
			return errf(diag.TrustKeyWritable, artifactFile, "profile %s disables the sandbox, so the command could rewrite trust key %s", a.Scope.Profile, k.File)
		}
		err := checkStored(a, env, storage{
			code: diag.TrustKeyWritable, errFile: artifactFile, file: k.File, what: "trust key " + k.File,
			fix: "keep trust keys outside every root the sandbox can write (for example in /etc/polc/trust.d or your home's config, read-only to the profile)",
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// storage is what checkStored judges: a file, the files stored beside
// it, and how a refusal names them.
type storage struct {
	code      diag.Code
	errFile   string // the file a refusal is about (the artifact)
	file      string
	side      []string
	what, fix string
}

func checkStored(a *Artifact, env ir.Env, st storage) error {
	file := st.file
	dec, err := ir.NewDecider(a.Payload.Policy, env)
	if err != nil {
		return errf(diag.ArtifactUnbound, st.errFile, "cannot bind the artifact's policy: %v", err)
	}
	resolve := env.Resolve
	if resolve == nil {
		resolve = ir.ResolvePath
	}
	// Symlinks on the way are entries the sandbox could re-point: judge
	// each lexical path as the entry itself (its directory resolved, its
	// last component not followed), besides judging the real path.
	entryEnv := env
	entryEnv.Resolve = func(p string) string {
		p = filepath.Clean(p)
		dir := filepath.Dir(p)
		if dir == p {
			return p
		}
		return filepath.Join(resolve(dir), filepath.Base(p))
	}
	entryDec, err := ir.NewDecider(a.Payload.Policy, entryEnv)
	if err != nil {
		return errf(diag.ArtifactUnbound, st.errFile, "cannot bind the artifact's policy: %v", err)
	}
	for _, p := range lexicalPaths(file, st.side) {
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			continue
		}
		if d := entryDec.Decide(p, ir.OpWrite); d.Allowed || d.AllowedWithinCap {
			return errf(st.code, st.errFile, "%s is reached through symlink %s, which the sandbox could re-point (%s); pass its real path, outside every writable root",
				st.what, p, strings.TrimPrefix(d.Reason(), "allowed: "))
		}
		// A read-only rule on the link itself (the protected .polc
		// turned into a link) does not hold it: no sandbox can mount
		// over a symlink, so a link in a writable directory can be
		// replaced whatever the rule on its name says.
		if parent := filepath.Dir(p); parent != p {
			if d := dec.Decide(parent, ir.OpWrite); d.Allowed || d.AllowedWithinCap {
				return errf(st.code, st.errFile, "%s is reached through symlink %s in %s, which the sandbox could write (%s) and so replace the link; make %s a real directory, or pass its real path outside every writable root",
					st.what, p, parent, strings.TrimPrefix(d.Reason(), "allowed: "), filepath.Base(p))
			}
		}
	}
	stored := map[string]bool{}
	for _, f := range append([]string{file}, st.side...) {
		stored[filepath.Clean(f)] = true
		stored[resolve(f)] = true
	}
	for _, p := range storagePaths(file, st.side) {
		d := dec.Decide(p, ir.OpWrite)
		if d.Allowed || d.AllowedWithinCap {
			if !stored[p] && !a.Payload.Policy.Unrestricted && d.Rule != nil && resolve(env.Bindings.Bind(d.Rule.Path)) == d.Path {
				continue // the top of a writable root: a mount point
			}
			return errf(st.code, st.errFile, "%s is stored where the sandbox could write it: %s is writable under profile %s (%s); %s",
				st.what, p, a.Scope.Profile, strings.TrimPrefix(d.Reason(), "allowed: "), st.fix)
		}
	}
	return nil
}

// lexicalPaths are the files and their ancestors as given.
func lexicalPaths(file string, side []string) []string {
	var out []string
	for _, f := range append([]string{file}, side...) {
		for p := filepath.Clean(f); ; p = filepath.Dir(p) {
			out = append(out, p)
			if filepath.Dir(p) == p {
				break
			}
		}
	}
	return out
}

// storagePaths are the files and every ancestor directory, both as given
// and with symlinks resolved, without duplicates.
func storagePaths(file string, side []string) []string {
	set := map[string]bool{}
	add := func(p string) {
		for {
			set[p] = true
			parent := filepath.Dir(p)
			if parent == p {
				return
			}
			p = parent
		}
	}
	for _, f := range append([]string{file}, side...) {
		f = filepath.Clean(f)
		add(f)
		if real, err := filepath.EvalSymlinks(f); err == nil {
			add(real)
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	// Deepest first, so a refusal names the file before its directories.
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}
