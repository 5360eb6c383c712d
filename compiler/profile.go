package compiler

import (
	"fmt"
	"strings"
	"sync"

	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// Built-in profile ids (codex-rs/protocol/src/models.rs).
const (
	builtinReadOnly  = ":read-only"
	builtinWorkspace = ":workspace"
	builtinFull      = ":danger-full-access"
)

// builtinBodies are the TOML bodies the extensible built-ins contribute
// (extensible_builtin_parent_profile), so that a child merges onto them
// key by key exactly as onto a user profile.
var builtinBodies = map[string]string{
	builtinReadOnly: `[filesystem]
":root" = "read"
`,
	builtinWorkspace: `[filesystem]
":root" = "read"
":slash_tmp" = "write"
":tmpdir" = "write"
[filesystem.":workspace_roots"]
"." = "write"
".git" = "read"
".agents" = "read"
".codex" = "read"
`,
}

// legacyModes maps sandbox_mode onto the built-in it is equivalent to.
var legacyModes = map[string]string{
	"read-only":          builtinReadOnly,
	"workspace-write":    builtinWorkspace,
	"danger-full-access": builtinFull,
}

// profile is the selected profile before binding: its filesystem entries
// are still relative to specials (:workspace_roots, :tmpdir).
type profile struct {
	id      string
	extends []string
	pos     diag.Pos // where it was selected
	// tablePos is where its filesystem table (or the profile) is written.
	tablePos diag.Pos
	// implicit is Codex's default (no selection key anywhere).
	implicit bool
	legacy   bool

	unrestricted   bool
	minimal        *ir.Origin
	workspaceRoots []string // extra roots beyond ${WORKSPACE_ROOT}, symbolic
	entries        []entry
	scanDepth      int
	scanDepthPos   diag.Pos // where glob_scan_max_depth was written
	network        ir.Network
	// net is the profile's network table as read (nil without one);
	// resolveNetwork decides from it, the requirements and the features
	// what network the policy gets.
	net *netProfile
}

// entry is one filesystem rule before binding.
type entry struct {
	// base is a special (":root", ":workspace_roots", ":tmpdir",
	// ":slash_tmp") or a symbolic absolute path.
	base string
	// sub is the relative sub-path below base ("" for base itself).
	sub       string
	glob      bool
	access    ir.Access
	mandatory bool
	origin    ir.Origin
}

// resolveProfile selects the profile, follows its extends chain, and
// compiles the merged body into entries.
func (s *state) resolveProfile() {
	perms := s.profileTables()
	// Every user profile is checked on its own, selected or not: Codex
	// deserializes all of them, and a typo in another profile is still a typo.
	for _, name := range perms.names {
		s.validateProfile(name, perms.tabs[name], perms.keyPos[name])
	}

	sel := s.sel
	if sel.legacy && s.reqs.forcesProfiles() {
		s.diags.Addf(diag.LegacyIgnored, sel.pos, "replace sandbox_mode with default_permissions",
			"sandbox_mode %q is ignored: managed requirements (%s) select permission profiles", sel.name, s.reqs.profilesPos)
		sel = selection{}
	}
	if sel.name == "" {
		switch {
		case s.top.defaultPermissions != nil && !sel.legacy:
			v := s.top.defaultPermissions
			sel = selection{name: v.Str, pos: v.Pos, explicit: true}
		case s.reqs.defaultPermissions != nil:
			v := s.reqs.defaultPermissions
			sel = selection{name: v.Str, pos: v.Pos, explicit: true}
		default:
			// default_builtin_permission_profile_name: any trust decision
			// gives :workspace, none gives :read-only.
			sel = selection{name: builtinReadOnly}
			if s.trust.level != "" {
				sel = selection{name: builtinWorkspace, pos: s.trust.pos}
			}
		}
	}
	if s.top.permissions != nil && s.top.permissions.Tab.Len() > 0 && s.top.defaultPermissions == nil &&
		s.reqs.defaultPermissions == nil && !sel.forced && !sel.legacy {
		first := s.top.permissions.Tab.Get(s.top.permissions.Tab.Keys()[0]).KeyPos
		s.diags.Addf(diag.NoDefaultPermissions, first, `add default_permissions = "NAME" at the top of config.toml, or pass -P NAME`,
			"config defines `[permissions]` profiles but does not set `default_permissions`")
	}
	s.sel = sel

	switch {
	case sel.legacy:
		s.prof = s.legacyProfile(sel)
	case !sel.explicit && sel.name == builtinWorkspace:
		// The implicit :workspace honours [sandbox_workspace_write]
		// (implicit_builtin_workspace_profile_preserves_sandbox_workspace_write_settings).
		s.prof = s.legacyProfile(selection{name: "workspace-write", pos: sel.pos})
		s.prof.legacy = false
		s.prof.implicit = true
	default:
		s.prof = s.namedProfile(sel, perms)
	}
	if s.prof == nil {
		s.stop = true
		return
	}
	s.prof.pos = sel.pos
	s.prof.implicit = s.prof.implicit || !sel.explicit
	if sel.explicit && !sel.legacy {
		s.warnLegacyIgnored(sel)
	}
}

// profileSet is the user's [permissions] profiles plus the managed ones.
type profileSet struct {
	names  []string
	tabs   map[string]*syntax.Tab
	keyPos map[string]diag.Pos
}

func (s *state) profileTables() profileSet {
	ps := profileSet{tabs: map[string]*syntax.Tab{}, keyPos: map[string]diag.Pos{}}
	add := func(t *syntax.Tab, managed bool) {
		for _, name := range t.Keys() {
			v := t.Get(name)
			if managed && name == "filesystem" {
				continue // the reserved requirements table, not a profile
			}
			if strings.HasPrefix(name, ":") {
				s.diags.Addf(diag.ReservedProfileName, v.KeyPos, "rename the profile without the leading ':' (names starting with ':' are built-ins)",
					"permissions profile `%s` uses a reserved built-in profile prefix", name)
				continue
			}
			what := "permissions." + syntax.QuoteKey(name)
			if !s.expect(v, syntax.Table, what) {
				continue
			}
			if _, dup := ps.tabs[name]; dup {
				s.diags.Addf(diag.BadRequirement, v.KeyPos, "rename the user profile; managed profiles cannot be redefined",
					"permissions profile `%s` is also defined by managed requirements (%s)", name, ps.keyPos[name])
				continue
			}
			ps.names = append(ps.names, name)
			ps.tabs[name] = v.Tab
			ps.keyPos[name] = v.KeyPos
		}
	}
	if s.reqs != nil && s.reqs.profiles != nil {
		add(s.reqs.profiles, true)
	}
	if s.top.permissions != nil {
		add(s.top.permissions.Tab, false)
	}
	return ps
}

// namedProfile resolves a profile id: a built-in, or a user profile with
// its extends chain merged parent → child (PermissionsToml::resolve_profile).
func (s *state) namedProfile(sel selection, perms profileSet) *profile {
	name := sel.name
	// Who named the profile: -P on the command line, or the config key.
	who := "default_permissions refers to"
	if sel.forced {
		who = "-P names"
	}
	builtins := []string{builtinReadOnly, builtinWorkspace, builtinFull}
	// hint suggests the nearest profile name: a built-in written without
	// its ':' ("read-only"), or a typo of a defined profile.
	hint := func() string {
		if !strings.HasPrefix(name, ":") {
			if m := didYouMean(":"+name, builtins); m != "" || contains(builtins, ":"+name) {
				if m == "" {
					m = ":" + name
				}
				return fmt.Sprintf("write %q (built-in profiles start with ':')", m)
			}
		}
		if m := didYouMean(name, append(append([]string(nil), perms.names...), builtins...)); m != "" {
			return fmt.Sprintf("write %q (the nearest profile name)", m)
		}
		return ""
	}
	if strings.HasPrefix(name, ":") {
		switch name {
		case builtinFull:
			return &profile{id: name, unrestricted: true, network: ir.Network{Mode: ir.NetworkFull, Origin: ir.Origin{Kind: ir.OriginBuiltin, Profile: name}}}
		case builtinReadOnly, builtinWorkspace:
			return s.builtinProfile(name)
		}
		fix := "use :read-only, :workspace or :danger-full-access (:danger-no-sandbox was renamed :danger-full-access)"
		if h := hint(); h != "" {
			fix = h
		}
		s.diags.Addf(diag.UnknownProfile, sel.pos, fix, "%s unknown built-in profile `%s`", who, name)
		return nil
	}
	if len(perms.names) == 0 {
		fix := fmt.Sprintf("define the profile: [permissions.%s] with a filesystem table", syntax.QuoteKey(name))
		if h := hint(); h != "" {
			fix = h + "; otherwise " + fix
		}
		if sel.forced {
			s.diags.Addf(diag.UnknownProfile, sel.pos, fix, "-P names profile `%s`, but the config has no `[permissions]` table", name)
		} else {
			s.diags.Addf(diag.UnknownProfile, sel.pos, fix, "default_permissions requires a `[permissions]` table (profile `%s` is not defined)", name)
		}
		return nil
	}
	if perms.tabs[name] == nil {
		fix := fmt.Sprintf("define [permissions.%s], or select one of: %s", syntax.QuoteKey(name), strings.Join(perms.names, ", "))
		if h := hint(); h != "" {
			fix = h + "; otherwise " + fix
		}
		s.diags.Addf(diag.UnknownProfile, sel.pos, fix, "%s undefined profile `%s`", who, name)
		return nil
	}

	// Follow extends to the root, then merge root → child.
	chain := []string{name}
	bodies := []*syntax.Tab{perms.tabs[name]}
	seen := map[string]bool{name: true}
	cur := perms.tabs[name]
	curName := name
	for {
		ev := cur.Get("extends")
		if ev == nil || ev.Kind != syntax.String {
			break
		}
		parent := ev.Str
		if seen[parent] {
			s.diags.Addf(diag.ExtendsCycle, ev.Pos, "remove one extends so that the chain ends at a built-in or a profile without extends",
				"permissions profile inheritance cycle detected: %s -> %s", strings.Join(chain, " -> "), parent)
			return nil
		}
		if strings.HasPrefix(parent, ":") {
			if _, ok := builtinBodies[parent]; !ok {
				s.diags.Addf(diag.ExtendsUnsupported, ev.Pos, "extend :read-only or :workspace; :danger-full-access disables the sandbox and cannot be extended",
					"permissions profile `%s` cannot extend unsupported built-in profile `%s`", curName, parent)
				return nil
			}
			chain = append(chain, parent)
			bodies = append(bodies, builtinTab(parent))
			break
		}
		pt := perms.tabs[parent]
		if pt == nil {
			s.diags.Addf(diag.ExtendsUndefined, ev.Pos, fmt.Sprintf("define [permissions.%s] or fix the name", syntax.QuoteKey(parent)),
				"permissions profile `%s` extends undefined profile `%s`", curName, parent)
			return nil
		}
		seen[parent] = true
		chain = append(chain, parent)
		bodies = append(bodies, pt)
		cur, curName = pt, parent
	}
	p := s.compileBody(name, s.mergeChain(chain, bodies), perms.keyPos[name], false)
	p.extends = chain[1:]
	return p
}

// mergeProfileChain merges the bodies of an extends chain (the
// selected profile first, its root last) root → child, each value
// marked with the profile it comes from.
func mergeProfileChain(chain []string, bodies []*syntax.Tab) *syntax.Tab {
	merged := syntax.NewTab()
	for i := len(bodies) - 1; i >= 0; i-- {
		body := bodies[i].Clone()
		body.Delete("extends")
		body.Delete("description")
		tv := syntax.TableValue(body, diag.Pos{})
		tv.SetOrigin(chain[i])
		if strings.HasPrefix(chain[i], ":") {
			tv.SetPositions(diag.Pos{})
		}
		syntax.MergeInherit(merged, body)
	}
	return merged
}

// builtinTab is the body of an extensible built-in, parsed once per
// process. The table is shared: callers must not change it (the extends
// chain clones what it merges).
func builtinTab(name string) *syntax.Tab {
	builtinTabsOnce.Do(func() {
		builtinTabs = map[string]*syntax.Tab{}
		for n, body := range builtinBodies {
			t, _ := syntax.Parse("builtin "+n, []byte(body))
			v := syntax.TableValue(t, diag.Pos{})
			v.SetPositions(diag.Pos{})
			v.SetOrigin(n)
			builtinTabs[n] = t
		}
	})
	return builtinTabs[name]
}

var (
	builtinTabsOnce sync.Once
	builtinTabs     map[string]*syntax.Tab
)

func (s *state) builtinProfile(name string) *profile {
	return s.compileBody(name, builtinTab(name), diag.Pos{}, false)
}

// compileBody reads one profile table. validateOnly compiles a profile
// on its own for its diagnostics (it may rely on its parent for content).
func (s *state) compileBody(name string, t *syntax.Tab, pos diag.Pos, validateOnly bool) *profile {
	errorsBefore := len(s.diags.Errors())
	p := &profile{id: name, network: ir.Network{Mode: ir.NetworkNone, Origin: ir.Origin{Kind: ir.OriginDefault, Profile: name}}}
	var fsv *syntax.Value
	for _, k := range t.Keys() {
		v := t.Get(k)
		what := "permissions." + syntax.QuoteKey(name) + "." + syntax.QuoteKey(k)
		switch k {
		case "extends", "description":
			s.expect(v, syntax.String, what)
		case "workspace_roots":
			if s.expect(v, syntax.Table, what) {
				s.compileWorkspaceRoots(p, v.Tab, what)
			}
		case "filesystem":
			if s.expect(v, syntax.Table, what) {
				fsv = v
			}
		case "network":
			if s.expect(v, syntax.Table, what) {
				s.compileNetwork(p, v, what)
			}
		default:
			s.unknownKeyIn(v, "permissions."+syntax.QuoteKey(name), k, knownKeys(configFile, "permissions.*"), true)
		}
	}
	p.tablePos = pos
	if fsv != nil {
		s.compileFilesystem(p, fsv.Tab, "permissions."+syntax.QuoteKey(name)+".filesystem")
		if !fsv.KeyPos.IsZero() {
			p.tablePos = fsv.KeyPos
		}
	}
	// An empty profile is worth a warning, unless its entries were
	// rejected with errors already.
	if !validateOnly && p.minimal == nil && len(p.entries) == 0 && len(s.diags.Errors()) == errorsBefore {
		if fsv != nil {
			pos = fsv.KeyPos
		}
		s.diags.Addf(diag.EmptyFilesystem, pos, `add a [permissions.NAME.filesystem] table, for example ":workspace_roots" = "write"`,
			"Permissions profile `%s` does not define any recognized filesystem entries; filesystem access will remain restricted", name)
	}
	return p
}

// compileWorkspaceRoots reads workspace_roots = { "path" = true }: extra
// roots that :workspace_roots stands for, resolved against the project.
func (s *state) compileWorkspaceRoots(p *profile, t *syntax.Tab, what string) {
	for _, k := range t.Keys() {
		v := t.Get(k)
		if !s.expect(v, syntax.Bool, what+"."+syntax.QuoteKey(k)) || !v.Bool {
			continue
		}
		if strings.ContainsRune(k, 0) {
			s.diags.Addf(diag.NulInPath, v.KeyPos, "remove the \\u0000 escape from the path", "workspace root %q contains a NUL byte", k)
			continue
		}
		var root string
		switch {
		case k == "~" || strings.HasPrefix(k, "~/"):
			if climbsAbove(strings.TrimPrefix(k, "~")) {
				s.diags.Addf(diag.BadWorkspaceRoot, v.KeyPos, "write the absolute path it means instead",
					"workspace root `%s` climbs above the home directory with `..`", k)
				continue
			}
			root = ir.VarHome + cleanSub(strings.TrimPrefix(k, "~"))
		case strings.HasPrefix(k, "/"):
			root = cleanPath(k)
		default:
			if !validSubpath(k) {
				s.diags.Addf(diag.BadWorkspaceRoot, v.KeyPos, "write an absolute path, ~/..., or a path inside the project without . or ..",
					"workspace root `%s` must be absolute or a descendant of the project directory", k)
				continue
			}
			root = ir.VarWorkspaceRoot + "/" + strings.TrimSuffix(k, "/")
		}
		if root == ir.VarWorkspaceRoot {
			continue
		}
		if host, ok := s.bindings.BindOK(root); ok {
			if fi, err := s.stat(host); err == nil && !fi.IsDir() {
				s.diags.Addf(diag.BadWorkspaceRoot, v.KeyPos, "name the directory that holds it, or remove the entry",
					"workspace root `%s` is a file, not a directory", k)
				continue
			}
		}
		dup := false
		for _, r := range p.workspaceRoots {
			dup = dup || r == root
		}
		if !dup {
			p.workspaceRoots = append(p.workspaceRoots, root)
		}
	}
}

// cleanPath cleans an absolute path lexically (AbsolutePathBuf does).
func cleanPath(p string) string {
	if p == "/" {
		return p
	}
	parts := strings.Split(p, "/")
	var out []string
	for _, c := range parts {
		switch c {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, c)
		}
	}
	return "/" + strings.Join(out, "/")
}

