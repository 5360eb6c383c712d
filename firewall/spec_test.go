package firewall

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"polc/artifact"
	"polc/diag"
	"polc/ir"
)

func testPolicy(n ir.Network) *ir.Policy {
	return &ir.Policy{Profile: "dev", Network: n}
}

func TestBuildDecodeVerify(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := testPolicy(testNetwork(false))
	b, err := Build(p, "test", key)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Build(p, "test", key)
	if err != nil || !bytes.Equal(b, again) {
		t.Fatalf("two builds differ (err %v)", err)
	}
	a, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if a.Spec.Listen != DefaultListen || len(a.Spec.Network.Proxy.Domains) != 6 {
		t.Fatalf("spec = %+v", a.Spec)
	}
	trust := []artifact.PublicKey{{ID: artifact.KeyID(pub), Key: pub}}
	if err := a.Verify(trust); err != nil {
		t.Fatalf("verify: %v", err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	if err := a.Verify([]artifact.PublicKey{{ID: artifact.KeyID(otherPub), Key: otherPub}}); err == nil || !strings.Contains(err.Error(), string(diag.FirewallUntrusted)) {
		t.Fatalf("verify with another key = %v", err)
	}

	// Tampering with the spec breaks the digest.
	bad := bytes.Replace(b, []byte(`"api.example.com"`), []byte(`"evil.example.com"`), 1)
	if bytes.Equal(bad, b) {
		t.Fatal("test did not tamper")
	}
	if _, err := Decode(bad); err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("tampered artifact: %v", err)
	}
	// A sandbox artifact is not a firewall artifact.
	if _, err := Decode(bytes.Replace(b, []byte(Format), []byte(artifact.Format), 1)); err == nil || !strings.Contains(err.Error(), string(diag.FirewallArtifactBad)) {
		t.Fatalf("wrong format: %v", err)
	}
	if _, err := Decode([]byte(`{"format":"polc-firewall/v1","extra":1}`)); err == nil {
		t.Fatal("unknown field accepted")
	}
}

func TestCompileModes(t *testing.T) {
	s, err := Compile(&ir.Policy{Unrestricted: true, Network: ir.Network{Mode: ir.NetworkNone}})
	if err != nil || s.Network.Mode != ir.NetworkFull {
		t.Fatalf("unrestricted: %+v %v", s, err)
	}
	n := testNetwork(false)
	n.Proxy.Methods = ir.MethodsLimited
	s, err = Compile(testPolicy(n))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckMode(false); err == nil || !strings.Contains(err.Error(), "methods cannot be enforced") {
		t.Fatalf("limited without the proxy: %v", err)
	}
	if err := s.CheckMode(true); err != nil {
		t.Fatalf("limited with the proxy: %v", err)
	}
	s.Listen = "192.0.2.1:53"
	if err := s.Validate(); err == nil {
		t.Fatal("a non-loopback listen address accepted")
	}
}
