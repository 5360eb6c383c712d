package diag

// Linux backend and runtime (bubblewrap, seccomp, polc exec).
var (
	LinuxNoBwrap         = register("POL070", Error, "bubblewrap not found")
	LinuxNoUserNS        = register("POL071", Error, "user namespaces unavailable")
	LinuxSymlinkMask     = register("POL073", Error, "deny or protected path crosses a symlink inside a writable mount")
	LinuxBadArtifact     = register("POL074", Error, "malformed Linux artifact")
	LinuxUnboundVariable = register("POL075", Error, "artifact variable not bound on this host")
	LinuxGlobScan        = register("POL076", Error, "deny glob could not be expanded at launch")
	LinuxSandboxSetup    = register("POL077", Error, "sandbox setup failed")
	LinuxUnsupportedArch = register("POL078", Error, "seccomp filter not available for this architecture")
	LinuxTreeChanged     = register("POL120", Error, "a hidden path moved while the sandbox was set up")
	// Seccomp cannot read a socket address: allowing one host Unix socket
	// allows them all. Downgraded to a warning by --allow-unenforceable.
	LinuxUnixSocketWidened = register("POL079", Error, "Linux cannot limit Unix socket connections to the allowed paths")
	// A proxy-only network whose proxy or bridge could not be built: the
	// command does not run (it never gets a direct network instead).
	LinuxNetworkRoute = register("POL220", Error, "the proxy-only network could not be set up")
)

// POL072 ("proxy-only network enforced as no network on Linux") is
// retired: polc now runs the proxy itself. The code is not reused.
