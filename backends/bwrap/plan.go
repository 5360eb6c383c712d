package bwrap

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"polc/diag"
	"polc/internal/globwalk"
	"polc/internal/maskstage"
	"polc/ir"
)

// Kind is what one concrete mount of a HostPlan does.
type Kind string

const (
	KindRootRO      Kind = "root-ro"     // --ro-bind / /
	KindRootRW      Kind = "root-rw"     // --bind / /
	KindRootTmp     Kind = "root-tmpfs"  // --perms 0111 --tmpfs / ... --remount-ro /
	KindDev         Kind = "dev"         // --dev /dev
	KindProc        Kind = "proc"        // --proc /proc
	KindROBind      Kind = "ro-bind"     // --ro-bind P P: read
	KindBind        Kind = "bind"        // --bind P P: write
	KindMaskDir     Kind = "mask-dir"    // --perms 0000|0111 --tmpfs P, read-only: deny
	KindBlocker     Kind = "blocker"     // empty read-only directory where a missing protected or denied path would appear
	KindTraverse    Kind = "traverse"    // --perms 0111 --dir P inside a tmpfs: lets carve-outs below be reached, lists nothing
	KindPlaceholder Kind = "placeholder" // --perms 0000|0111 --dir P inside a tmpfs: an existing denied directory the sandbox does not otherwise show, so links to it fail with EACCES
	KindSymlink     Kind = "symlink"     // --symlink T P in the tmpfs root, so logical paths of system roots work
	KindMaskFile    Kind = "mask-file"   // empty mode-000 read-only file bound over P by the inner stage
	KindMaskGlob    Kind = "mask-glob"   // a deny glob match masked by the inner stage (file or directory)
)

// Entry is one concrete mount, in the order it is made.
type Entry struct {
	Path string `json:"path"`
	Kind Kind   `json:"kind"`
	// Perms is the mode of tmpfs and directory entries.
	Perms os.FileMode `json:"perms,omitempty"`
	// Target is a symlink's text.
	Target string `json:"target,omitempty"`
	// Dir is set for inner-stage masks of directories.
	Dir bool `json:"dir,omitempty"`
	// Why names the rule or glob that asked for it.
	Why string `json:"why,omitempty"`
}

// Mask is one path the inner stage hides (files and glob matches);
// bubblewrap's own --ro-bind-data needs a descriptor per file and its
// setup is quadratic in the number of mounts, so thousands of masks go
// through polc's mask stage instead, which applies this type.
type Mask = maskstage.Mask

// HostPlan is an artifact bound to this host at launch: the concrete
// mount table, the bwrap arguments that build it, the masks the inner
// stage applies after it, and the mount points bwrap will create on the
// host (removed after the run).
type HostPlan struct {
	Artifact *Artifact
	// Entries are bwrap's mounts followed by the inner stage's masks.
	Entries []Entry
	// Args are bwrap's namespace and filesystem arguments (no command).
	Args []string
	// Masks are applied by the inner stage, in order.
	Masks []Mask
	// Synthetic are host paths that do not exist now and that bwrap will
	// create as mount points inside writable mounts.
	Synthetic []string
	// BeyondCap counts glob matches left unmasked by the depth cap.
	BeyondCap int
	// Guards are the existing paths the sandbox must not show, as they
	// were when planned: every file and directory a mask or an exact deny
	// hides. Before the command starts, polc checks that each is still
	// where it was on the host and that the sandbox shows the mask in its
	// place (a concurrent rename could have moved it out from under the
	// mount).
	Guards []Guard

	resolve func(string) string
	// walk is the deny globs' expansion, kept for CheckWalk; protected
	// are the real paths of the protected rules (mount points that other
	// launches make and remove: see CheckWalk).
	walk      *globwalk.Result
	protected map[string]bool
}

// NeedsCheck reports whether the launch must check the plan once the
// mounts are made: it hides something, or its glob walk must be
// verified.
func (hp *HostPlan) NeedsCheck() bool { return len(hp.Guards) > 0 || hp.walk != nil }

