package compiler

import (
	"fmt"

	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// warnLegacyIgnored says, at each legacy key, that it does not apply
// (POL171): once a permission profile is selected (default_permissions,
// a managed default, or -P), the reference ignores sandbox_mode and
// [sandbox_workspace_write], whatever their layer. An author who wrote
// network_access = true beside default_permissions expected a network
// the profile does not give; the warning says what applies instead.
func (s *state) warnLegacyIgnored(sel selection) {
	by := fmt.Sprintf("default_permissions selects profile `%s` at %s", sel.name, sel.pos)
	if sel.forced {
		by = fmt.Sprintf("-P selects profile `%s`", sel.name)
	}
	if v := s.top.sandboxMode; v != nil {
		s.diags.Addf(diag.LegacyKeyIgnored, v.KeyPos, "delete sandbox_mode; `polc migrate` shows the profile it meant, to merge into the selected one",
			"sandbox_mode = %q is ignored: %s, and the profile alone decides the sandbox", v.Str, by)
	}
	if s.top.sww == nil {
		return
	}
	fsTable := FilesystemTable(sel.name)
	netTable := fmt.Sprintf("[permissions.%s.network]", syntax.QuoteKey(sel.name))
	if sel.name == "" || sel.name[0] == ':' {
		netTable = fmt.Sprintf("the network table of a profile that extends %s", sel.name)
	}
	network := "no network"
	if s.prof != nil {
		switch s.prof.network.Mode {
		case ir.NetworkFull:
			network = "full network"
		case ir.NetworkProxy:
			network = "network through a proxy only"
		}
	}
	t := s.top.sww.Tab
	for _, k := range t.Keys() {
		v := t.Get(k)
		switch k {
		case "network_access":
			if v.Kind == syntax.Bool && v.Bool {
				s.diags.Addf(diag.LegacyKeyIgnored, v.KeyPos, "set enabled = true in "+netTable+" if the command needs the network, and delete this key",
					"sandbox_workspace_write.network_access = true does not apply: %s, which has %s", by, network)
				continue
			}
		case "writable_roots":
			if v.Kind == syntax.Array && len(v.Arr) > 0 {
				s.diags.Addf(diag.LegacyKeyIgnored, v.KeyPos, fmt.Sprintf(`write each root as "PATH" = "write" in %s, and delete this key`, fsTable),
					"sandbox_workspace_write.writable_roots do not apply: %s, whose filesystem table decides what is writable", by)
				continue
			}
		}
		s.diags.Addf(diag.LegacyKeyIgnored, v.KeyPos, "delete this key; the selected profile's tables decide instead",
			"sandbox_workspace_write.%s is ignored: %s", syntax.QuoteKey(k), by)
	}
}
