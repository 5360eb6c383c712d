package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// requirements are the managed constraints (ConfigRequirementsToml).
// Later --requirements files take precedence field by field, as Codex's
// higher requirement sources do; allowed_permission_profiles merges per
// key (PR #24852) and deny_read is the union of every file (fail closed).
type requirements struct {
	approvalPolicies    []approvalChoice
	approvalPoliciesPos diag.Pos
	guardianPolicy      *syntax.Value            // guardian_policy_config, non-blank
	features            map[string]*syntax.Value // features pinned: name = bool
	// defaultsInvalid is set when the managed defaults are incomplete
	// (POL163): Codex would not start, so no default is narrowed.
	defaultsInvalid    bool
	reviewers          *syntax.Value
	sandboxModes       *syntax.Value
	profiles           *syntax.Tab // managed [permissions.NAME]
	allowedProfiles    map[string]*syntax.Value
	profilesPos        diag.Pos // where allowed_permission_profiles is written
	defaultPermissions *syntax.Value
	denyRead           []*syntax.Value
	// network is [experimental_network], nil when no file has one.
	network *netRequirements
	digest  string
}

func (r *requirements) forcesProfiles() bool { return r != nil && r.allowedProfiles != nil }

// readRequirements decodes and validates the requirement files.
func (s *state) readRequirements() {
	r := &requirements{}
	s.reqs = r
	if len(s.reqLayers) == 0 {
		return
	}
	h := sha256.New()
	for _, l := range s.reqLayers {
		h.Write(l.data)
		s.readRequirementFile(r, l.tab)
	}
	r.digest = hex.EncodeToString(h.Sum(nil))
	s.checkManagedDefaults(r)
}

// checkManagedDefaults enforces the two rules Codex 0.169.0 refuses to
// start without, whatever profile is selected: a managed
// default_permissions needs allowed_permission_profiles, and an allowlist
// that does not allow both :workspace and :read-only (the built-in
// defaults) needs a managed default_permissions. Each error names the
// requirement and, when there is one, the user's selection it affects.
func (s *state) checkManagedDefaults(r *requirements) {
	mention, userPos := s.userSelection()
	var related []diag.Related
	if userPos.File != "" && userPos.File != "-P" {
		related = append(related, diag.Rel(userPos, "the profile selection it affects"))
	}
	// Every allowlist entry, allowed or not, must name a profile that
	// exists: a built-in, or one the config or the requirements define.
	defined := map[string]bool{builtinReadOnly: true, builtinWorkspace: true, builtinFull: true}
	if r.profiles != nil {
		for _, n := range r.profiles.Keys() {
			defined[n] = true
		}
	}
	if s.top != nil && s.top.permissions != nil && s.top.permissions.Kind == syntax.Table {
		for _, n := range s.top.permissions.Tab.Keys() {
			defined[n] = true
		}
	}
	for _, name := range sortedProfileKeys(r.allowedProfiles) {
		if !defined[name] {
			v := r.allowedProfiles[name]
			fix := fmt.Sprintf("define [permissions.%s] in the requirements or the config, or remove the entry", syntax.QuoteKey(name))
			if strings.HasPrefix(name, ":") {
				fix = "name a built-in (:read-only, :workspace or :danger-full-access), or remove the entry"
			}
			s.diags.Addf(diag.BadRequirement, v.KeyPos, fix,
				"allowed_permission_profiles refers to undefined profile `%s` (Codex refuses to start)", name)
		}
	}
	if d := r.defaultPermissions; d != nil && r.allowedProfiles == nil {
		s.diags = append(s.diags, diag.Diagnostic{Code: diag.ManagedDefaultMissing, Severity: diag.ManagedDefaultMissing.Severity(), Pos: d.Pos,
			Message: fmt.Sprintf("managed default_permissions `%s` requires allowed_permission_profiles in requirements, and none sets it (Codex refuses to start)%s", d.Str, mention),
			Fix:     fmt.Sprintf("add allowed_permission_profiles = { %q = true } (and every other profile users may select) beside default_permissions", d.Str),
			Related: related})
		r.defaultsInvalid = true
	}
	if r.allowedProfiles != nil && r.defaultPermissions == nil &&
		!(allowed(r.allowedProfiles, builtinWorkspace) && allowed(r.allowedProfiles, builtinReadOnly)) {
		s.diags = append(s.diags, diag.Diagnostic{Code: diag.ManagedDefaultMissing, Severity: diag.ManagedDefaultMissing.Severity(), Pos: r.profilesPos,
			Message: fmt.Sprintf("allowed_permission_profiles (%s) does not allow both :workspace and :read-only, so requirements must set default_permissions (Codex refuses to start)%s", allowedList(r.allowedProfiles), mention),
			Fix:     "set default_permissions in requirements to one of the allowed profiles, or allow both :workspace and :read-only",
			Related: related})
		r.defaultsInvalid = true
	}
}