// CheckWalk reports a change since the plan, in a directory its deny-glob
// walk listed, that matters to the globs: a walk that ran while a
// concurrent process renamed directories can have missed a match
// (globwalk.Result.Verify). Mount points that bwrap (this launch's
// Synthetic) or another launch (placeholders for protected names) makes
// and removes do not count. It needs PlanOptions.CheckWalk; without
// deny globs there is nothing to check.
func (hp *HostPlan) CheckWalk() error {
	if hp.walk == nil {
		return nil
	}
	synthetic := map[string]bool{}
	for _, p := range hp.Synthetic {
		synthetic[p] = true
	}
	return hp.walk.Verify(func(p string) bool { return synthetic[p] || hp.protected[p] })
}

// WalkWatch is what CheckWalk learnt from the glob cache's change feed
// (globwalk.Options.Watch).
func (hp *HostPlan) WalkWatch() globwalk.WatchStats {
	if hp.walk == nil {
		return globwalk.WatchStats{}
	}
	return hp.walk.Stats.Watch
}

// WatchDue names the glob cache file whose watcher the launch should
// start, once CheckWalk has passed (globwalk.Result.WatchDue).
func (hp *HostPlan) WatchDue() (string, bool) {
	if hp.walk == nil {
		return "", false
	}
	return hp.walk.WatchDue()
}

// Resolve judges a host path where it really is, as the plan did
// (ir.ResolvePath, sharing the plan's lookups).
func (hp *HostPlan) Resolve(p string) string {
	if hp.resolve == nil {
		return ir.ResolvePath(p)
	}
	return hp.resolve(p)
}

// Guard is one path the sandbox hides, with the file it hid when
// planned.
type Guard struct {
	Path     string
	Dev, Ino uint64
}

// guard records the file at p (already Lstat'ed as fi) as hidden.
func (hp *HostPlan) guard(p string, fi os.FileInfo) {
	dev, ino := fileID(fi)
	hp.Guards = append(hp.Guards, Guard{Path: p, Dev: dev, Ino: ino})
}

// PlanOptions tune PlanHost.
type PlanOptions struct {
	// GlobCacheDir is globwalk's revalidation cache ("" = none); it must
	// lie where the sandbox cannot write.
	GlobCacheDir string
	// GlobCacheKey authenticates that cache (globwalk.Options.CacheKey):
	// without it the globs are walked afresh and nothing is cached.
	GlobCacheKey []byte
	// GlobWatch lets CheckWalk ask the cache's watcher which directories
	// changed (globwalk.Options.Watch), and WatchDue want one.
	GlobWatch bool
	// StateDirs are polc's own state directories on the host (the glob
	// cache's, the cleanup registry's). Whatever the profile, each is
	// read-only in the sandbox where it would otherwise be writable (held
	// empty and read-only while missing); where the sandbox cannot see
	// it, it stays hidden. Symlinks on their paths are resolved, not
	// refused: polc authenticates what it reads there (internal/statekey),
	// so a re-pointed link costs a sandbox nothing but its own cache.
	StateDirs []string
	// NoGlobs skips glob expansion (explain of exact mounts only).
	NoGlobs bool
	// CheckWalk keeps what the glob walk saw, for HostPlan.CheckWalk.
	// The caller must then run CheckWalk before the command starts and
	// plan again when it fails: the walk may take a warm cache's
	// directories as unchanged and leave their stats to CheckWalk
	// (globwalk.Options.DeferRevalidation).
	CheckWalk bool
}

type boundRule struct {
	logical, real string
	access        ir.Access
	mandatory     bool
	protected     bool
	minimal       bool
	exists, isDir bool
	fi            os.FileInfo // the Lstat of real, when it exists
	why           string
}

