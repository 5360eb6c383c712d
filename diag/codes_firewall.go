package diag

// POL245–POL259, the container firewall (package firewall, polc firewall).
var (
	// A firewall artifact that cannot be read: not JSON, unknown fields,
	// wrong format tag, digest mismatch, an invalid network.
	FirewallArtifactBad = register("POL245", Error, "malformed firewall artifact")
	// The network uses limited mode (GET/HEAD/OPTIONS only): a packet
	// filter cannot see HTTP methods.
	FirewallLimitedMode = register("POL246", Error, "limited mode cannot be enforced by the firewall")
	// Installing the ruleset failed; egress was left denied.
	FirewallApplyFailed = register("POL247", Error, "firewall ruleset could not be applied")
	// Installing the ruleset failed and even the deny-all fallback could
	// not be installed.
	FirewallFallbackFailed = register("POL248", Error, "firewall could not even deny egress")
	// The DNS forwarder could not listen or has no upstream server.
	FirewallDNSFailed = register("POL249", Error, "DNS forwarder could not start")
	// polc firewall needs root (CAP_NET_ADMIN) and Linux.
	FirewallUnavailable = register("POL250", Error, "firewall unavailable on this host")
	// No polc firewall table is installed (status).
	FirewallNotInstalled = register("POL251", Warning, "no polc firewall is installed")
	// The firewall artifact's signature is missing or does not verify.
	FirewallUntrusted = register("POL252", Error, "firewall artifact signature refused")
)