// cleanSub cleans "/a/b" (a suffix after ~); "" stays "".
func cleanSub(rest string) string {
	if rest == "" || rest == "/" {
		return ""
	}
	c := cleanPath(rest)
	if c == "/" {
		return ""
	}
	return c
}

// validSubpath reports whether s is a non-empty relative path of normal
// components (a trailing slash is tolerated).
func validSubpath(s string) bool {
	s = strings.TrimSuffix(s, "/")
	if s == "" || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") {
		return false
	}
	for _, c := range strings.Split(s, "/") {
		if c == "" || c == "." || c == ".." {
			return false
		}
	}
	return true
}

// legacyProfile maps sandbox_mode and [sandbox_workspace_write] onto
// entries (From<&SandboxPolicy> for FileSystemSandboxPolicy).
func (s *state) legacyProfile(sel selection) *profile {
	origin := ir.Origin{Kind: ir.OriginLegacy, Key: "sandbox_mode = " + sel.name, Pos: sel.pos}
	p := &profile{id: legacyModes[sel.name], legacy: true, network: ir.Network{Mode: ir.NetworkNone, Origin: origin}}
	switch sel.name {
	case "danger-full-access":
		p.unrestricted = true
		p.network.Mode = ir.NetworkFull
		return p
	case "read-only":
		p.entries = append(p.entries, entry{base: ":root", access: ir.Read, origin: withKey(origin, ":root")})
		return p
	}
	var sww *syntax.Tab
	if s.top.sww != nil {
		sww = s.top.sww.Tab
	}
	flag := func(k string) (bool, diag.Pos) {
		if v := sww.Get(k); v != nil && v.Kind == syntax.Bool {
			return v.Bool, v.Pos
		}
		return false, diag.Pos{}
	}
	p.entries = append(p.entries,
		entry{base: ":root", access: ir.Read, origin: withKey(origin, ":root")},
		entry{base: ":workspace_roots", access: ir.Write, origin: withKey(origin, ":workspace_roots")})
	if ex, _ := flag("exclude_slash_tmp"); !ex {
		p.entries = append(p.entries, entry{base: ":slash_tmp", access: ir.Write, origin: withKey(origin, ":slash_tmp")})
	}
	if ex, _ := flag("exclude_tmpdir_env_var"); !ex {
		p.entries = append(p.entries, entry{base: ":tmpdir", access: ir.Write, origin: withKey(origin, ":tmpdir")})
	}
	if wr := sww.Get("writable_roots"); wr != nil && wr.Kind == syntax.Array {
		for _, e := range wr.Arr {
			if e.Kind != syntax.String || strings.ContainsRune(e.Str, 0) {
				continue
			}
			var path string
			switch {
			case e.Str == "~" || strings.HasPrefix(e.Str, "~/"):
				if climbsAbove(strings.TrimPrefix(e.Str, "~")) {
					s.diags.Addf(diag.BadSubpath, e.Pos, "write the absolute path it means instead",
						"writable root `%s` climbs above the home directory with `..`", e.Str)
					continue
				}
				path = ir.VarHome + cleanSub(strings.TrimPrefix(e.Str, "~"))
			case strings.HasPrefix(e.Str, "/"):
				path = cleanPath(e.Str)
			default:
				continue // reported by checkSWW
			}
			o := ir.Origin{Kind: ir.OriginLegacy, Key: "sandbox_workspace_write.writable_roots", Pos: e.Pos}
			p.entries = append(p.entries, entry{base: path, access: ir.Write, origin: o})
		}
	}
	if on, pos := flag("network_access"); on {
		p.network = ir.Network{Mode: ir.NetworkFull, Origin: ir.Origin{Kind: ir.OriginLegacy, Key: "sandbox_workspace_write.network_access", Pos: pos}}
	}
	return p
}

func withKey(o ir.Origin, key string) ir.Origin {
	o.Key = key
	return o
}
