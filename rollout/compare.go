package rollout

import (
	"os"

	"polc/artifact/semdiff"
	"polc/compiler"
	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// changes compares the baseline's policy with the new one per platform
// (semdiff, as polc diff does). The requirements digest always changes
// and says nothing about the profile; it is left out. An approval change
// has no direction of its own: it narrows when the new requirements make
// the user's own setting fall back (POL054), and widens when the
// baseline did and the new requirements no longer do.
//
// same says the two policies are alike but for positions: their rules
// and globs then decide every path and pattern alike, so the comparison
// leaves them out (it finds no change there, and probing paths is most
// of its work); the rest is compared as it is.
func (r *runner) changes(old, nw *compiler.Result, same bool) map[ir.Platform][]Change {
	op, np := old.Policy, nw.Policy
	if same {
		o, n := *op, *np
		o.Rules, o.Globs, n.Rules, n.Globs = nil, nil, nil, nil
		op, np = &o, &n
	}
	approvals := semdiff.Neutral
	switch {
	case hasFallback(nw.Diags, r.reqFiles):
		approvals = semdiff.Narrower
	case hasFallback(old.Diags, r.baseFiles):
		approvals = semdiff.Wider
	}
	out := map[ir.Platform][]Change{}
	// The report names the files the rules came from as given.
	for _, sec := range semdiff.Compare(old.Env.HostOrigins(op), nw.Env.HostOrigins(np), r.opts.Platforms) {
		for _, c := range sec.Changes {
			if c.Kind == "requirements" {
				continue
			}
			eff := c.Effect()
			if c.Kind == "approvals" {
				eff = approvals
			}
			ch := Change{Kind: c.Kind, Subject: c.Subject, From: c.From, To: c.To, Was: c.Was, Now: c.Now, Effect: string(eff)}
			for _, pl := range sec.Platforms {
				out[pl] = append(out[pl], ch)
			}
		}
	}
	return out
}

// hasFallback reports an approval setting of the user's that the
// requirements in files do not allow.
func hasFallback(l diag.List, files map[string]bool) bool {
	for _, d := range l {
		if d.Code == diag.ApprovalNarrowed && touches(d, files) {
			return true
		}
	}
	return false
}

// profilePos is where the entry's config defines [permissions.NAME]
// (the highest layer that does), or the config file when none does.
func profilePos(e *entry, name string) diag.Pos {
	files := e.files()
	var where diag.Pos
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		tab, _ := syntax.Parse(f, data)
		if tab == nil {
			continue
		}
		if v := tab.Lookup("permissions", name); v != nil {
			where = v.KeyPos
		}
	}
	if where.IsZero() && len(files) > 0 {
		where = diag.Pos{File: existing(files)}
	}
	return where
}

// defaultName is the profile the entry's config selects with
// default_permissions (the highest layer that sets it), or "" when none
// does and Codex's default applies. A layer the compile has parsed
// (prep, when not nil) is not parsed again.
func defaultName(e *entry, prep *compiler.Prepared) string {
	name := ""
	for _, f := range e.files() {
		var tab *syntax.Tab
		if prep != nil {
			tab = prep.Layer(f)
		}
		if tab == nil {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			tab, _ = syntax.Parse(f, data)
		}
		if tab == nil {
			continue
		}
		if v := tab.Get("default_permissions"); v != nil && v.Kind == syntax.String {
			name = v.Str
		}
	}
	return name
}