// PlanHost binds an artifact on this host. Every refusal is a
// *diag.Diagnostic with its code.
func PlanHost(art *Artifact, env ir.Env, opts PlanOptions) (*HostPlan, error) {
	if env.Resolve == nil {
		env.Resolve = newResolver().Resolve
	}
	hp := &HostPlan{Artifact: art, resolve: env.Resolve}
	if art.Unrestricted {
		return hp, nil
	}
	rules, err := bindRules(art, env)
	if err != nil {
		return nil, err
	}
	b := &builder{hp: hp}
	root := KindRootTmp
	var rest []boundRule
	for _, r := range rules {
		if r.real != "/" {
			rest = append(rest, r)
			continue
		}
		switch r.access {
		case ir.Write:
			root = KindRootRW
		case ir.Read:
			root = KindRootRO
		}
	}
	if err := checkSymlinks(rest, root); err != nil {
		return nil, err
	}
	switch root {
	case KindRootRO:
		b.add(Entry{Path: "/", Kind: root, Why: "read rule on /"}, "--ro-bind", "/", "/")
	case KindRootRW:
		b.add(Entry{Path: "/", Kind: root, Why: "write rule on /"}, "--bind", "/", "/")
	default:
		b.add(Entry{Path: "/", Kind: root, Perms: 0o111, Why: "no rule on /: nothing is visible but what the rules bind"}, "--perms", "0111", "--tmpfs", "/")
	}
	if art.Dev {
		b.add(Entry{Path: "/dev", Kind: KindDev, Why: "minimal /dev (null, zero, full, random, urandom, tty)"}, "--dev", "/dev")
	}
	for i, r := range rest {
		b.rule(r, rest[i+1:])
		if r.protected {
			if hp.protected == nil {
				hp.protected = map[string]bool{}
			}
			hp.protected[r.real] = true
		}
	}
	b.stateDirs(opts.StateDirs, env)
	if root == KindRootTmp {
		b.symlinks(rest)
	}
	if art.Proc {
		b.add(Entry{Path: "/proc", Kind: KindProc, Why: "fresh /proc of the new pid namespace"}, "--proc", "/proc")
		b.hp.Args = append(b.hp.Args, ProcCoverArgs...)
	}
	for _, p := range b.remount {
		b.hp.Args = append(b.hp.Args, "--remount-ro", p)
	}
	if root == KindRootTmp {
		b.hp.Args = append(b.hp.Args, "--remount-ro", "/")
	}
	if !opts.NoGlobs && len(art.Globs) > 0 {
		if err := b.globs(art, env, opts); err != nil {
			return nil, err
		}
	}
	return hp, nil
}

// bindRules binds, resolves and collapses the artifact's mounts: rules
// under a mandatory deny are dropped, and rules that land on the same
// real path keep the strongest access (deny > write > read), as ir.Decide
// breaks ties. The result is sorted by depth, then path.
func bindRules(art *Artifact, env ir.Env) ([]boundRule, error) {
	var all []boundRule
	for _, m := range art.Mounts {
		host, ok := env.Bindings.BindOK(m.Path)
		if !ok {
			return nil, diag.Errorf(diag.LinuxUnboundVariable, "rule %s: its variable is not bound on this host", m.Path)
		}
		if !filepath.IsAbs(host) {
			return nil, diag.Errorf(diag.LinuxBadArtifact, "rule %s binds to a relative path %q", m.Path, host)
		}
		logical := filepath.Clean(host)
		r := boundRule{logical: logical, real: env.Resolve(logical), access: parseAccess(m.Access),
			mandatory: m.Mandatory && m.Access == accessDeny, protected: m.Protected, minimal: m.Minimal, why: m.Origin}
		if r.why == "" {
			r.why = m.Path
		}
		if fi, err := os.Lstat(r.real); err == nil && fi.Mode()&os.ModeSymlink == 0 {
			r.exists, r.isDir, r.fi = true, fi.IsDir(), fi
		}
		if (m.SkipIfMissing || m.Minimal) && !r.exists {
			continue
		}
		all = append(all, r)
	}
	var mand []string
	for _, r := range all {
		if r.mandatory {
			mand = append(mand, r.real)
		}
	}
	var kept []boundRule
	for _, r := range all {
		drop := false
		for _, m := range mand {
			if ir.HasPathPrefix(r.real, m) && (!r.mandatory || r.real != m) {
				drop = true
				break
			}
		}
		if !drop {
			kept = append(kept, r)
		}
	}
	byPath := map[string]int{}
	var out []boundRule
	for _, r := range kept {
		i, seen := byPath[r.real]
		if !seen {
			byPath[r.real] = len(out)
			out = append(out, r)
			continue
		}
		cur := &out[i]
		switch {
		case r.access > cur.access:
			r.minimal = r.minimal && cur.minimal
			*cur = r
		case r.access == cur.access:
			cur.protected = cur.protected || r.protected
			cur.minimal = cur.minimal && r.minimal
			cur.mandatory = cur.mandatory || r.mandatory
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		di, dj := ir.Depth(out[i].real), ir.Depth(out[j].real)
		if di != dj {
			return di < dj
		}
		return out[i].real < out[j].real
	})
	return out, nil
}

