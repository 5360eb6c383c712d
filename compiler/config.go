package compiler

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"polc/diag"
	"polc/internal/syntax"
)

// topConfig is the part of the merged config.toml polc reads, each value
// still carrying its position.
type topConfig struct {
	defaultPermissions *syntax.Value
	sandboxMode        *syntax.Value
	sww                *syntax.Value // [sandbox_workspace_write]
	approvalPolicy     *syntax.Value
	reviewer           *syntax.Value
	autoReviewPolicy   *syntax.Value
	permissions        *syntax.Value
}

// trustState is the project's trust decision ([projects."<path>"]
// trust_level in the user's config, as Codex records it).
type trustState struct {
	level string // "trusted", "untrusted" or "" (no decision)
	pos   diag.Pos
}

// selection says which permission system is active and which profile.
type selection struct {
	legacy bool
	// name is the profile id (profiles) or the sandbox_mode (legacy).
	name string
	pos  diag.Pos
	// explicit is false when Codex's default was taken (no key set).
	explicit bool
	// forced is set when -P named the profile.
	forced bool
}

// mergeLayers decides trust, drops untrusted project layers for exec,
// merges the layers in precedence order and reads the top-level keys.
func (s *state) mergeLayers() {
	if !s.prep.merged(s) {
		s.merged = syntax.NewTab()
		for _, l := range s.layers {
			syntax.Merge(s.merged, l.tab)
		}
		s.top = s.readTop(s.merged)
	}
	s.sel = s.selectSystem()
	s.readRequirements()
}

// findTrust looks the project up in [projects]: the project directory
// first, then its repository root.
func (s *state) findTrust(t *syntax.Tab) trustState {
	projects := t.Get("projects")
	if projects == nil || projects.Kind != syntax.Table {
		return trustState{}
	}
	candidates := []string{s.dir}
	if r := s.repoRoot(s.dir); r != "" && r != s.dir {
		candidates = append(candidates, r)
	}
	for _, c := range candidates {
		for _, k := range projects.Tab.Keys() {
			if !s.samePath(filepath.Clean(k), c) {
				continue
			}
			v := projects.Tab.Get(k)
			if v.Kind != syntax.Table {
				continue
			}
			if tl := v.Tab.Get("trust_level"); tl != nil && tl.Kind == syntax.String {
				return trustState{level: tl.Str, pos: tl.Pos}
			}
		}
	}
	return trustState{}
}

// readTop type-checks the top-level keys polc reads and warns about keys
// no Codex version knows.
func (s *state) readTop(t *syntax.Tab) *topConfig {
	top := &topConfig{}
	for _, k := range t.Keys() {
		v := t.Get(k)
		switch k {
		case "default_permissions":
			if s.expect(v, syntax.String, k) {
				top.defaultPermissions = v
			}
		case "sandbox_mode":
			if s.expect(v, syntax.String, k) {
				if _, ok := legacyModes[v.Str]; ok {
					top.sandboxMode = v
				} else {
					s.diags.Addf(diag.BadSandboxMode, v.Pos, "use read-only, workspace-write or danger-full-access",
						"unknown sandbox_mode %s", v.Describe())
				}
			}
		case "sandbox_workspace_write":
			if s.expect(v, syntax.Table, k) {
				s.checkSWW(v.Tab)
				top.sww = v
			}
		case "approval_policy":
			if s.checkApprovalPolicy(v) {
				top.approvalPolicy = v
			}
		case "approvals_reviewer":
			if s.checkReviewer(v, "approvals_reviewer") {
				top.reviewer = v
			}
		case "auto_review":
			if s.expect(v, syntax.Table, k) {
				for _, ak := range v.Tab.Keys() {
					av := v.Tab.Get(ak)
					switch ak {
					case "policy":
						if s.expect(av, syntax.String, "auto_review.policy") {
							top.autoReviewPolicy = av
						}
					default:
						if !knownKey(configFile, "auto_review", ak) {
							s.unknownKeyIn(av, "auto_review", ak, knownKeys(configFile, "auto_review"), false)
						}
					}
				}
			}
		case "permissions":
			if s.expect(v, syntax.Table, k) {
				top.permissions = v
			}
		case "projects":
			s.checkProjects(v)
		case "features":
			// Feature names the reference does not know are typos: a
			// misspelt use_legacy_landlock silently does nothing.
			if v.Kind == syntax.Table {
				s.checkKeys(configFile, "features", "features", v.Tab)
			}
		default:
			if !knownKey(configFile, "", k) {
				s.unknownKeyIn(v, "", k, knownKeys(configFile, ""), false)
			}
		}
	}
	return top
}