// userSelection says which profile the user's config (or -P) selects,
// and where, as a clause for a message; with no selection, the built-in
// default a trust decision picks.
func (s *state) userSelection() (string, diag.Pos) {
	switch {
	case s.sel.pos.File == "-P":
		return fmt.Sprintf("; -P selects `%s`", s.sel.name), s.sel.pos
	case s.sel.name != "" && s.sel.pos.File != "":
		return fmt.Sprintf("; the config selects `%s` at %s", s.sel.name, s.sel.pos), s.sel.pos
	case s.trust.level != "":
		return fmt.Sprintf("; without a managed default the trust decision at %s gives `%s`", s.trust.pos, builtinWorkspace), s.trust.pos
	}
	return "", diag.Pos{}
}

func (s *state) readRequirementFile(r *requirements, t *syntax.Tab) {
	var remote []remoteSandboxConfig
	var remoteKey *syntax.Value
	defer func() {
		// A matching remote_sandbox_config replaces this file's
		// allowed_sandbox_modes, wherever the key is written in it.
		if remoteKey != nil {
			if modes := s.applyRemoteSandboxConfig(remote, remoteKey); modes != nil {
				r.sandboxModes = modes
			}
		}
	}()
	for _, k := range t.Keys() {
		v := t.Get(k)
		switch k {
		case "allowed_approval_policies":
			s.readAllowedApprovalPolicies(r, v)
		case "guardian_policy_config":
			s.readGuardianPolicy(r, v)
		case "features", "feature_requirements":
			s.readFeatureRequirements(r, v, k)
		case "allowed_approvals_reviewers":
			if s.stringList(v, k) {
				ok := true
				for _, e := range v.Arr {
					switch e.Str {
					case "user", "auto_review", "guardian_subagent":
					default:
						s.diags.Addf(diag.BadRequirement, e.Pos, `use "user" or "auto_review"`,
							"unknown approvals reviewer %s in allowed_approvals_reviewers", e.Describe())
						ok = false
					}
				}
				if ok {
					r.reviewers = v
				}
			}
		case "experimental_network":
			s.readNetworkRequirements(r, v)
		case "allowed_sandbox_modes":
			if s.sandboxModeList(v, k) {
				r.sandboxModes = v
			}
		case "remote_sandbox_config":
			remote, remoteKey = nil, v
			if entries, ok := s.readRemoteSandboxConfig(v); ok {
				remote = entries
			} else {
				remoteKey = nil
			}
		case "allowed_permission_profiles":
			if !s.expect(v, syntax.Table, k) {
				continue
			}
			if v.Tab.Len() == 0 {
				s.diags.Addf(diag.BadRequirement, v.Pos, `list the allowed profiles, for example { ":read-only" = true }`,
					"allowed_permission_profiles cannot be empty: it would refuse every profile")
				continue
			}
			if r.allowedProfiles == nil {
				r.allowedProfiles = map[string]*syntax.Value{}
			}
			r.profilesPos = v.KeyPos
			for _, name := range v.Tab.Keys() {
				pv := v.Tab.Get(name)
				if s.expect(pv, syntax.Bool, k+"."+syntax.QuoteKey(name)) {
					r.allowedProfiles[name] = pv
				}
			}
		case "default_permissions":
			if s.expect(v, syntax.String, k) {
				r.defaultPermissions = v
			}
		case "permissions":
			if !s.expect(v, syntax.Table, k) {
				continue
			}
			if r.profiles == nil {
				r.profiles = syntax.NewTab()
			}
			for _, name := range v.Tab.Keys() {
				pv := v.Tab.Get(name)
				if name == "filesystem" {
					s.readReservedFilesystem(r, pv)
					continue
				}
				r.profiles.Set(name, pv)
			}
		default:
			if !knownKey(requirementsFile, "", k) {
				s.unknownKeyIn(v, "", k, knownKeys(requirementsFile, ""), false)
			}
		}
	}
}

