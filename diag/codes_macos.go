package diag

// macOS backend (backends/seatbelt) and its runtime: POL080–POL089.
var (
	MacGlobUnsupported = register("POL080", Error, "deny glob cannot be expressed as a Seatbelt regex")
	MacSymlinkedRule   = register("POL081", Error, "rule path resolves through a symlink below its root")
	MacLayoutMismatch  = register("POL082", Error, "roots nest in a way the macOS artifact cannot express")
	MacStringTooLong   = register("POL083", Error, "Seatbelt profile string over 1 KiB")
	MacBadPath         = register("POL085", Error, "policy path the macOS backend cannot bind")
	MacBadArtifact     = register("POL086", Error, "malformed macOS artifact")
	MacSandboxExec     = register("POL087", Error, "sandbox-exec could not run the command")
	MacUnixSockets     = register("POL088", Warning, "allowed host Unix sockets are not granted on macOS")
)

// The egress proxy on macOS (POL210–POL214; POL215–POL219 are Windows').
var (
	MacProxyPorts = register("POL210", Error, "the proxy's HTTP and SOCKS5 listeners need the same port")
	MacProxyStart = register("POL211", Error, "the egress proxy could not start on macOS")
)

// POL084 ("proxy network without ports: no network on macOS") is retired:
// a proxy network always has polc's proxy and its listener ports.
