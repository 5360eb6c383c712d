package artifact

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"polc/diag"
	"polc/internal/canonjson"
)

// Algorithm is the only signature algorithm polc writes or accepts.
const Algorithm = "ed25519"

// signatureDomain separates polc artifact signatures from any other use
// of the same key.
const signatureDomain = "polc artifact signature v1\n"

// isKeyID reports whether s is a key id as KeyID writes it: 16
// lowercase hex digits.
func isKeyID(s string) bool { return isLowerHex(s, 16) }

// PublicKey is a trusted ed25519 key with its id and the file it came from.
type PublicKey struct {
	ID   string
	Key  ed25519.PublicKey
	File string
}

// KeyID is the first 16 hex digits of the sha256 of the raw public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// SignedMessage is what a signature covers: the format, the payload
// digest and the scope, canonically encoded after a domain prefix.
func SignedMessage(e *Envelope) ([]byte, error) {
	body, err := canonjson.Marshal(struct {
		Format        string `json:"format"`
		PayloadDigest string `json:"payload_digest"`
		Scope         Scope  `json:"scope"`
	}{e.Format, e.PayloadDigest, e.Scope})
	if err != nil {
		return nil, err
	}
	return append([]byte(signatureDomain), body...), nil
}

// Sign signs the envelope with key, replacing any earlier signature.
func (e *Envelope) Sign(key ed25519.PrivateKey) error {
	msg, err := SignedMessage(e)
	if err != nil {
		return errf(diag.ArtifactMalformed, "", "encoding the signed message: %v", err)
	}
	pub := key.Public().(ed25519.PublicKey)
	e.Signature = &Signature{
		Algorithm: Algorithm,
		KeyID:     KeyID(pub),
		Value:     base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg)),
	}
	return nil
}

// Verify checks the signature against the trusted keys. It fails closed:
// an unsigned envelope, a key id no trusted key has, and a signature that
// does not verify are all refusals. An empty trust list is an error too:
// callers that allow unsigned artifacts decide so before calling.
func (e *Envelope) Verify(trust []PublicKey) (*PublicKey, error) {
	if len(trust) == 0 {
		return nil, errf(diag.NoTrustKey, "", "no trust key to verify the signature with; pass --trust PUBKEY")
	}
	sig := e.Signature
	if sig == nil {
		return nil, errf(diag.ArtifactUnsigned, "", "artifact is not signed, and a trust key is configured; sign it with polc sign --key KEY or polc build --sign-key KEY")
	}
	var key *PublicKey
	for i := range trust {
		if trust[i].ID == sig.KeyID {
			key = &trust[i]
			break
		}
	}
	if key == nil {
		ids := make([]string, len(trust))
		for i, k := range trust {
			ids[i] = k.ID
		}
		return nil, errf(diag.ArtifactUnknownKey, "", "artifact is signed by key %s, which is not trusted (trusted: %s)", sig.KeyID, strings.Join(ids, ", "))
	}
	raw, err := decodeSig(sig.Value)
	if err != nil {
		return nil, errf(diag.ArtifactBadSignature, "", "signature: %v", err)
	}
	msg, err := SignedMessage(e)
	if err != nil {
		return nil, errf(diag.ArtifactMalformed, "", "encoding the signed message: %v", err)
	}
	if !ed25519.Verify(key.Key, msg, raw) {
		return nil, errf(diag.ArtifactBadSignature, "", "signature by key %s does not verify: the scope or payload digest changed after signing", key.ID)
	}
	return key, nil
}

func decodeSig(s string) ([]byte, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("not standard base64")
	}
	if len(raw) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%d bytes, want %d", len(raw), ed25519.SignatureSize)
	}
	return raw, nil
}

// GenerateKey makes a new signing key pair from rand (crypto/rand.Reader
// in production).
func GenerateKey(rand io.Reader) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand)
}

// MarshalPrivateKey encodes a private key as PKCS#8 PEM ("PRIVATE KEY"),
// readable by openssl.
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKey encodes a public key as PKIX PEM ("PUBLIC KEY").
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// maxKeyFile bounds key files; a PEM ed25519 key is about 120 bytes.
const maxKeyFile = 64 << 10

func readPEM(file, wantType string) ([]byte, error) {
	data, err := readLimited(file, maxKeyFile)
	if err != nil {
		return nil, errf(diag.BadKeyFile, file, "%v", err)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errf(diag.BadKeyFile, file, "not a PEM file; make one with polc keygen -o FILE")
	}
	if block.Type != wantType {
		hint := ""
		if block.Type == "PRIVATE KEY" {
			hint = " (this is a private key; pass FILE.pub)"
		} else if block.Type == "PUBLIC KEY" {
			hint = " (this is a public key; pass the private key file)"
		}
		return nil, errf(diag.BadKeyFile, file, "PEM block is %q, want %q%s", block.Type, wantType, hint)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errf(diag.BadKeyFile, file, "unexpected data after the PEM block")
	}
	return block.Bytes, nil
}

// LoadPrivateKey reads a PKCS#8 PEM ed25519 private key. It refuses a key
// file that group or others can read: a signing key anyone can read signs
// for anyone.
func LoadPrivateKey(file string) (ed25519.PrivateKey, error) {
	der, err := readPEM(file, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(file); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, errf(diag.BadKeyFile, file, "private key is readable by others (mode %04o); run chmod 600 %s", fi.Mode().Perm(), file)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errf(diag.BadKeyFile, file, "not a PKCS#8 private key: %v", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errf(diag.BadKeyFile, file, "private key is %T, polc signs with ed25519 only", k)
	}
	return priv, nil
}

// LoadPublicKey reads a PKIX PEM ed25519 public key.
func LoadPublicKey(file string) (PublicKey, error) {
	der, err := readPEM(file, "PUBLIC KEY")
	if err != nil {
		return PublicKey{}, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return PublicKey{}, errf(diag.BadKeyFile, file, "not a PKIX public key: %v", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return PublicKey{}, errf(diag.BadKeyFile, file, "public key is %T, polc verifies ed25519 only", k)
	}
	return PublicKey{ID: KeyID(pub), Key: pub, File: file}, nil
}

// LoadTrust reads the trust keys named on the command line plus every
// *.pub file in dir (the system trust directory; a missing dir is no
// keys). A key file that cannot be read is an error, never skipped: a
// broken trust store must not quietly turn verification off.
func LoadTrust(files []string, dir string) ([]PublicKey, error) {
	var out []PublicKey
	if dir != "" {
		matches, err := filepath.Glob(filepath.Join(dir, "*.pub"))
		if err != nil {
			return nil, errf(diag.BadKeyFile, dir, "%v", err)
		}
		sort.Strings(matches)
		files = append(append([]string(nil), files...), matches...)
	}
	for _, f := range files {
		k, err := LoadPublicKey(f)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// readLimited reads a file of at most max bytes.
// ReadCommitted reads a regular file of at most MaxSize bytes from an
// output directory (a committed artifact or review file).
func ReadCommitted(file string) ([]byte, error) { return readLimited(file, MaxSize) }

func readLimited(file string, max int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return data, nil
}
