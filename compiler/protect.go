package compiler

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"polc/ir"
)

// protectedNames stay read-only directly under every writable root
// (PROTECTED_METADATA_PATH_NAMES; .aws too, as Codex 0.169.0 protects it —
// its test sandbox_blocks_metadata_writes_inside_writable_root checks
// .aws/config, and an AWS config can name a credential_process to run —
// plus .polc where committed artifacts live: the sandbox must not rewrite
// the policy of its next run).
var protectedNames = []string{".agents", ".aws", ".codex", ".git", ".polc"}

// alwaysProtected are protected under the primary workspace root even
// when missing (protect_missing_dot_codex), so that creating them goes
// through approval.
var alwaysProtected = map[string]bool{".codex": true, ".polc": true}

// codexProtectedNames are the reference's own protected names. Under a
// writable root that is an existing directory they stay read-only even
// when missing: Codex 0.169.0 masks each missing one (an empty read-only
// directory) under every writable root, so the sandbox cannot plant a
// .git (hooks, core.fsmonitor) that git outside the sandbox would obey.
// .polc is polc's own and keeps the narrower rule above. The shared
// temporary directories (/tmp, $TMPDIR) are no exception: a user's next
// git command there would obey a planted $TMPDIR/.git. Concurrent
// launches share those placeholders; the runtime counts their holders
// (shim/synthetic_linux.go), so that none is removed under another
// launch's mount.
var codexProtectedNames = map[string]bool{".git": true, ".agents": true, ".aws": true, ".codex": true}

// protectMetadata adds a read rule for each protected name under each
// writable root, unless a rule names that exact path (an explicit rule of
// any access replaces the default, append_default_read_only_entry_if_no_explicit_rule).
func (s *state) protectMetadata() {
	pol := s.policy
	if pol == nil || pol.Unrestricted {
		return
	}
	explicit := make(map[string]bool, len(pol.Rules))
	for _, r := range pol.Rules {
		explicit[r.Path] = true
	}
	var roots []ir.Rule
	for _, r := range pol.Rules {
		if r.Access == ir.Write && !r.Mandatory {
			roots = append(roots, r)
		}
	}
	// The protections are appended in place: roots are copies.
	pol.Rules = slices.Grow(pol.Rules, len(roots)*len(protectedNames))
	for _, root := range roots {
		// A missing root, or one that is a file, has no children to
		// protect (and the reference skips missing writable roots).
		host, ok := s.bindings.BindOK(root.Path)
		rootIsDir := false
		if ok {
			st, err := s.stat(host)
			rootIsDir = err == nil && st.IsDir()
		}
		for _, name := range protectedNames {
			target := joinSym(root.Path, name)
			if explicit[target] {
				continue
			}
			explicit[target] = true
			keepMissing := (root.Path == ir.VarWorkspaceRoot && alwaysProtected[name]) ||
				(rootIsDir && codexProtectedNames[name])
			pol.Rules = append(pol.Rules, ir.Rule{Path: target, Access: ir.Read,
				SkipIfMissing: !keepMissing,
				Origin:        ir.Origin{Kind: ir.OriginProtected, Key: name, Pos: root.Origin.Pos, Profile: root.Origin.Profile}})
		}
	}

	// A .git file pointing at its gitdir (worktrees, submodules) protects
	// the gitdir too, when the policy would otherwise let it be written.
	// The decider is built when the first such pointer is found (most
	// roots have none): before that, nothing is added to the rules.
	var dec *ir.Decider
	for _, root := range roots {
		gitPath := joinSym(root.Path, ".git")
		host, ok := s.bindings.BindOK(gitPath)
		if !ok {
			continue
		}
		if _, err := s.lstat(host); err != nil {
			continue // no .git here: nothing points elsewhere
		}
		target := gitdirTarget(host)
		if target == "" {
			continue
		}
		// A gitdir that does not exist yet is held at its first missing
		// component: were the sandbox to create it, the user's next git
		// command outside the sandbox would run the hooks planted there.
		// (The reference protects only an existing gitdir.)
		missing := false
		if _, err := os.Stat(target); err != nil {
			if target = firstMissing(target); target == "" {
				continue
			}
			missing = true
		}
		if dec == nil {
			var err error
			if dec, err = ir.NewDecider(pol, s.hostEnv()); err != nil {
				return
			}
		}
		if !dec.Decide(target, ir.OpWrite).Allowed {
			continue
		}
		sym := s.bindings.Symbolize(target)
		if explicit[sym] {
			continue
		}
		explicit[sym] = true
		pol.Rules = append(pol.Rules, ir.Rule{Path: sym, Access: ir.Read, SkipIfMissing: !missing,
			Origin: ir.Origin{Kind: ir.OriginProtected, Key: ".git gitdir", Pos: root.Origin.Pos, Profile: root.Origin.Profile}})
	}
}

// gitdirTarget reads a ".git" file of the form "gitdir: PATH" and returns
// the target, cleaned (relative paths are relative to the file's
// directory), or "" when the file is not such a pointer.
func gitdirTarget(gitFile string) string {
	st, err := os.Lstat(gitFile)
	if err != nil || !st.Mode().IsRegular() || st.Size() > 64<<10 {
		return ""
	}
	f, err := os.Open(gitFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return ""
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
	if !ok {
		return ""
	}
	target := strings.TrimSpace(rest)
	if target == "" {
		return ""
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(gitFile), target)
	}
	return filepath.Clean(target)
}

// firstMissing returns the topmost missing ancestor of a missing path
// (the path itself when its parent exists): what the sandbox would
// create first. It returns "" when that ancestor's parent is not a
// directory (nothing can be created there) or the path exists.
func firstMissing(p string) string {
	if _, err := os.Lstat(p); err == nil {
		return ""
	}
	for {
		parent := filepath.Dir(p)
		if parent == p {
			return ""
		}
		st, err := os.Stat(parent)
		if err == nil {
			if !st.IsDir() {
				return ""
			}
			return p
		}
		p = parent
	}
}