// checkSymlinks refuses a deny or protected rule whose path crosses a
// symlink that sits in a writable mount: the sandbox could re-point the
// link after launch, so the mask would guard the wrong place (fail
// closed, as the reference does).
func checkSymlinks(rules []boundRule, root Kind) error {
	writable := func(p string) bool {
		best, acc := -1, ir.Deny
		if root == KindRootRW {
			acc = ir.Write
		} else if root == KindRootRO {
			acc = ir.Read
		}
		for _, r := range rules {
			if ir.HasPathPrefix(p, r.real) && ir.Depth(r.real) > best {
				best, acc = ir.Depth(r.real), r.access
			}
		}
		return acc == ir.Write
	}
	// The rules share most of their components (/home, /home/u, ...):
	// each is looked at once.
	type seen struct{ exists, link bool }
	looked := map[string]seen{}
	for _, r := range rules {
		if r.access != ir.Deny && !r.protected {
			continue
		}
		cur := ""
		for _, comp := range strings.Split(strings.TrimPrefix(r.logical, "/"), "/") {
			cur += "/" + comp
			v, ok := looked[cur]
			if !ok {
				fi, err := os.Lstat(cur)
				v = seen{err == nil, err == nil && fi.Mode()&os.ModeSymlink != 0}
				looked[cur] = v
			}
			if !v.exists {
				break
			}
			if v.link {
				parent := ir.ResolvePath(filepath.Dir(cur))
				if writable(parent) {
					kind := "deny-read"
					if r.access != ir.Deny {
						kind = "read-only"
					}
					return diag.Errorf(diag.LinuxSymlinkMask,
						"cannot enforce %s path %s (%s): it crosses symlink %s inside a writable mount; remove the link or name its target in the rule", kind, r.logical, r.why, cur)
				}
			}
		}
	}
	return nil
}

type builder struct {
	hp      *HostPlan
	made    []Entry // bwrap's entries so far, for nearest()
	remount []string
	dirs    map[string]bool
}

func (b *builder) add(e Entry, args ...string) {
	b.hp.Entries = append(b.hp.Entries, e)
	b.made = append(b.made, e)
	b.hp.Args = append(b.hp.Args, args...)
}

// nearest is the entry that decides what a path looks like in the
// sandbox: the deepest mount at or above it (the latest on a tie).
func (b *builder) nearest(p string) Entry {
	best := -1
	for i, e := range b.made {
		if e.Kind == KindSymlink {
			continue
		}
		if ir.HasPathPrefix(p, e.Path) && (best < 0 || ir.Depth(e.Path) >= ir.Depth(b.made[best].Path)) {
			best = i
		}
	}
	return b.made[best]
}

// access is what an entry grants to the paths it decides.
func (e Entry) access() ir.Access {
	switch e.Kind {
	case KindRootRW, KindBind:
		return ir.Write
	case KindRootRO, KindROBind, KindDev, KindProc:
		return ir.Read
	case KindBlocker:
		if e.Perms&0o444 != 0 {
			return ir.Read
		}
	}
	return ir.Deny
}

// inTmpfs reports whether an entry is a directory polc made in a tmpfs
// (so missing directories below it must be created by bwrap).
func (e Entry) inTmpfs() bool {
	switch e.Kind {
	case KindRootTmp, KindMaskDir, KindBlocker, KindTraverse, KindPlaceholder:
		return true
	}
	return false
}

// ancestors creates, traverse-only, every directory between a tmpfs and a
// mount below it, so that the mount is reachable but the tmpfs lists
// nothing (ir.Decide denies reading those directories).
func (b *builder) ancestors(p string) {
	var chain []string
	for a := filepath.Dir(p); a != "/"; a = filepath.Dir(a) {
		chain = append([]string{a}, chain...)
	}
	for _, a := range chain {
		n := b.nearest(a)
		if !n.inTmpfs() {
			continue
		}
		if n.Path == a {
			continue
		}
		if b.dirs == nil {
			b.dirs = map[string]bool{}
		}
		if b.dirs[a] {
			continue
		}
		b.dirs[a] = true
		b.add(Entry{Path: a, Kind: KindTraverse, Perms: 0o111, Why: "leads to " + p}, "--perms", "0111", "--dir", a)
	}
}

