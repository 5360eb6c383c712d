package firewall

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"polc/artifact"
	"polc/diag"
	"polc/internal/canonjson"
	"polc/ir"
)

// Format is the firewall artifact's format tag. It differs from
// artifact.Format on purpose: a sandbox runtime refuses a firewall
// artifact and the firewall refuses a sandbox artifact.
const Format = "polc-firewall/v1"

// Platform is the scope platform of a firewall artifact.
const Platform = "devcontainer"

// Defaults of a compiled Spec.
const (
	// DefaultListen is where the forwarder answers: the container's own
	// loopback, which the ruleset always allows.
	DefaultListen = "127.0.0.1:53"
	// DefaultMark marks the forwarder's upstream sockets (SO_MARK); only
	// marked packets may carry DNS out of the container. "polc" in ASCII.
	DefaultMark = 0x706f6c63
	// DefaultMaxTTL caps how long one answer keeps an address open.
	DefaultMaxTTL = 3600
	// Table is the nftables table polc owns (family inet).
	Table = "polc"
)

// Spec is what the firewall enforces.
type Spec struct {
	// Network is the policy's network (full for an unrestricted policy).
	Network ir.Network `json:"network"`
	// Listen is the forwarder's address (IP:port).
	Listen string `json:"listen"`
	// Mark is the socket mark of the forwarder's upstream queries.
	Mark uint32 `json:"mark"`
	// MaxTTL caps a set element's timeout, in seconds.
	MaxTTL int `json:"max_ttl"`
}