// expect reports POL003 unless v has kind.
func (s *state) expect(v *syntax.Value, kind syntax.Kind, what string) bool {
	if v.Kind == kind {
		return true
	}
	s.diags.Addf(diag.WrongType, v.Pos, fmt.Sprintf("write %s as %s", what, kindExample(kind)),
		"%s must be %s, not %s", what, article(kind), kindWord(v))
	return false
}

func kindWord(v *syntax.Value) string {
	switch v.Kind {
	case syntax.Array:
		return "an array"
	case syntax.Table:
		return "a table"
	case syntax.Integer:
		return "an integer"
	}
	return "a " + v.Kind.String() + " (" + v.Describe() + ")"
}

func article(k syntax.Kind) string {
	switch k {
	case syntax.Integer, syntax.Array:
		return "an " + k.String()
	}
	return "a " + k.String()
}

func kindExample(k syntax.Kind) string {
	switch k {
	case syntax.String:
		return `a string, in quotes: "..."`
	case syntax.Bool:
		return "a boolean: true or false"
	case syntax.Integer:
		return "an integer, without quotes"
	case syntax.Table:
		return "a table: [section] or { key = value }"
	case syntax.Array:
		return "an array: [ ... ]"
	}
	return article(k)
}

func (s *state) checkSWW(t *syntax.Tab) {
	for _, k := range t.Keys() {
		v := t.Get(k)
		name := "sandbox_workspace_write." + syntax.QuoteKey(k)
		switch k {
		case "writable_roots":
			if s.expect(v, syntax.Array, name) {
				for _, e := range v.Arr {
					if s.expect(e, syntax.String, name+" entries") {
						s.checkAbsolute(e, "writable root")
					}
				}
			}
		case "network_access", "exclude_tmpdir_env_var", "exclude_slash_tmp":
			s.expect(v, syntax.Bool, name)
		default:
			s.unknownKeyIn(v, "sandbox_workspace_write", k, knownKeys(configFile, "sandbox_workspace_write"), false)
		}
	}
}

// checkAbsolute validates a path-valued string: absolute or ~/..., no NUL.
func (s *state) checkAbsolute(v *syntax.Value, what string) bool {
	if strings.ContainsRune(v.Str, 0) {
		s.diags.Addf(diag.NulInPath, v.Pos, "remove the \\u0000 escape from the path", "%s %q contains a NUL byte", what, v.Str)
		return false
	}
	if v.Str == "~" || strings.HasPrefix(v.Str, "~/") || filepath.IsAbs(v.Str) {
		return true
	}
	s.diags.Addf(diag.RelativePath, v.Pos, "write an absolute path or ~/...", "%s %q must be absolute", what, v.Str)
	return false
}

func (s *state) checkProjects(v *syntax.Value) {
	if !s.expect(v, syntax.Table, "projects") {
		return
	}
	for _, k := range v.Tab.Keys() {
		pv := v.Tab.Get(k)
		name := "projects." + syntax.QuoteKey(k)
		if !s.expect(pv, syntax.Table, name) {
			continue
		}
		for _, pk := range pv.Tab.Keys() {
			tv := pv.Tab.Get(pk)
			if pk != "trust_level" {
				s.unknownKeyIn(tv, name, pk, knownKeys(configFile, "projects.*"), false)
				continue
			}
			if s.expect(tv, syntax.String, name+".trust_level") && tv.Str != "trusted" && tv.Str != "untrusted" {
				s.diags.Addf(diag.WrongType, tv.Pos, `use "trusted" or "untrusted"`, "unknown trust_level %s", tv.Describe())
			}
		}
	}
}

// selectSystem applies resolve_permission_config_syntax
// (codex-rs/core/src/config/mod.rs): -P selects profiles; otherwise the
// highest layer that sets sandbox_mode or default_permissions decides,
// default_permissions winning within one layer.
func (s *state) selectSystem() selection {
	if s.opts.Profile != "" {
		return selection{name: s.opts.Profile, pos: diag.Pos{File: "-P"}, explicit: true, forced: true}
	}
	var sel selection
	for _, l := range s.layers {
		if v := l.tab.Get("sandbox_mode"); v != nil && v.Kind == syntax.String {
			if _, ok := legacyModes[v.Str]; ok {
				sel = selection{legacy: true, name: v.Str, pos: v.Pos, explicit: true}
			}
		}
		if v := l.tab.Get("default_permissions"); v != nil && v.Kind == syntax.String {
			sel = selection{name: v.Str, pos: v.Pos, explicit: true}
		}
	}
	return sel
}

// sortedKeys is the table's keys in byte order, the order Codex's
// BTreeMap processes filesystem entries in.
func sortedKeys(t *syntax.Tab) []string {
	keys := append([]string(nil), t.Keys()...)
	sort.Strings(keys)
	return keys
}