// firstMissing is the first component of a resolved path that does not
// exist ("" when the path exists).
func firstMissing(real string) string {
	cur := real
	missing := ""
	for {
		if _, err := os.Lstat(cur); err == nil {
			return missing
		}
		missing = cur
		parent := filepath.Dir(cur)
		if parent == cur {
			return missing
		}
		cur = parent
	}
}

func (b *builder) rule(r boundRule, later []boundRule) {
	n := b.nearest(r.real)
	if !r.exists {
		// Only a missing path inside a writable mount needs holding: the
		// sandbox could create it. Elsewhere nothing can appear.
		if r.access == ir.Write {
			return
		}
		f := firstMissing(r.real)
		if f == "" || b.nearest(filepath.Dir(f)).access() != ir.Write {
			return
		}
		if !mayCreateIn(filepath.Dir(f)) {
			// The directory is writable in the sandbox's mount table but
			// not for this user (a write rule on / run by a normal user):
			// the command, with this uid and no capability, cannot create
			// the path either, and bwrap could not make the mount point.
			return
		}
		perms := os.FileMode(0o555)
		if r.access == ir.Deny {
			perms = 0
		}
		b.hp.Synthetic = append(b.hp.Synthetic, f)
		b.add(Entry{Path: f, Kind: KindBlocker, Perms: perms, Why: r.why + " (missing; held empty and read-only)"},
			"--perms", fmt.Sprintf("%04o", perms), "--tmpfs", f)
		b.remount = append(b.remount, f)
		return
	}
	switch r.access {
	case ir.Read:
		if n.access() == ir.Read && n.Kind != KindBlocker {
			return
		}
		if r.protected && r.isDir && n.access() == ir.Write && emptyDir(r.real) {
			// An empty protected directory in a writable mount is most
			// likely another launch's placeholder (/tmp/.git while a
			// launch of another user or state directory runs), which that
			// launch removes when it ends: hold it as an empty read-only
			// tmpfs, which bwrap makes whether or not the directory is
			// still there, rather than bind it. Not Synthetic: it is not
			// this launch's to remove (the registry adopts it when a live
			// launch holds it, or when it is gone by then).
			b.add(Entry{Path: r.real, Kind: KindBlocker, Perms: 0o555, Why: r.why + " (empty; held empty and read-only)"},
				"--perms", "0555", "--tmpfs", r.real)
			b.remount = append(b.remount, r.real)
			return
		}
		b.ancestors(r.real)
		b.add(Entry{Path: r.real, Kind: KindROBind, Why: r.why}, "--ro-bind", r.real, r.real)
	case ir.Write:
		if n.access() == ir.Write {
			return
		}
		b.ancestors(r.real)
		b.add(Entry{Path: r.real, Kind: KindBind, Why: r.why}, "--bind", r.real, r.real)
	case ir.Deny:
		if n.access() == ir.Deny {
			b.placeholder(r, n, later)
			return
		}
		b.hp.guard(r.real, r.fi)
		if !r.isDir {
			b.hp.Masks = append(b.hp.Masks, Mask{Path: r.real})
			b.hp.Entries = append(b.hp.Entries, Entry{Path: r.real, Kind: KindMaskFile, Why: r.why})
			return
		}
		perms := denyDirPerms(r, later)
		b.ancestors(r.real)
		b.add(Entry{Path: r.real, Kind: KindMaskDir, Perms: perms, Why: r.why},
			"--perms", fmt.Sprintf("%04o", perms), "--tmpfs", r.real)
		b.remount = append(b.remount, r.real)
	}
}