// readReservedFilesystem reads [permissions.filesystem]: deny_read only.
func (s *state) readReservedFilesystem(r *requirements, v *syntax.Value) {
	if !s.expect(v, syntax.Table, "permissions.filesystem") {
		return
	}
	for _, k := range v.Tab.Keys() {
		fv := v.Tab.Get(k)
		switch k {
		case "deny_read":
			if !s.stringList(fv, "permissions.filesystem.deny_read") {
				continue
			}
			for _, e := range fv.Arr {
				if s.checkDenyRead(e) {
					r.denyRead = append(r.denyRead, e)
				}
			}
		case "description", "extends", "workspace_roots", "filesystem", "network":
			s.diags.Addf(diag.ReservedRequirementKey, fv.KeyPos, "define managed profiles under another name, such as [permissions.managed]",
				"`permissions.filesystem` is reserved for requirements-level filesystem constraints and cannot define a profile (key %s)", k)
		default:
			// Not a warning, as elsewhere: this table holds only an
			// admin's restriction, and a misspelt one (deny_reads) would
			// silently not apply.
			s.diags.Addf(diag.BadRequirement, fv.KeyPos, "write deny_read = [ ... ]; nothing else belongs in this table",
				"`permissions.filesystem` in requirements takes only deny_read, not %s: a misspelt restriction would silently not apply", syntax.QuoteKey(k))
		}
	}
}

// checkDenyRead validates one pattern (FilesystemDenyReadPattern::from_input).
func (s *state) checkDenyRead(e *syntax.Value) bool {
	p := e.Str
	if strings.ContainsRune(p, 0) {
		s.diags.Addf(diag.NulInPath, e.Pos, "remove the \\u0000 escape from the path", "deny_read pattern %q contains a NUL byte", p)
		return false
	}
	if rest, ok := homeRest(p); ok {
		if climbsAbove(rest) {
			s.diags.Addf(diag.BadRequirement, e.Pos, "write the absolute path it means instead",
				"deny_read pattern %q climbs above the home directory with `..`", p)
			return false
		}
		p = ir.VarHome + rest
	} else if !strings.HasPrefix(p, "/") {
		fix := "write an absolute path or pattern, such as /etc/secrets, ~/.ssh or /home/*/.ssh/**"
		if ir.HasGlobMeta(p) && !hasDotComponent(p) {
			// "/" + p is the obvious absolute form, and it is refused
			// (POL170): suggest the forms that work.
			rest := p
			fix = fmt.Sprintf("anchor the pattern below a directory: %q matches in every user's home, %q below a directory you name (not %q: a pattern anchored at / is refused)",
				"~/"+rest, "/srv/"+rest, "/"+rest)
		}
		s.diags.Addf(diag.BadRequirement, e.Pos, fix, "deny_read pattern %q must be absolute or start with ~/", p)
		return false
	}
	if ir.HasGlobMeta(p) && hasDotComponent(p) {
		// Globs match resolved paths: such a deny would silently miss.
		s.diags.Addf(diag.BadGlob, e.Pos, "write the pattern without . and .. components (globs match resolved paths)",
			"deny_read pattern %q has a . or .. component", p)
		return false
	}
	if ir.HasGlobMeta(p) && (!doublestar.ValidatePattern(p) || strings.Count(p, "[") != strings.Count(p, "]")) {
		s.diags.Addf(diag.BadGlob, e.Pos, "close every [ with ]", "deny_read pattern %q is malformed", p)
		return false
	}
	if ir.HasGlobMeta(p) && overBroad("", p) {
		s.diags.Addf(diag.OverBroadGlob, e.Pos, "name the files to deny", "deny_read pattern %q denies the whole disk or home", e.Str)
		return false
	}
	if rootAnchored(p) {
		s.rootAnchoredGlob(e.Pos, p, p, false)
		return false
	}
	return true
}

