package artifact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"polc/diag"
	"polc/internal/canonjson"
	"polc/ir"
)

// Format is the envelope's format tag; Decode refuses any other.
const Format = "polc-artifact/v1"

// MaxSize bounds an artifact file. Deny globs stay patterns in the
// artifact, so even large policies are small; anything bigger is refused
// before it is parsed.
const MaxSize = 16 << 20

// Variables are the symbolic variables an artifact may ask the shim to bind.
var Variables = []string{ir.VarCodexHome, ir.VarHome, ir.VarTmpdir, ir.VarWorkspaceRoot}

// Scope is what a signature is about besides the payload: an artifact
// signed for one profile, platform, polc version and requirements set
// cannot be passed off as another.
type Scope struct {
	Profile string `json:"profile"`
	// Platform is an ir.Platform for a sandbox artifact (the devcontainer
	// firewall's payload names firewall.Platform).
	Platform    string `json:"platform"`
	PolcVersion string `json:"polc_version"`
	// RequirementsDigest is the policy's RequirementsDigest ("" when no
	// requirements applied).
	RequirementsDigest string `json:"requirements_digest,omitempty"`
}

// FileRef pins a side file by digest and size.
type FileRef struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// Payload is the signed content.
type Payload struct {
	// Bindings are the variables (${WORKSPACE_ROOT}, ...) the shim must
	// bind before using the artifact, sorted.
	Bindings []string `json:"bindings"`
	// Policy is the compiled policy the backend lowered, with symbolic
	// paths and symbolized origins.
	Policy *ir.Policy `json:"policy"`
	// Backend is the backend's payload (backends.Output.Payload), canonical JSON.
	Backend json.RawMessage `json:"backend"`
	// Files pins the side files by suffix (backends.Output.Files).
	Files map[string]FileRef `json:"files,omitempty"`
}