// stateDirs holds polc's state directories read-only where the rules
// leave them writable: a sandbox must not rewrite the cache that decides
// the next launch's masks, nor the registry that decides what the next
// launch deletes. Made after every rule's mount, so that it covers any
// writable mount at or below them too.
func (b *builder) stateDirs(dirs []string, env ir.Env) {
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			continue
		}
		real := env.Resolve(filepath.Clean(d))
		if b.nearest(real).access() != ir.Write {
			continue
		}
		fi, err := os.Lstat(real)
		exists := err == nil && fi.Mode()&os.ModeSymlink == 0
		if !exists {
			b.rule(boundRule{logical: d, real: real, access: ir.Read, protected: true, why: "polc state " + d}, nil)
			continue
		}
		b.ancestors(real)
		b.add(Entry{Path: real, Kind: KindROBind, Why: "polc state " + d + " (read-only in every sandbox)"}, "--ro-bind", real, real)
	}
}

// emptyDir reports whether p is a directory with no entries.
func emptyDir(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	return len(names) == 0 && err == io.EOF
}

// denyDirPerms is the mode of a denied directory's mask: traverse-only
// when a later readable or writable rule lies below it (a carve-out),
// else closed.
func denyDirPerms(r boundRule, later []boundRule) os.FileMode {
	for _, l := range later {
		if l.access != ir.Deny && l.real != r.real && ir.HasPathPrefix(l.real, r.real) {
			return 0o111
		}
	}
	return 0
}

// placeholder holds an existing denied directory that the sandbox does
// not show (it lies in the tmpfs root, or in a traverse-only directory
// or mask) with an empty unreadable directory (--perms 0000 --dir, no
// mount, so it costs bwrap next to nothing and is not one of the
// inner stage's masks). Without it a symlink the sandbox sees (a project
// link to $ROOT/vault) dangles, and `ls link` lists the link itself and
// succeeds, where ir.Decide denies reading the directory; with it every
// access through the link fails with EACCES, as under the reference's
// mode-000 tmpfs. A denied file needs none: a dangling link fails
// reading and writing as a mode-000 file does, and `ls` of either
// succeeds. Inside a closed (0000) mask nothing is reachable anyway.
func (b *builder) placeholder(r boundRule, n Entry, later []boundRule) {
	if !r.isDir || !n.inTmpfs() || n.Path == r.real || n.Perms&0o111 == 0 || b.dirs[r.real] {
		return
	}
	perms := denyDirPerms(r, later)
	b.ancestors(r.real)
	if b.dirs == nil {
		b.dirs = map[string]bool{}
	}
	b.dirs[r.real] = true
	b.add(Entry{Path: r.real, Kind: KindPlaceholder, Perms: perms, Why: r.why + " (not otherwise in the sandbox; held unreadable for links to it)"},
		"--perms", fmt.Sprintf("%04o", perms), "--dir", r.real)
}

// symlinks recreates, in the tmpfs root, the symlinks on the logical
// paths of bound rules (/bin -> usr/bin on merged-/usr systems), so that
// /bin/sh and the ELF interpreter in /lib64 resolve as on the host.
func (b *builder) symlinks(rules []boundRule) {
	done := map[string]bool{}
	for _, r := range rules {
		if r.logical == r.real || !r.exists {
			continue
		}
		cur := ""
		for _, comp := range strings.Split(strings.TrimPrefix(r.logical, "/"), "/") {
			cur += "/" + comp
			fi, err := os.Lstat(cur)
			if err != nil || fi.Mode()&os.ModeSymlink == 0 {
				continue
			}
			n := b.nearest(cur)
			if !n.inTmpfs() || n.Path == cur || done[cur] {
				break
			}
			target, err := os.Readlink(cur)
			if err != nil {
				break
			}
			done[cur] = true
			b.ancestors(cur)
			b.add(Entry{Path: cur, Kind: KindSymlink, Target: target, Why: "logical path of " + r.why}, "--symlink", target, cur)
			break
		}
	}
}

