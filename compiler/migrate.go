package compiler

import (
	"fmt"
	"strings"

	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// Migration is the legacy settings rewritten as a permission profile.
type Migration struct {
	// TOML is the replacement: default_permissions plus, for
	// workspace-write, a [permissions.NAME] profile. Empty when there is
	// nothing to migrate.
	TOML string
	// From names the legacy keys that were read, with their positions.
	From  []string
	Diags diag.List
}

// Migrate reads the config layers as Compile does and rewrites
// sandbox_mode and [sandbox_workspace_write] into an equivalent
// permission profile called name (From<&SandboxPolicy> for
// FileSystemSandboxPolicy, with the metadata carve-outs written out).
func Migrate(opts Options, name string) *Migration {
	s := &state{opts: opts}
	s.parse()
	m := &Migration{}
	if !s.stop {
		s.mergeLayers()
	}
	if s.stop || s.diags.HasErrors() {
		m.Diags = dedupe(s.diags)
		m.Diags.Sort()
		return m
	}
	mode := s.top.sandboxMode
	if mode == nil && s.top.sww == nil {
		return m
	}
	if s.top.defaultPermissions != nil && !s.sel.legacy {
		s.diags.Addf(diag.LegacyIgnored, s.top.defaultPermissions.Pos, "delete sandbox_mode and [sandbox_workspace_write] from the config",
			"default_permissions already selects a profile: the legacy settings are not in effect, and the migration below is what they meant")
	}
	modeName := "read-only"
	if mode != nil {
		modeName = mode.Str
		m.From = append(m.From, fmt.Sprintf("sandbox_mode = %q (%s)", mode.Str, mode.Pos))
	}
	if s.top.sww != nil {
		m.From = append(m.From, fmt.Sprintf("[sandbox_workspace_write] (%s)", s.top.sww.KeyPos))
		if mode == nil {
			// Codex honours the table only for workspace-write.
			s.diags.Addf(diag.LegacyIgnored, s.top.sww.KeyPos, `set sandbox_mode = "workspace-write" or delete the table`,
				"[sandbox_workspace_write] has no effect without sandbox_mode = \"workspace-write\"")
		}
	}
	var b strings.Builder
	b.WriteString("# Migrated from " + strings.Join(m.From, " and ") + " by polc migrate.\n")
	switch modeName {
	case "read-only", "danger-full-access":
		fmt.Fprintf(&b, "default_permissions = %q\n", legacyModes[modeName])
		m.TOML = b.String()
		m.Diags = dedupe(s.diags)
		m.Diags.Sort()
		return m
	}
	p := s.legacyProfile(selection{name: modeName})
	q := syntax.QuoteKey(name)
	fmt.Fprintf(&b, "default_permissions = %q\n\n[permissions.%s.filesystem]\n", name, q)
	var extra []string
	for _, e := range p.entries {
		switch e.base {
		case ":workspace_roots":
		case ":root", ":slash_tmp", ":tmpdir":
			fmt.Fprintf(&b, "%q = %q\n", e.base, e.access.String())
		default:
			key := e.base
			if rest, ok := strings.CutPrefix(key, ir.VarHome); ok {
				key = "~" + rest
			}
			extra = append(extra, fmt.Sprintf("%q = %q\n", key, e.access.String()))
		}
	}
	b.WriteString(strings.Join(extra, ""))
	// The metadata carve-outs are not written out: Codex and polc add
	// them under every writable root, skipping missing ones, exactly as
	// for the legacy settings.
	b.WriteString("# .git, .agents and .codex (and .polc) under each writable root stay read-only.\n")
	b.WriteString(`":workspace_roots" = "write"` + "\n")
	if p.network.Mode == ir.NetworkFull {
		fmt.Fprintf(&b, "\n[permissions.%s.network]\nenabled = true\n", q)
	}
	m.TOML = b.String()
	m.Diags = dedupe(s.diags)
	m.Diags.Sort()
	return m
}