// Compile derives the firewall spec of a compiled policy.
func Compile(p *ir.Policy) (*Spec, error) {
	if p == nil {
		return nil, errors.New("no policy")
	}
	n := p.Network
	if p.Unrestricted {
		n = ir.Network{Mode: ir.NetworkFull, Origin: n.Origin}
	}
	s := &Spec{Network: n, Listen: DefaultListen, Mark: DefaultMark, MaxTTL: DefaultMaxTTL}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Validate reports why a spec cannot be enforced as written.
func (s *Spec) Validate() error {
	if err := s.Network.Validate(); err != nil {
		return fmt.Errorf("network: %s", diag.MessageOf(err))
	}
	switch s.Network.Mode {
	case ir.NetworkNone, ir.NetworkFull, ir.NetworkProxy:
	default:
		return fmt.Errorf("network mode %q is not none, full or proxy", s.Network.Mode)
	}
	ap, err := netip.ParseAddrPort(s.Listen)
	if err != nil || ap.Port() == 0 || !ap.Addr().IsLoopback() {
		return fmt.Errorf("listen %q is not a loopback IP:port", s.Listen)
	}
	if s.Mark == 0 {
		return errors.New("mark must not be 0 (every unmarked socket has mark 0)")
	}
	if s.MaxTTL < 1 || s.MaxTTL > 86400 {
		return fmt.Errorf("max_ttl %d is outside 1-86400 seconds", s.MaxTTL)
	}
	return nil
}

// Limited reports whether the network restricts HTTP methods.
func (s *Spec) Limited() bool {
	return s.Network.Mode == ir.NetworkProxy && s.Network.Proxy != nil && s.Network.Proxy.Methods == ir.MethodsLimited
}

// CheckMode refuses a limited-mode network unless polc exec's proxy also
// runs (withExecProxy): a packet filter sees addresses, never HTTP
// methods, so the firewall alone would let a POST through.
func (s *Spec) CheckMode(withExecProxy bool) error {
	if s.Limited() && !withExecProxy {
		return diag.Errorf(diag.FirewallLimitedMode, "the network is in limited mode (GET, HEAD and OPTIONS only), and methods cannot be enforced by a firewall, which sees addresses, not requests").WithFix("run the command under polc exec, whose proxy enforces methods, and pass --with-exec-proxy")
	}
	return nil
}

// Build packages a spec and its policy into a firewall artifact, signed
// when key is set. The envelope is artifact.Envelope under Format; the
// payload's backend field is the spec, and its policy p as the compiler
// made it (machine-independent: symbolic paths and origin files).
func Build(p *ir.Policy, version string, key ed25519.PrivateKey) ([]byte, error) {
	s, err := Compile(p)
	if err != nil {
		return nil, err
	}
	spec, err := canonjson.Marshal(s)
	if err != nil {
		return nil, err
	}
	polJSON, err := canonjson.Marshal(p)
	if err != nil {
		return nil, err
	}
	// The variables the stored policy names (the firewall itself binds
	// none: it reads only the network).
	vars := []string{}
	for _, v := range artifact.Variables {
		if bytes.Contains(polJSON, []byte(v)) {
			vars = append(vars, v)
		}
	}
	e := &artifact.Envelope{
		Format: Format,
		Scope:  artifact.Scope{Profile: p.Profile, Platform: Platform, PolcVersion: version, RequirementsDigest: p.RequirementsDigest},
		Payload: artifact.Payload{Bindings: vars, Policy: p,
			Backend: json.RawMessage(bytes.TrimRight(spec, "\n"))},
	}
	body, err := canonjson.Marshal(e.Payload)
	if err != nil {
		return nil, err
	}
	e.PayloadDigest = artifact.Digest(body)
	if key != nil {
		if err := e.Sign(key); err != nil {
			return nil, err
		}
	}
	return e.Encode()
}

// Artifact is a decoded firewall artifact.
type Artifact struct {
	Envelope *artifact.Envelope
	Spec     *Spec
}

// MaxSize bounds a firewall artifact file.
const MaxSize = 4 << 20

// Decode parses a firewall artifact strictly: format tag, canonical
// payload digest, no unknown fields, a valid spec. It does not check the
// signature (Verify does).
func Decode(data []byte) (*Artifact, error) {
	bad := func(format string, args ...any) error {
		return diag.Errorf(diag.FirewallArtifactBad, "%s", fmt.Sprintf(format, args...))
	}
	if len(data) > MaxSize {
		return nil, bad("firewall artifact is %d bytes, more than %d", len(data), MaxSize)
	}
	var raw struct {
		Format        string              `json:"format"`
		Scope         artifact.Scope      `json:"scope"`
		PayloadDigest string              `json:"payload_digest"`
		Payload       json.RawMessage     `json:"payload"`
		Signature     *artifact.Signature `json:"signature,omitempty"`
	}
	if err := artifact.StrictUnmarshal(data, &raw); err != nil {
		return nil, bad("not a firewall artifact: %v", err)
	}
	if raw.Format != Format {
		return nil, bad("format %q is not %q; build it with polc build --target devcontainer", raw.Format, Format)
	}
	if raw.Scope.Platform != Platform {
		return nil, bad("scope.platform %q is not %q", raw.Scope.Platform, Platform)
	}
	if len(raw.Payload) == 0 || string(raw.Payload) == "null" {
		return nil, bad("no payload")
	}
	canon, err := canonjson.Canonicalize(raw.Payload)
	if err != nil {
		return nil, bad("payload: %v", err)
	}
	if got := artifact.Digest(canon); got != raw.PayloadDigest {
		return nil, bad("payload digest mismatch: the artifact was modified after it was built")
	}
	e := &artifact.Envelope{Format: raw.Format, Scope: raw.Scope, PayloadDigest: raw.PayloadDigest, Signature: raw.Signature}
	if err := artifact.StrictUnmarshal(canon, &e.Payload); err != nil {
		return nil, bad("payload: %v", err)
	}
	if e.Payload.Policy == nil {
		return nil, bad("payload has no policy")
	}
	var s Spec
	if err := artifact.StrictUnmarshal(e.Payload.Backend, &s); err != nil {
		return nil, bad("spec: %v", err)
	}
	if err := s.Validate(); err != nil {
		return nil, bad("spec: %v", err)
	}
	return &Artifact{Envelope: e, Spec: &s}, nil
}

// Verify checks the artifact's signature against trusted keys; with no
// keys, the artifact must be unsigned-allowed by the caller.
func (a *Artifact) Verify(trust []artifact.PublicKey) error {
	if _, err := a.Envelope.Verify(trust); err != nil {
		return diag.Errorf(diag.FirewallUntrusted, "%s", diag.MessageOf(err))
	}
	return nil
}