// globs expands the deny globs on this host, within their caps (lifted
// where the sandbox can write: see regions), and masks every match the
// sandbox can see. A matched symlink cannot be
// masked itself (a mount over it lands on its target), and a path is
// judged where it really is (ir.Decide): reading the link reads its
// target, so the target is masked only when the globs deny the target
// itself (globDenies). A link named like a match that points to a file
// the policy lets the command read masks nothing: masking the target
// would deny an allowed file, and would let the sandbox plant
// `x.env -> /usr/lib/.../libc.so.6` to break the next launch. A target
// denied by an exact rule is already hidden by the mount table.
func (b *builder) globs(art *Artifact, env ir.Env, opts PlanOptions) error {
	var pats []globwalk.Pattern
	for _, g := range art.Globs {
		hg, err := ir.Glob{Pattern: g.Pattern, Base: g.Base, MaxDepth: g.MaxDepth}.Bind(env)
		if errors.Is(err, ir.ErrUnbound) {
			return diag.Errorf(diag.LinuxUnboundVariable, "glob %s: its variable is not bound on this host", g.Pattern)
		}
		if err != nil {
			return diag.Errorf(diag.LinuxBadArtifact, "%v", err)
		}
		pats = append(pats, globwalk.Pattern{Pattern: hg.Pattern, Base: hg.Base, MaxDepth: hg.MaxDepth})
	}
	cache := opts.GlobCacheDir
	if cache != "" && b.nearest(env.Resolve(cache)).access() == ir.Write {
		// The cache decides what gets masked: never keep it where the
		// sandbox could rewrite it (StateDirs normally holds it
		// read-only; its MAC covers a directory swapped by rename).
		cache = ""
	}
	// With CheckWalk the launch verifies the walk once the mounts are
	// made, and plans again if it fails: a warm walk may then leave the
	// cached directories' stats to that check (one stat each, not two).
	res, err := globwalk.Expand(pats, globwalk.Options{CacheDir: cache, CacheKey: opts.GlobCacheKey, Regions: b.regions(),
		Snapshot: opts.CheckWalk, DeferRevalidation: opts.CheckWalk, Watch: opts.CheckWalk && opts.GlobWatch})
	if err != nil {
		return diag.Errorf(diag.LinuxGlobScan, "%w", err)
	}
	if opts.CheckWalk {
		b.hp.walk = res
	}
	if len(res.Errors) > 0 {
		e := res.Errors[0]
		return diag.Errorf(diag.LinuxGlobScan, "cannot expand deny globs: %s: %s (%d unreadable directories); a directory polc cannot list might hide a match, so it refuses to run", e.Path, e.Err, len(res.Errors))
	}
	type target struct {
		path     string
		why      string
		dev, ino uint64 // as the walk saw the match (0: a link's target, not seen)
	}
	var targets []target
	for _, m := range globwalk.MaskRoots(res.Matches) {
		why := "deny glob " + art.Globs[m.Pattern].Pattern
		targets = append(targets, target{m.Path, why, m.Dev, m.Ino})
		if m.IsSymlink && m.LinkTarget != "" && b.globDenies(pats, m.LinkTarget) {
			targets = append(targets, target{m.LinkTarget, why + " (target of matched symlink " + m.Path + ")", 0, 0})
		}
	}
	sort.SliceStable(targets, func(i, j int) bool {
		di, dj := ir.Depth(targets[i].path), ir.Depth(targets[j].path)
		if di != dj {
			return di < dj
		}
		return targets[i].path < targets[j].path
	})
	var dirMasks []string
	seen := map[string]bool{}
	for _, t := range targets {
		if seen[t.path] {
			continue
		}
		seen[t.path] = true
		covered := false
		for _, d := range dirMasks {
			if ir.HasPathPrefix(t.path, d) {
				covered = true
				break
			}
		}
		if covered || (b.nearest(t.path).access() == ir.Deny && !b.visibleBelow(t.path)) {
			continue
		}
		fi, err := os.Lstat(t.path)
		if t.ino != 0 {
			// The walk saw a file here: it must still be the same one, or
			// the tree is changing under the launch (see Guards).
			if err != nil {
				return diag.Errorf(diag.LinuxTreeChanged, "%s: gone since the deny globs were expanded (%v)", t.path, err)
			}
			if dev, ino := fileID(fi); dev != t.dev || ino != t.ino {
				return diag.Errorf(diag.LinuxTreeChanged, "%s: replaced since the deny globs were expanded", t.path)
			}
		}
		if err != nil || fi.Mode()&os.ModeSymlink != 0 {
			// A matched symlink is never masked itself (its target is,
			// above, when the globs deny it); a target that does not
			// exist has nothing to hide.
			continue
		}
		if fi.IsDir() {
			dirMasks = append(dirMasks, t.path)
		}
		b.hp.guard(t.path, fi)
		b.hp.Masks = append(b.hp.Masks, Mask{Path: t.path, Dir: fi.IsDir()})
		b.hp.Entries = append(b.hp.Entries, Entry{Path: t.path, Kind: KindMaskGlob, Dir: fi.IsDir(), Why: t.why})
	}
	return nil
}

