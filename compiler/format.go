package compiler

import (
	"fmt"
	"sort"
	"strconv"

	"polc/diag"
	"polc/internal/syntax"
)

// FormatChange is one rewrite polc fmt made.
type FormatChange struct {
	Pos      diag.Pos
	Old, New string
}

func (c FormatChange) String() string { return fmt.Sprintf("%s: %s -> %s", c.Pos, c.Old, c.New) }

// Format rewrites the old spellings in one config file to the current
// ones, in place, keeping comments and layout: the access value "none"
// becomes "deny", the special ":project_roots" becomes ":workspace_roots",
// approvals_reviewer "guardian_subagent" becomes "auto_review", and the
// retired approval_policy "untrusted" becomes "on-request". The
// meaning does not change (polc and Codex read both spellings); current
// Codex ignores :project_roots, so the rename also keeps the config
// working there. A file that does not parse is returned unchanged with
// its diagnostics.
func Format(file string, data []byte) ([]byte, []FormatChange, diag.List) {
	tab, diags := syntax.Parse(file, data)
	if tab == nil || diags.HasErrors() {
		return data, nil, diags
	}
	type edit struct {
		span syntax.Span
		text string
		c    FormatChange
	}
	var edits []edit
	replace := func(sp syntax.Span, pos diag.Pos, old, new string) {
		if sp.Len == 0 {
			return
		}
		edits = append(edits, edit{span: sp, text: strconv.Quote(new), c: FormatChange{Pos: pos, Old: strconv.Quote(old), New: strconv.Quote(new)}})
	}
	access := func(v *syntax.Value) {
		if v.Kind == syntax.String && v.Str == "none" {
			replace(v.Raw, v.Pos, "none", "deny")
		}
	}
	if perms := tab.Get("permissions"); perms != nil && perms.Kind == syntax.Table {
		for _, name := range perms.Tab.Keys() {
			fsv := perms.Tab.Lookup(name, "filesystem")
			if fsv == nil || fsv.Kind != syntax.Table {
				continue
			}
			fs := fsv.Tab
			for _, k := range fs.Keys() {
				v := fs.Get(k)
				if k == ":project_roots" && fs.Get(":workspace_roots") == nil {
					replace(v.KeyRaw, v.KeyPos, k, ":workspace_roots")
				}
				access(v)
				if v.Kind == syntax.Table {
					for _, sub := range v.Tab.Keys() {
						access(v.Tab.Get(sub))
					}
				}
			}
		}
	}
	// approval_policy "untrusted" is retired (Codex refuses to load it);
	// "on-request" is what Codex asks by default now. It asks less than
	// "untrusted" did: the check error says to pair it with a read-only
	// profile where the old strictness matters.
	if v := tab.Get("approval_policy"); v != nil && v.Kind == syntax.String && v.Str == retiredApprovalPolicy {
		replace(v.Raw, v.Pos, v.Str, "on-request")
	}
	if v := tab.Get("approvals_reviewer"); v != nil && v.Kind == syntax.String && v.Str == "guardian_subagent" {
		replace(v.Raw, v.Pos, v.Str, "auto_review")
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].span.Off > edits[j].span.Off })
	out := append([]byte(nil), data...)
	var changes []FormatChange
	for _, e := range edits {
		end := e.span.Off + e.span.Len
		if end > len(out) {
			continue
		}
		out = append(out[:e.span.Off:e.span.Off], append([]byte(e.text), out[end:]...)...)
		changes = append(changes, e.c)
	}
	sort.Slice(changes, func(i, j int) bool {
		if changes[i].Pos.Line != changes[j].Pos.Line {
			return changes[i].Pos.Line < changes[j].Pos.Line
		}
		return changes[i].Pos.Col < changes[j].Pos.Col
	})
	return out, changes, diags
}
