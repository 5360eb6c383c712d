package diag

// Landlock mode (POL235–POL244): polc exec --landlock, or
// features.use_legacy_landlock = true, runs the command under Landlock
// and seccomp instead of bubblewrap (package backends/landlock, launcher
// shim/landlock_linux.go). Landlock is allow-only and a grant covers the
// whole tree beneath it, so polc refuses, naming the rule, every profile
// it cannot enforce exactly; it never approximates.
var (
	LandlockNarrowerUnderGrant = register("POL235", Error, "a rule under a granted tree is narrower than the grant: Landlock cannot enforce it")
	LandlockGlobUnderGrant     = register("POL236", Error, "a deny glob can match under a granted tree: Landlock cannot enforce it")
	LandlockProtectedMetadata  = register("POL237", Error, "protected metadata under a writable root: Landlock cannot keep it read-only")
	LandlockMandatoryDeny      = register("POL238", Error, "a requirement's deny crosses a granted tree: Landlock cannot enforce it")
	LandlockProxyNetwork       = register("POL239", Error, "a proxy-only network is not supported under Landlock")
	LandlockUnixSockets        = register("POL240", Error, "allowed host Unix sockets cannot be enforced under Landlock")
	LandlockABI                = register("POL241", Error, "the kernel's Landlock ABI lacks what the profile needs")
	LandlockSetup              = register("POL242", Error, "the Landlock sandbox could not be set up")
	LandlockUnsupported        = register("POL243", Error, "Landlock mode is not available for this launch")
	ContainerIsBoundary        = register("POL244", Info, "the container is the only boundary the profile would get")
)