// regions tell the glob walk where the sandbox can write: there a deny
// glob's cap is lifted, because the sandbox could have moved a matched
// file below it (mv a x/y/z/w/) to read it at the next launch. Every
// mount is a region, writable or not, so that the nearest one says what
// the mount table says (b.nearest); read-only and denied mounts inside a
// writable one keep the cap.
func (b *builder) regions() []globwalk.Region {
	var out []globwalk.Region
	for _, e := range b.made {
		if e.Kind == KindSymlink {
			continue
		}
		out = append(out, globwalk.Region{Path: e.Path, Uncapped: e.access() == ir.Write})
	}
	return out
}

// globDenies reports whether a deny glob matches the resolved path p or
// one of its ancestors below the glob's base, within the glob's depth
// cap or where the sandbox can write: ir.Decide's glob test, as Linux
// enforces it (AllowedWithinCap).
func (b *builder) globDenies(pats []globwalk.Pattern, p string) bool {
	for _, g := range pats {
		for cand := p; ir.HasPathPrefix(cand, g.Base) && cand != g.Base; cand = filepath.Dir(cand) {
			if g.MaxDepth > 0 && ir.Depth(cand)-ir.Depth(g.Base) > g.MaxDepth && b.nearest(cand).access() != ir.Write {
				continue
			}
			if ok, _ := doublestar.Match(g.Pattern, cand); ok {
				return true
			}
		}
	}
	return false
}

// visibleBelow reports whether a mount below p makes something under it
// visible (a carve-out), so that a mask on p is still needed although p
// itself is hidden.
func (b *builder) visibleBelow(p string) bool {
	for _, e := range b.made {
		if e.Path != p && ir.HasPathPrefix(e.Path, p) && e.access() != ir.Deny {
			return true
		}
	}
	return false
}

// ProcCoverArgs make the kernel's global knobs under the fresh /proc
// read-only; they follow --proc /proc.
//
// A command run by root is the host's root: uid 0 in bwrap's user
// namespace is global uid 0, and the kernel checks sysctl writes
// against the global uid, not against capabilities, so
// kernel.core_pattern (host code execution as root at the next crash),
// kernel.modprobe and the rest are writable; /proc/sysrq-trigger
// (mode 0200, no capability check) reboots or crashes the host.
// bubblewrap covers these itself only when access(W_OK) says they are
// writable, which is not reliable (the /proc/sys directory answers
// EACCES to W_OK for everyone, though its files accept writes), so
// polc covers them unconditionally.
//
// A bind's source is resolved in the host's root, so these bind the
// host's /proc entries read-only, not the new /proc's: bubblewrap can
// bind only host paths. That is sound: what /proc/sys shows depends on
// the namespaces of the process that opens it (net, ipc, uts and the
// pid namespace's ns_last_pid are the opener's), not on the /proc
// instance, so the sandbox still sees its own values; the binds are
// recursive and read-only, so a host mount below /proc/sys
// (binfmt_misc) shows read-only too. /proc/sys must exist on the host
// (--ro-bind: a launch fails closed otherwise), which also proves the
// host's /proc is a full procfs (subset=pid hides it), so that the
// other three, when missing there, are missing from the kernel
// (CONFIG_MAGIC_SYSRQ=n) and --ro-bind-try loses nothing.
//
// A command cannot undo them: bwrap's mounts are locked in the
// sandbox's mount namespace, and a fresh procfs mounted in a nested
// user namespace is refused while a locked mount hides part of /proc
// (the kernel's mount_too_revealing).
var ProcCoverArgs = []string{
	"--ro-bind", "/proc/sys", "/proc/sys",
	"--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger",
	"--ro-bind-try", "/proc/irq", "/proc/irq",
	"--ro-bind-try", "/proc/bus", "/proc/bus",
}
