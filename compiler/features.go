package compiler

import (
	"fmt"

	"polc/compiler/syntax"
	"polc/diag"
	"polc/ir"
)

// readFeatureRequirements reads requirements' features (alias
// feature_requirements): feature name = boolean, pinning the feature
// whatever the user's config says. A non-boolean value is an error, as
// Codex's FeatureRequirementsToml refuses it.
func (s *state) readFeatureRequirements(r *requirements, v *syntax.Value, key string) {
	if !s.expect(v, syntax.Table, key) {
		return
	}
	for _, name := range v.Tab.Keys() {
		fv := v.Tab.Get(name)
		if !s.expect(fv, syntax.Bool, key+"."+syntax.QuoteKey(name)) {
			continue
		}
		if r.features == nil {
			r.features = map[string]*syntax.Value{}
		}
		// Later files win field by field; within the features table
		// each feature is its own field.
		r.features[name] = fv
	}
}

// legacyLandlock is features.use_legacy_landlock after requirements:
// the value and where it was set (nil when unset or not a boolean).
func (s *state) legacyLandlock() (*syntax.Value, bool) {
	var user *syntax.Value
	if f := s.merged.Get("features"); f != nil {
		if !s.expect(f, syntax.Table, "features") {
			return nil, false
		}
		if v := f.Tab.Get("use_legacy_landlock"); v != nil && s.expect(v, syntax.Bool, "features.use_legacy_landlock") {
			user = v
		}
	}
	if r := s.reqs; r != nil {
		if v := r.features["use_legacy_landlock"]; v != nil {
			return v, true
		}
	}
	return user, false
}

// checkLegacyLandlock refuses features.use_legacy_landlock for a profile
// that restricts the filesystem: Codex 0.169.0 has no Landlock path for
// one and panics when it runs a command ("requires bubblewrap"); polc
// says so when it compiles. A profile that writes everywhere (and an
// unrestricted one) runs as Codex runs it: the filesystem is not
// restricted, and the network rules are enforced as usual.
func (s *state) checkLegacyLandlock() {
	v, pinned := s.legacyLandlock()
	if v == nil || !v.Bool || s.prof == nil || s.prof.unrestricted || fullDiskWrite(s.prof) {
		return
	}
	by := ""
	fix := "remove features.use_legacy_landlock = true: polc and Codex run this profile under bubblewrap"
	if pinned {
		by = " (pinned by requirements)"
		fix = "ask the administrator to drop use_legacy_landlock from the requirements' features, or select a profile that writes everywhere"
	}
	s.diags = append(s.diags, diag.Diagnostic{Code: diag.LegacyLandlock, Severity: diag.LegacyLandlock.Severity(), Pos: v.Pos,
		Message: fmt.Sprintf("features.use_legacy_landlock = true%s cannot enforce profile `%s`: it restricts the filesystem, which requires bubblewrap (Codex 0.169.0 panics when it runs a command)", by, s.prof.id),
		Fix:     fix, Related: []diag.Pos{s.prof.pos}})
}

// fullDiskWrite reports whether a profile writes everywhere: ":root" is
// writable and no entry reads-only or denies anything
// (has_full_disk_write_access).
func fullDiskWrite(p *profile) bool {
	root := false
	for _, e := range p.entries {
		if e.access != ir.Write {
			return false
		}
		if e.base == ":root" && e.sub == "" && !e.glob {
			root = true
		}
	}
	return root
}
