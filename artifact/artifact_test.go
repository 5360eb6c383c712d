package artifact

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/diag"
	"polc/internal/canonjson"
	"polc/ir"
)

// TestBuildIsByteIdentical: two builds of one policy are byte-identical.
// (The compiler makes the policy the same on every machine: see
// cmd/polc's TestArtifactsIdenticalAcrossMachines.)
func TestBuildIsByteIdentical(t *testing.T) {
	a := mustBuild(t, testPolicy(), ir.Platforms...)
	b := mustBuild(t, testPolicy(), ir.Platforms...)
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("want 3 artifacts, got %d and %d", len(a), len(b))
	}
	for i := range a {
		fa, err := a[i].Render()
		if err != nil {
			t.Fatal(err)
		}
		fb, _ := b[i].Render()
		if len(fa) != len(fb) {
			t.Fatalf("file sets differ: %v vs %v", keys(fa), keys(fb))
		}
		for name, body := range fa {
			if !bytes.Equal(body, fb[name]) {
				t.Errorf("%s differs between builds:\n%s", name, LineDiff("a", "b", body, fb[name], 20))
			}
		}
	}
	files, _ := a[0].Render()
	body := files["dev.linux.json"]
	for _, want := range []string{`"${WORKSPACE_ROOT}/.codex/config.toml"`, `"format": "polc-artifact/v1"`, `"platform": "linux"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("artifact lacks %s:\n%s", want, body)
		}
	}
	if _, ok := files["dev.linux.json"]; !ok {
		t.Errorf("want dev.linux.json, got %v", keys(files))
	}
	mac, _ := a[1].Render()
	if _, ok := mac["dev.macos.sb"]; !ok {
		t.Errorf("macOS side file missing: %v", keys(mac))
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestBindingsListWhatThePolicyUses(t *testing.T) {
	a := mustBuild(t, testPolicy(), "linux")[0]
	want := []string{ir.VarHome, ir.VarTmpdir, ir.VarWorkspaceRoot}
	if strings.Join(a.Payload.Bindings, ",") != strings.Join(want, ",") {
		t.Errorf("bindings = %v, want %v", a.Payload.Bindings, want)
	}
}

func TestRoundTripAndLoad(t *testing.T) {
	dir := t.TempDir()
	arts := mustBuild(t, testPolicy(), ir.Platforms...)
	for _, a := range arts {
		a.Sign(testKey(t, 1))
		files, err := a.Render()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := WriteFiles(dir, files); err != nil {
			t.Fatal(err)
		}
		name := FileName(a.Scope.Profile, a.Scope.Platform)
		got, err := Load(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		again, _ := got.Render()
		for n, body := range files {
			if !bytes.Equal(body, again[n]) {
				t.Errorf("%s does not round-trip", n)
			}
		}
		if _, err := got.Verify(trustOf(testKey(t, 1))); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}
}

// tamper rewrites one occurrence of old in an encoded artifact.
func tamper(t *testing.T, body []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(body, []byte(old)) {
		t.Fatalf("artifact lacks %q", old)
	}
	return bytes.Replace(body, []byte(old), []byte(new), 1)
}

func encoded(t *testing.T, a *Artifact) []byte {
	t.Helper()
	b, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRefusals(t *testing.T) {
	a := mustBuild(t, testPolicy(), "linux")[0]
	good := encoded(t, a)
	if _, err := Decode(good); err != nil {
		t.Fatalf("good artifact refused: %v", err)
	}
	cases := []struct {
		name string
		body []byte
		code diag.Code
	}{
		{"payload access widened", tamper(t, good, `"access": "deny"`, `"access": "write"`), diag.ArtifactDigestMismatch},
		{"backend payload edited", tamper(t, good, `"rules": 6`, `"rules": 7`), diag.ArtifactDigestMismatch},
		{"unknown field", tamper(t, good, `"format":`, `"extra": 1, "format":`), diag.ArtifactMalformed},
		{"unknown payload field, digest fixed up", reseal(t, tamper(t, good, `"bindings":`, `"x": 1, "bindings":`)), diag.ArtifactMalformed},
		{"unknown payload field", tamper(t, good, `"bindings":`, `"x": 1, "bindings":`), diag.ArtifactDigestMismatch},
		{"policy path made relative, digest fixed up", reseal(t, tamper(t, good, `"path": "${HOME}/.ssh"`, `"path": "home/.ssh"`)), diag.ArtifactMalformed},
		{"other format", tamper(t, good, `polc-artifact/v1`, `polc-artifact/v9`), diag.ArtifactVersion},
		{"trailing data", append(append([]byte{}, good...), "{}"...), diag.ArtifactMalformed},
		{"not json", []byte("hello"), diag.ArtifactMalformed},
		{"empty", nil, diag.ArtifactMalformed},
		{"bad digest syntax", tamper(t, good, `"payload_digest": "sha256:`, `"payload_digest": "md5:`), diag.ArtifactMalformed},
		{"scope platform unknown", tamper(t, good, "\"platform\": \"linux\",\n    \"polc_version\"", "\"platform\": \"plan9\",\n    \"polc_version\""), diag.ArtifactMalformed},
		{"too large", bytes.Repeat([]byte(" "), MaxSize+1), diag.ArtifactTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.body)
			wantCode(t, err, c.code)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message is not one line: %q", err)
			}
		})
	}
}

// reseal recomputes the payload digest of an edited artifact, as an
// attacker who knows the format would.
func reseal(t *testing.T, body []byte) []byte {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	canon, err := canonjson.Canonicalize(env["payload"])
	if err != nil {
		t.Fatal(err)
	}
	env["payload_digest"], _ = json.Marshal(Digest(canon))
	out, _ := canonjson.Marshal(env)
	return out
}

func TestDecodeRejectsUndeclaredVariable(t *testing.T) {
	a := mustBuild(t, testPolicy(), "linux")[0]
	a.Payload.Bindings = []string{ir.VarTmpdir, ir.VarWorkspaceRoot} // drop ${HOME}
	if err := a.seal(); err != nil {
		t.Fatal(err)
	}
	_, err := Decode(encoded(t, a))
	wantCode(t, err, diag.ArtifactMalformed)
	if !strings.Contains(err.Error(), "${HOME}") {
		t.Errorf("message should name the variable: %v", err)
	}
}

func TestSignatureRefusals(t *testing.T) {
	key, other := testKey(t, 1), testKey(t, 2)
	a := mustBuild(t, testPolicy(), "linux")[0]

	_, err := a.Verify(trustOf(key))
	wantCode(t, err, diag.ArtifactUnsigned)
	_, err = a.Verify(nil)
	wantCode(t, err, diag.NoTrustKey)

	if err := a.Sign(key); err != nil {
		t.Fatal(err)
	}
	if k, err := a.Verify(trustOf(other, key)); err != nil || k.ID != KeyID(key.Public().(ed25519.PublicKey)) {
		t.Fatalf("verify with the right key: %v", err)
	}
	_, err = a.Verify(trustOf(other))
	wantCode(t, err, diag.ArtifactUnknownKey)

	// Re-scoping a signed Linux artifact as another profile breaks the signature.
	signed := encoded(t, a)
	body := tamper(t, signed, `"polc_version": "test"`, `"polc_version": "test2"`)
	e, err := Decode(body)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	_, err = e.Verify(trustOf(key))
	wantCode(t, err, diag.ArtifactBadSignature)

	// A signature from another key relabelled with the trusted key id.
	forged := *a
	forged.Sign(other)
	forged.Signature.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	_, err = forged.Verify(trustOf(key))
	wantCode(t, err, diag.ArtifactBadSignature)

	// Signing is deterministic: signed builds are byte-identical too.
	b := mustBuild(t, testPolicy(), "linux")[0]
	b.Sign(key)
	if !bytes.Equal(encoded(t, b), signed) {
		t.Error("two signed builds differ")
	}
}

func TestSideFileTamperAndMissing(t *testing.T) {
	dir := t.TempDir()
	a := mustBuild(t, testPolicy(), "macos")[0]
	files, _ := a.Render()
	if _, err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "dev.macos.json")
	if _, err := Load(file); err != nil {
		t.Fatal(err)
	}
	side := filepath.Join(dir, "dev.macos.sb")
	os.WriteFile(side, []byte("(version 1)\n(allow default)\n"), 0o644)
	_, err := Load(file)
	wantCode(t, err, diag.ArtifactSideFile)
	os.Remove(side)
	_, err = Load(file)
	wantCode(t, err, diag.ArtifactSideFile)
}

func TestWriteFilesLeavesNoTempsAndFailsWhole(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, ".polc")
	written, err := WriteFiles(out, map[string][]byte{"a.linux.json": []byte("1\n"), "a.macos.sb": []byte("x")})
	if err != nil || len(written) != 2 {
		t.Fatalf("write: %v %v", written, err)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 2 {
		t.Errorf("want exactly 2 files, got %d", len(ents))
	}
	// Unchanged files are not rewritten; changed ones are.
	written, err = WriteFiles(out, map[string][]byte{"a.linux.json": []byte("1\n"), "a.macos.sb": []byte("y")})
	if err != nil || len(written) != 1 || filepath.Base(written[0]) != "a.macos.sb" {
		t.Errorf("rewrite: %v %v", written, err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "a.macos.sb")); string(b) != "y" {
		t.Errorf("a.macos.sb = %q", b)
	}
	// Output path is a file: nothing can be written, and the error says where.
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	_, err = WriteFiles(blocker, map[string][]byte{"x.json": nil})
	wantCode(t, err, diag.ArtifactWriteFailed)
	_, err = WriteFiles(out, map[string][]byte{"../escape.json": nil})
	wantCode(t, err, diag.ArtifactWriteFailed)
	if _, err := os.Stat(filepath.Join(dir, "escape.json")); err == nil {
		t.Error("wrote outside the output directory")
	}
}

func TestCheckFreshStaleMissing(t *testing.T) {
	dir := t.TempDir()
	arts := mustBuild(t, testPolicy(), "linux", "macos")
	for _, a := range arts {
		files, _ := a.Render()
		WriteFiles(dir, files)
	}
	if stale, err := Check(dir, arts, false); err != nil || len(stale) != 0 {
		t.Fatalf("fresh artifacts reported stale: %v %v", stale, err)
	}
	// The config changed: ~/.ssh is now only read-protected.
	p := testPolicy()
	p.Rules[4].Access = ir.Read
	newer := mustBuild(t, p, "linux", "macos")
	os.Remove(filepath.Join(dir, "dev.macos.sb"))
	stale, err := Check(dir, newer, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range stale {
		got = append(got, s.Name+":"+s.Reason)
	}
	want := "dev.linux.json:differs dev.macos.json:differs dev.macos.sb:missing"
	if strings.Join(got, " ") != want {
		t.Errorf("stale = %v, want %s", got, want)
	}
	d := LineDiff("old", "new", stale[0].Old, stale[0].New, 50)
	if !strings.Contains(d, `-          "access": "deny",`) || !strings.Contains(d, `+          "access": "read",`) {
		t.Errorf("diff does not show the access change:\n%s", d)
	}
}

func TestCheckIgnoresSignatureWithoutKey(t *testing.T) {
	dir := t.TempDir()
	arts := mustBuild(t, testPolicy(), "linux")
	arts[0].Sign(testKey(t, 1))
	files, _ := arts[0].Render()
	WriteFiles(dir, files)
	unsigned := mustBuild(t, testPolicy(), "linux")
	if stale, _ := Check(dir, unsigned, true); len(stale) != 0 {
		t.Errorf("signed committed artifact reported stale in CI mode: %v", stale[0].Reason)
	}
	if stale, _ := Check(dir, unsigned, false); len(stale) != 1 {
		t.Errorf("without ignoreSignature the signature must be compared")
	}
	// Hand-reformatted JSON is stale even when it decodes to the same thing.
	name := filepath.Join(dir, "dev.linux.json")
	body, _ := os.ReadFile(name)
	os.WriteFile(name, bytes.ReplaceAll(body, []byte("  "), []byte("\t")), 0o644)
	stale, _ := Check(dir, unsigned, true)
	if len(stale) != 1 || !strings.Contains(stale[0].Reason, "canonical") {
		t.Errorf("reformatted artifact: %+v", stale)
	}
}

func TestBuildRefusesLowerFailure(t *testing.T) {
	p := testPolicy()
	p.Rules = append(p.Rules, ir.Rule{Path: "/unenforceable", Access: ir.Deny, Origin: ir.Origin{Kind: ir.OriginConfig}})
	arts, d := Build(p, fakeLowerAll(t, p, ir.Platforms), BuildOptions{Version: "t"})
	if arts != nil || !hasCode(d, diag.LowerFailed) {
		t.Errorf("lower failure: arts=%v diags=%v", arts, d)
	}
}

func hasCode(l diag.List, c diag.Code) bool {
	for _, d := range l {
		if d.Code == c {
			return true
		}
	}
	return false
}

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{"dev": "dev.linux.json", ":workspace": "_workspace.linux.json", "a/b": "a_b.linux.json", "..": "_..linux.json"} {
		if got := FileName(in, "linux"); got != want {
			t.Errorf("FileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// An artifact's proxy network is validated like the compiler's output: a
// domain rule the IR refuses, or a port out of range, is malformed even
// with the digest fixed up.
func TestDecodeRejectsBadProxy(t *testing.T) {
	p := testPolicy()
	p.Network = ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{SOCKS5: true, HTTPPort: 3128,
		Domains: []ir.DomainRule{{Pattern: "evil.example.com", Action: ir.DomainDeny}, {Pattern: "example.com", Action: ir.DomainAllow}}}}
	a := mustBuild(t, p, "linux")[0]
	good := encoded(t, a)
	if _, err := Decode(good); err != nil {
		t.Fatalf("good artifact refused: %v", err)
	}
	for name, body := range map[string][]byte{
		"global deny":              reseal(t, tamper(t, good, `"pattern": "evil.example.com"`, `"pattern": "*"`)),
		"action":                   reseal(t, tamper(t, good, `"action": "allow"`, `"action": "permit"`)),
		"port out of range":        reseal(t, tamper(t, good, `"http_port": 3128`, `"http_port": 70000`)),
		"proxy outside proxy mode": reseal(t, tamper(t, good, `"mode": "proxy"`, `"mode": "full"`)),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(body)
			wantCode(t, err, diag.ArtifactMalformed)
			if !strings.Contains(err.Error(), "network") {
				t.Errorf("refused for another reason: %v", err)
			}
		})
	}
}
