package diag

// This file is codes_win.go, not codes_windows.go: the _windows suffix
// would make it a Windows-only file.

// Windows backend (POL090–POL099). A Windows plan has two modes; a mode
// that cannot enforce a rule records a gap and, when the gap would leave
// something open, refuses the policy.
var (
	WindowsUnenforceable   = register("POL090", Error, "Windows cannot enforce this rule")
	WindowsUnelevatedGaps  = register("POL091", Info, "unelevated Windows mode refuses this profile")
	WindowsSystemRootsHide = register("POL092", Error, "profile hides Windows system directories")
	WindowsSystemWrite     = register("POL093", Warning, "write grant cannot reach Windows system directories")
	WindowsCaseCollision   = register("POL094", Warning, "rules name one Windows path with different case")
	WindowsSystemACE       = register("POL095", Error, "rule inside a Windows system directory cannot be enforced")
	WindowsPosixPath       = register("POL096", Info, "POSIX path has no meaning on Windows")
	WindowsBadPlan         = register("POL097", Error, "Windows plan is malformed")
)

// The egress proxy on Windows (POL215–POL219).
var (
	WindowsProxyPorts = register("POL215", Error, "the proxy's HTTP and SOCKS5 listeners need the same port")
	WindowsProxyStart = register("POL216", Error, "the egress proxy could not start on Windows")
)
