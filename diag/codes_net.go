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

// Network settings of profiles and of requirements' [experimental_network]
// (the front end).
var (
	// Two spellings of the same managed list in one requirements table:
	// domains with allowed_domains/denied_domains, or unix_sockets with
	// allow_unix_sockets (the reference refuses to start).
	NetReqConflict = register("POL154", Error, "conflicting managed network keys")
	// A proxy port (http_port, socks_port, or the port of proxy_url or
	// socks_url) that is not 1-65535, or a URL polc cannot read.
	NetBadPort = register("POL155", Error, "invalid proxy port or address")
	// A managed allowlist entry of "*": the reference refuses a global
	// wildcard in managed allowed_domains.
	NetManagedGlobalAllow = register("POL156", Error, "managed allowlist cannot be a global wildcard")
	// The profile turns the network on, but managed requirements have a
	// network table that does not enable the proxy: the command gets no
	// network (the reference routes it to a proxy that never starts).
	NetProxyDisabled = register("POL157", Warning, "network off: managed network requirements do not enable the proxy")
	// Domain rules or limited mode without features.network_proxy: the
	// reference leaves them unenforced (full network); polc enforces them
	// through its proxy.
	NetRulesEnforced = register("POL158", Info, "domain rules enforced through polc's proxy")
	// proxy_url or socks_url names a host that is not loopback: polc's
	// listener is always on the sandbox's own loopback.
	NetProxyHostIgnored = register("POL159", Warning, "proxy listener host ignored")
	// A network key polc accepts but that changes nothing in polc (an
	// upstream proxy, SOCKS5 UDP, TLS interception, review hooks).
	NetSettingNoEffect = register("POL200", Info, "network setting has no effect in polc")
	// Domain rules in a profile whose network stays off: nothing is
	// proxied, so they decide nothing.
	NetRulesUnused = register("POL201", Warning, "domain rules unused: the network is off")
	// An unrestricted profile (:danger-full-access) under managed network
	// requirements: no sandbox, so nothing routes through the proxy.
	NetUnrestrictedBypass = register("POL202", Warning, "unrestricted profile bypasses the managed proxy")
	// allowed_domains, denied_domains or allowed_unix_sockets in a
	// profile's network table: legacy keys the reference ignores there.
	NetLegacyListIgnored = register("POL203", Warning, "legacy network list key ignored")
	// Limited mode with the proxy on: HTTPS tunnels are refused, so
	// HTTPS clients (npm, pip, git) fail; the reference inspects them.
	NetLimitedNoTunnels = register("POL204", Info, "limited mode refuses HTTPS tunnels")
)