// stringList checks for a non-empty array of strings.
func (s *state) stringList(v *syntax.Value, what string) bool {
	if !s.expect(v, syntax.Array, what) {
		return false
	}
	if len(v.Arr) == 0 {
		s.diags.Addf(diag.BadRequirement, v.Pos, "list at least one value, or remove the key", "field `%s` cannot be empty", what)
		return false
	}
	ok := true
	for _, e := range v.Arr {
		ok = s.expect(e, syntax.String, what+" entries") && ok
	}
	return ok
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// profileMode is the sandbox mode a profile amounts to
// (sandbox_mode_requirement_for_permission_profile).
func profileMode(p *profile) string {
	if p.unrestricted {
		return "danger-full-access"
	}
	for _, e := range p.entries {
		if e.access == ir.Write {
			return "workspace-write"
		}
	}
	return "read-only"
}

// applyRequirements refuses or narrows the selected profile and adds the
// mandatory denies.
func (s *state) applyRequirements() {
	r := s.reqs
	p := s.prof
	if r.digest == "" && r.allowedProfiles == nil {
		s.applyApprovals()
		s.checkLegacyLandlock()
		s.resolveNetwork()
		return
	}
	// The managed default must itself be allowed.
	if d := r.defaultPermissions; d != nil && r.allowedProfiles != nil && !allowed(r.allowedProfiles, d.Str) {
		s.diags.Addf(diag.BadRequirement, d.Pos, fmt.Sprintf("add %q = true to allowed_permission_profiles, or change default_permissions", d.Str),
			"managed default_permissions `%s` is not in allowed_permission_profiles (%s)", d.Str, allowedList(r.allowedProfiles))
	}
	// With incomplete managed defaults Codex does not start: there is no
	// default to narrow, and POL163 has said why.
	if r.defaultsInvalid && p.implicit {
		s.stop = true
		return
	}
	// Codex's own default (nothing selected) falls back to :read-only
	// when the allowlist excludes it, as Codex does.
	if r.allowedProfiles != nil && !allowed(r.allowedProfiles, p.id) && p.implicit && allowed(r.allowedProfiles, builtinReadOnly) {
		s.diags = append(s.diags, diag.Diagnostic{Code: diag.DefaultNarrowed, Severity: diag.DefaultNarrowed.Severity(), Pos: r.profilesPos,
			Message: fmt.Sprintf("the default profile `%s` is not in allowed_permission_profiles; falling back to :read-only", p.id),
			Fix:     "set default_permissions to an allowed profile (in config.toml, or as the managed default in requirements.toml)"})
		ro := s.builtinProfile(builtinReadOnly)
		ro.pos, ro.implicit = p.pos, true
		s.prof, p = ro, ro
	}
	// The allowlist is closed: a profile outside it is refused, even one
	// named with -P (Codex 0.169.0 runs it; polc does not).
	if r.allowedProfiles != nil && !allowed(r.allowedProfiles, p.id) {
		d := diag.Diagnostic{Code: diag.ProfileNotAllowed, Severity: diag.ProfileNotAllowed.Severity(), Pos: p.pos,
			Message: fmt.Sprintf("profile `%s` is not allowed by requirements %s (allowed: %s)", p.id, r.profilesPos, allowedList(r.allowedProfiles)),
			Fix:     fmt.Sprintf("select one of %s with -P or default_permissions, or ask the administrator to allow %q", allowedList(r.allowedProfiles), p.id),
			Related: []diag.Related{diag.Rel(r.profilesPos, "allowed_permission_profiles")}}
		s.diags = append(s.diags, d)
		s.stop = true
		return
	}
	// Sandbox modes narrow: a profile whose mode is not allowed falls back
	// to :read-only. deny_read forbids running without a sandbox.
	mode := profileMode(p)
	var why diag.Pos
	refused := false
	if r.sandboxModes != nil && !containsValue(r.sandboxModes.Arr, mode) {
		refused, why = true, r.sandboxModes.Pos
	}
	if len(r.denyRead) > 0 && (mode == "danger-full-access") {
		refused, why = true, r.denyRead[0].Pos
	}
	if refused {
		if r.allowedProfiles != nil && !allowed(r.allowedProfiles, builtinReadOnly) {
			s.diags.Addf(diag.ProfileNotAllowed, p.pos, "allow :read-only in the requirements, or select an allowed profile",
				"profile `%s` runs in sandbox mode %s, which requirements %s do not allow, and the :read-only fallback is not in allowed_permission_profiles", p.id, mode, why)
			s.stop = true
			return
		}
		s.diags = append(s.diags, diag.Diagnostic{Code: diag.SandboxModeNarrowed, Severity: diag.SandboxModeNarrowed.Severity(), Pos: p.pos,
			Message: fmt.Sprintf("profile `%s` needs sandbox mode %s, which requirements %s do not allow; falling back to :read-only", p.id, mode, why),
			Fix:     "select a read-only profile, or ask the administrator to allow " + mode, Related: []diag.Related{diag.Rel(why, "the requirement that refuses the mode")}})
		ro := s.builtinProfile(builtinReadOnly)
		ro.pos, ro.implicit = p.pos, true
		ro.network.Origin.Pos = why
		s.prof = ro
		p = ro
	}
	for _, e := range r.denyRead {
		o := ir.Origin{Kind: ir.OriginRequirement, Key: "deny_read " + e.Str, Pos: e.Pos}
		pat, base := e.Str, ""
		if rest, ok := homeRest(e.Str); ok {
			pat, base = ir.VarHome+rest, ir.VarHome+cleanSub(rest)
		} else {
			base = cleanPath(e.Str)
		}
		if ir.HasGlobMeta(pat) {
			p.entries = append(p.entries, entry{sub: pat, glob: true, access: ir.Deny, mandatory: true, origin: o})
		} else {
			p.entries = append(p.entries, entry{base: base, access: ir.Deny, mandatory: true, origin: o})
		}
	}
	s.applyApprovals()
	s.checkLegacyLandlock()
	s.resolveNetwork()
}

func containsValue(vals []*syntax.Value, s string) bool {
	for _, v := range vals {
		if v.Str == s {
			return true
		}
	}
	return false
}

func allowed(m map[string]*syntax.Value, id string) bool {
	v := m[id]
	return v != nil && v.Bool
}

func allowedList(m map[string]*syntax.Value) string {
	var names []string
	for k, v := range m {
		if v.Bool {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// homeRest returns what follows the ~ of a deny_read pattern in the
// user's home ("~" or "~/..."): Codex accepts those, as every user's own
// home, so an admin can deny ~/.ssh for everyone.
func homeRest(p string) (string, bool) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		return strings.TrimPrefix(p, "~"), true
	}
	return "", false
}

func sortedProfileKeys(m map[string]*syntax.Value) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