// Signature is an ed25519 signature over SignedMessage.
type Signature struct {
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"key_id"`
	// Value is the standard base64 of the 64-byte signature.
	Value string `json:"value"`
}

// Envelope is the decoded artifact file.
type Envelope struct {
	Format        string     `json:"format"`
	Scope         Scope      `json:"scope"`
	PayloadDigest string     `json:"payload_digest"`
	Payload       Payload    `json:"payload"`
	Signature     *Signature `json:"signature,omitempty"`
}

// Artifact is an envelope with the contents of its side files.
type Artifact struct {
	Envelope
	// Files are the side files' contents by suffix.
	Files map[string][]byte
}

// Digest is the "sha256:<hex>" digest polc uses for payloads and files.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// isDigest reports whether s is a digest as Digest writes it:
// "sha256:" and 64 lowercase hex digits.
func isDigest(s string) bool {
	hexPart, ok := strings.CutPrefix(s, "sha256:")
	return ok && isLowerHex(hexPart, 64)
}

// isLowerHex reports whether s is n lowercase hex digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isSuffix limits side-file suffixes to plain names (a lowercase letter
// or digit, then up to 15 of those, '_' or '-'), so a payload cannot
// point the shim at ../ or at the artifact itself. Plain code, not a
// regexp: every polc start would compile one.
func isSuffix(s string) bool {
	if len(s) < 1 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || i > 0 && (c == '_' || c == '-') {
			continue
		}
		return false
	}
	return true
}

// New wraps a backend's output for a policy into an unsigned artifact.
// The policy is stored as the compiler made it: machine-independent, its
// origins naming files symbolically.
func New(p *ir.Policy, platform ir.Platform, version string, backend []byte, files map[string][]byte) (*Artifact, error) {
	if p == nil {
		return nil, errf(diag.ArtifactMalformed, "", "no policy to package")
	}
	if !json.Valid(backend) {
		return nil, errf(diag.LowerFailed, "", "the %s backend returned a payload that is not JSON", platform)
	}
	canonBackend, err := canonjson.Canonicalize(backend)
	if err != nil {
		return nil, errf(diag.LowerFailed, "", "the %s backend payload: %v", platform, err)
	}
	a := &Artifact{Envelope: Envelope{
		Format: Format,
		Scope: Scope{Profile: p.Profile, Platform: string(platform), PolcVersion: version,
			RequirementsDigest: p.RequirementsDigest},
		Payload: Payload{Policy: p, Backend: json.RawMessage(bytes.TrimRight(canonBackend, "\n"))},
	}}
	if len(files) > 0 {
		a.Files = map[string][]byte{}
		a.Payload.Files = map[string]FileRef{}
		for suffix, body := range files {
			a.Files[suffix] = body
			a.Payload.Files[suffix] = FileRef{Digest: Digest(body), Size: int64(len(body))}
		}
	}
	a.Payload.Bindings = usedVariables(p, canonBackend, files)
	if err := a.seal(); err != nil {
		return nil, err
	}
	// The result must pass our own decoder: never write what we would refuse.
	if err := validate(&a.Envelope); err != nil {
		return nil, err
	}
	return a, nil
}

// seal recomputes the payload digest.
func (a *Artifact) seal() error {
	b, err := canonjson.Marshal(a.Payload)
	if err != nil {
		return errf(diag.ArtifactMalformed, "", "encoding payload: %v", err)
	}
	a.PayloadDigest = Digest(b)
	return nil
}

// usedVariables lists the known variables the policy, the backend payload
// or a side file mentions.
func usedVariables(p *ir.Policy, backend []byte, files map[string][]byte) []string {
	var texts [][]byte
	texts = append(texts, backend)
	for _, f := range files {
		texts = append(texts, f)
	}
	var out []string
	for _, v := range Variables {
		used := false
		for _, s := range policyPaths(p) {
			if strings.HasPrefix(s, v) {
				used = true
				break
			}
		}
		for _, t := range texts {
			if used {
				break
			}
			used = bytes.Contains(t, []byte(v))
		}
		if used {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// policyPaths are every symbolic path the policy holds.
func policyPaths(p *ir.Policy) []string {
	var out []string
	out = append(out, p.WorkspaceRoots...)
	for _, r := range p.Rules {
		out = append(out, r.Path)
	}
	for _, g := range p.Globs {
		out = append(out, g.Pattern, g.Base)
	}
	return out
}

// Encode renders the envelope as canonical JSON: the bytes written to disk.
func (e *Envelope) Encode() ([]byte, error) {
	return canonjson.Marshal(e)
}

// Decode parses and validates an artifact file's bytes: strict structure,
// then the payload digest. It does not check the signature (see Verify)
// nor side files (see Load).
func Decode(data []byte) (*Envelope, error) {
	if len(data) > MaxSize {
		return nil, errf(diag.ArtifactTooLarge, "", "artifact is %d bytes, more than the %d allowed", len(data), MaxSize)
	}
	var raw struct {
		Format        string          `json:"format"`
		Scope         Scope           `json:"scope"`
		PayloadDigest string          `json:"payload_digest"`
		Payload       json.RawMessage `json:"payload"`
		Signature     *Signature      `json:"signature,omitempty"`
	}
	if err := StrictUnmarshal(data, &raw); err != nil {
		return nil, errf(diag.ArtifactMalformed, "", "not a polc artifact: %v", err)
	}
	if raw.Format != Format {
		if raw.Format == "" {
			return nil, errf(diag.ArtifactMalformed, "", "not a polc artifact: no \"format\" field")
		}
		return nil, errf(diag.ArtifactVersion, "", "artifact format %q is not supported (this polc reads %q); rebuild it with this polc", raw.Format, Format)
	}
	if len(raw.Payload) == 0 || string(raw.Payload) == "null" {
		return nil, errf(diag.ArtifactMalformed, "", "artifact has no payload")
	}
	if !isDigest(raw.PayloadDigest) {
		return nil, errf(diag.ArtifactMalformed, "", "payload_digest %q is not sha256:<64 hex>", clip(raw.PayloadDigest))
	}
	// Verify over the canonical form, then decode from those very bytes.
	canon, err := canonjson.Canonicalize(raw.Payload)
	if err != nil {
		return nil, errf(diag.ArtifactMalformed, "", "payload: %v", err)
	}
	if got := Digest(canon); got != raw.PayloadDigest {
		return nil, errf(diag.ArtifactDigestMismatch, "", "payload digest mismatch: the artifact was modified after it was built (has %s, content is %s)", short(raw.PayloadDigest), short(got))
	}
	e := &Envelope{Format: raw.Format, Scope: raw.Scope, PayloadDigest: raw.PayloadDigest, Signature: raw.Signature}
	if err := StrictUnmarshal(canon, &e.Payload); err != nil {
		return nil, errf(diag.ArtifactMalformed, "", "payload: %v", err)
	}
	if err := validate(e); err != nil {
		return nil, err
	}
	return e, nil
}

// StrictUnmarshal decodes exactly one JSON value with no unknown fields:
// how every artifact file polc reads is decoded.
func StrictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// validate checks everything the shim relies on, so that a decoded
// envelope can be used without further checks.
func validate(e *Envelope) error {
	bad := func(format string, args ...any) error {
		return errf(diag.ArtifactMalformed, "", format, args...)
	}
	s := e.Scope
	if _, err := ir.ParsePlatform(s.Platform); err != nil {
		return bad("scope.platform %q is not one of %v", clip(s.Platform), ir.Platforms)
	}
	if s.Profile == "" || s.PolcVersion == "" {
		return bad("scope needs a profile and a polc_version")
	}
	for _, f := range []string{s.Profile, s.PolcVersion, s.RequirementsDigest} {
		if strings.ContainsFunc(f, isControl) {
			return bad("scope holds a control character")
		}
	}
	if sig := e.Signature; sig != nil {
		if sig.Algorithm != Algorithm {
			return bad("signature algorithm %q is not supported (only %s)", clip(sig.Algorithm), Algorithm)
		}
		if !isKeyID(sig.KeyID) {
			return bad("signature key_id %q is not 16 hex digits", clip(sig.KeyID))
		}
		if _, err := decodeSig(sig.Value); err != nil {
			return bad("signature value: %v", err)
		}
	}
	pl := &e.Payload
	if pl.Policy == nil {
		return bad("payload has no policy")
	}
	if len(pl.Backend) == 0 || string(pl.Backend) == "null" {
		return bad("payload has no backend section")
	}
	if pl.Policy.Profile != s.Profile {
		return bad("scope.profile %q does not match the policy's profile %q", clip(s.Profile), clip(pl.Policy.Profile))
	}
	if pl.Policy.RequirementsDigest != s.RequirementsDigest {
		return bad("scope.requirements_digest does not match the policy's")
	}
	if !sort.StringsAreSorted(pl.Bindings) {
		return bad("payload.bindings are not sorted")
	}
	for i, v := range pl.Bindings {
		if !contains(Variables, v) {
			return bad("payload.bindings names %q, not one of %v", clip(v), Variables)
		}
		if i > 0 && pl.Bindings[i-1] == v {
			return bad("payload.bindings lists %s twice", v)
		}
	}
	if err := validatePolicy(pl.Policy, pl.Bindings); err != nil {
		return err
	}
	for suffix, ref := range pl.Files {
		if !isSuffix(suffix) || suffix == "json" {
			return bad("payload.files has an invalid suffix %q", clip(suffix))
		}
		if !isDigest(ref.Digest) || ref.Size < 0 || ref.Size > MaxSize {
			return bad("payload.files[%s] has an invalid digest or size", suffix)
		}
	}
	return nil
}

// validatePolicy checks the policy's paths, accesses and globs, and that
// every variable it uses is declared in bindings.
func validatePolicy(p *ir.Policy, bindings []string) error {
	bad := func(format string, args ...any) error {
		return errf(diag.ArtifactMalformed, "", "payload.policy: "+format, args...)
	}
	checkPath := func(what, s string) error {
		v, rest := splitVar(s)
		if v != "" {
			if !contains(bindings, v) {
				return bad("%s %q uses %s, which payload.bindings does not declare", what, clip(s), v)
			}
		} else if !strings.HasPrefix(s, "/") && !isWindowsAbs(s) {
			return bad("%s %q is neither symbolic nor absolute", what, clip(s))
		}
		if strings.ContainsFunc(s, isControl) {
			return bad("%s %q holds a control character", what, clip(s))
		}
		if rest != "" && (!strings.HasPrefix(rest, "/") || path.Clean(rest) != rest) {
			return bad("%s %q is not a clean path", what, clip(s))
		}
		return nil
	}
	for _, r := range p.WorkspaceRoots {
		if err := checkPath("workspace root", r); err != nil {
			return err
		}
	}
	for _, r := range p.Rules {
		if err := checkPath("rule path", r.Path); err != nil {
			return err
		}
		if r.Access != ir.Read && r.Access != ir.Write && r.Access != ir.Deny {
			return bad("rule %q has no valid access", clip(r.Path))
		}
	}
	for _, g := range p.Globs {
		if err := checkPath("glob base", g.Base); err != nil {
			return err
		}
		v, _ := splitVar(g.Pattern)
		if v != "" && !contains(bindings, v) {
			return bad("glob %q uses %s, which payload.bindings does not declare", clip(g.Pattern), v)
		}
		if !ir.HasPathPrefix(g.Pattern, g.Base) || g.MaxDepth < 0 || !doublestar.ValidatePattern(g.Pattern) {
			return bad("glob %q is malformed (base %q, depth %d)", clip(g.Pattern), clip(g.Base), g.MaxDepth)
		}
	}
	if p.GlobScanMaxDepth < 0 {
		return bad("glob_scan_max_depth is negative")
	}
	if err := p.Network.Validate(); err != nil {
		return bad("network: %s", clip(diag.MessageOf(err)))
	}
	for _, u := range p.Network.UnixSockets {
		if !path.IsAbs(u.Path) || path.Clean(u.Path) != u.Path || strings.IndexByte(u.Path, 0) >= 0 {
			return bad("unix socket %q is not a clean absolute path", clip(u.Path))
		}
	}
	return nil
}

// splitVar splits "${VAR}/rest" into "${VAR}" and "/rest"; a path with no
// leading variable gives "" and the path.
func splitVar(s string) (string, string) {
	if !strings.HasPrefix(s, "${") {
		return "", s
	}
	end := strings.Index(s, "}")
	if end < 0 {
		return s, ""
	}
	return s[:end+1], s[end+1:]
}

func isWindowsAbs(s string) bool {
	return len(s) >= 3 && s[1] == ':' && s[2] == '/' && (s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z')
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// clip keeps hostile strings from flooding a one-line message.
func clip(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return '?'
		}
		return r
	}, s)
}

// short abbreviates a digest for messages.
func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
