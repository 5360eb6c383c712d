package diag

// Artifacts, signatures and builds (POL100–POL119). Refusals of an
// artifact at launch carry these codes in their one-line message. POL108
// (a target without a backend) is retired: every platform has its
// backend.
var (
	ArtifactMalformed      = register("POL100", Error, "artifact is not a valid polc artifact")
	ArtifactDigestMismatch = register("POL101", Error, "artifact payload does not match its digest")
	ArtifactUnsigned       = register("POL102", Error, "artifact is not signed but a trust key is configured")
	ArtifactUnknownKey     = register("POL103", Error, "artifact signed by a key that is not trusted")
	ArtifactBadSignature   = register("POL104", Error, "artifact signature does not verify")
	ArtifactWrongPlatform  = register("POL105", Error, "artifact is for another platform")
	ArtifactWritable       = register("POL106", Error, "artifact stored where the sandbox can write it")
	ArtifactStale          = register("POL107", Error, "committed artifact is stale")
	ArtifactVersion        = register("POL109", Error, "unsupported artifact format")
	BadKeyFile             = register("POL110", Error, "key file cannot be used")
	ArtifactSideFile       = register("POL111", Error, "artifact side file missing or modified")
	ArtifactUnbound        = register("POL112", Error, "artifact variable cannot be bound on this host")
	ArtifactWriteFailed    = register("POL113", Error, "artifact could not be written")
	ArtifactTooLarge       = register("POL114", Error, "artifact file too large")
	NoTrustKey             = register("POL115", Error, "no trust key configured")
	LowerFailed            = register("POL116", Error, "backend could not lower the policy")
	TrustKeyWritable       = register("POL117", Error, "trust key stored where the sandbox can write it")
)
