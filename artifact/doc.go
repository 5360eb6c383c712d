// Package artifact is polc's build product: one signed, canonical file per
// profile and platform, that a runtime shim can verify and run without
// reading any config.
//
// # File layout
//
// An artifact is <profile>.<platform>.json (see FileName). Side files a
// backend produces (for example the macOS profile text, suffix "sb") are
// written beside it as <profile>.<platform>.<suffix>, so that reviewers
// read them as ordinary text diffs; the envelope pins each by digest.
//
// # Envelope
//
// The file is canonical JSON (polc/canonjson: sorted keys, two-space
// indent, trailing newline) of an Envelope:
//
//	{
//	  "format":         "polc-artifact/v1",
//	  "payload":        { "backend": ..., "bindings": [...], "files": {...}, "policy": {...} },
//	  "payload_digest": "sha256:<hex of the canonical payload>",
//	  "scope":          { "platform", "polc_version", "profile", "requirements_digest" },
//	  "signature":      { "algorithm": "ed25519", "key_id": "<16 hex>", "value": "<base64>" }
//	}
//
// The payload carries everything the shim needs besides the backend's own
// output: the symbolic variables it must bind (Bindings), and the ir.Policy
// itself. The policy is there so that the shim can judge where the
// artifact may be stored (never anywhere the sandbox could write), and so
// that `polc diff` of two artifacts is semantic and names each rule's
// file:line (Origin). The compiler names origin files symbolically, like
// rule paths (${WORKSPACE_ROOT}/.codex/config.toml, --requirements:NAME),
// so the policy is stored as it is: an artifact holds no host path and
// two builds on two machines are byte-identical. Nothing in it is a
// timestamp.
//
// The signature covers the payload digest and the scope together (see
// SignedMessage), so a signed Linux artifact cannot be replayed as another
// profile, platform or requirements set. ed25519 signatures are
// deterministic: a signed build is byte-identical too.
//
// # Decoding
//
// Decode is strict: unknown fields, trailing data, non-canonical digests,
// unknown variables or platforms, and oversized input are errors with a
// stable diagnostic code (POL100–POL119), never a panic. The digest is
// checked over the canonical re-encoding of the payload, and the payload
// is then decoded from those same canonical bytes, so what is verified is
// exactly what is used.
package artifact
