package compiler

import (
	"fmt"

	"polc/backends/landlock"
	"polc/diag"
	"polc/internal/syntax"
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

// checkLegacyLandlock records features.use_legacy_landlock = true (the
// user's or pinned by requirements), or --landlock: the command is to
// run under Landlock and seccomp. checkLandlock later refuses a profile
// Landlock cannot enforce exactly. (Codex 0.169.0 has no Landlock path
// for a filesystem-restricted profile and panics when it runs one; polc
// runs it when Landlock enforces it exactly, and otherwise says why.)
func (s *state) checkLegacyLandlock() {
	v, pinned := s.legacyLandlock()
	switch {
	case v != nil && v.Bool:
		by := "features.use_legacy_landlock = true"
		if pinned {
			by += " (pinned by requirements)"
		}
		if p := v.Pos.String(); p != "" {
			by += " at " + p
		}
		s.landlock = &LandlockRequest{By: by, Pos: v.Pos, pinned: pinned}
	case s.opts.Landlock && v != nil && pinned:
		// Requirements pin features, the flag included.
		s.diags.Addf(diag.LandlockUnsupported, v.Pos, "drop --landlock (the command runs under bubblewrap), or ask the administrator to unpin use_legacy_landlock",
			"--landlock asks for Landlock mode, but the requirements pin features.use_legacy_landlock = false")
	case s.opts.Landlock:
		s.landlock = &LandlockRequest{By: "--landlock"}
	}
}

// checkLandlock refuses, with every reason and where it was written, a
// policy Landlock cannot enforce exactly when Landlock was asked for.
// With the feature, POL165 at the setting heads the reasons.
func (s *state) checkLandlock() {
	req := s.landlock
	if req == nil || s.policy == nil {
		return
	}
	_, conflicts := landlock.Lower(s.policy, ir.Env{Bindings: s.bindings})
	if len(conflicts) == 0 {
		return
	}
	if req.Pos != (diag.Pos{}) {
		c := conflicts[0]
		where := ""
		if p := c.Pos.String(); p != "" {
			where = " (" + p + ")"
		}
		more := ""
		if n := len(conflicts) - 1; n > 0 {
			more = fmt.Sprintf(" (and %d more reason(s))", n)
		}
		fix := "remove features.use_legacy_landlock = true to run under bubblewrap, or change the profile as the reasons below say"
		if req.pinned {
			fix = "ask the administrator to drop use_legacy_landlock from the requirements' features, or change the profile as the reasons below say"
		}
		s.diags = append(s.diags, diag.Diagnostic{Code: diag.LegacyLandlock, Severity: diag.LegacyLandlock.Severity(), Pos: req.Pos,
			Message: fmt.Sprintf("features.use_legacy_landlock = true cannot enforce profile `%s` exactly: %s%s%s", s.policy.Profile, c.Msg, where, more),
			Fix:     fix, Related: []diag.Related{diag.Rel(c.Pos, "the rule Landlock cannot enforce")}})
	}
	for _, c := range conflicts {
		d := c.Diagnostic(req.By)
		if d.Pos == (diag.Pos{}) {
			d.Pos = req.Pos
		}
		s.diags = append(s.diags, d)
	}
}
