package diag

// polc check on real configs (POL170–POL179): refusals the reference
// makes at launch, said at the line that causes them, and notes about
// settings that do not apply as written.
var (
	// A deny glob whose directory prefix is / would have Linux and
	// Windows walk the whole host at every launch; the reference refuses
	// it ("cannot be safely expanded"), so polc refuses it where it is
	// written.
	RootAnchoredGlob = register("POL170", Error, "deny glob anchored at / cannot be expanded safely")
	// sandbox_mode or [sandbox_workspace_write] beside a selected
	// permission profile: the reference ignores the legacy keys.
	LegacyKeyIgnored = register("POL171", Warning, "legacy sandbox key ignored: a permission profile is selected")
	// The profile repeats a deny that a requirement already makes:
	// defence in depth, nothing to fix.
	DenyRepeatsRequirement = register("POL172", Info, "profile deny repeats a requirement deny")
)
