package diag

// Network: domain rules of a proxy-only network and the egress proxy.
var (
	NetBadPattern = register("POL150", Error, "malformed or unsupported domain pattern")
	NetBadAction  = register("POL151", Error, "domain rule action is not allow or deny")
	NetGlobalDeny = register("POL152", Error, "a global wildcard cannot be denied")
	// A user's allow rule that requirements make ineffective:
	// managed_allowed_domains_only, or a managed deny of the same pattern.
	NetUserAllowDropped = register("POL153", Warning, "user domain allow rule dropped by requirements")
)
