// Package statekey holds the per-user secret that authenticates polc's
// own state on disk: the deny-glob cache (what a launch masks) and the
// cleanup registry (what a launch deletes on the host).
//
// File permissions cannot protect that state from a sandbox. A profile
// may make ~/.cache or ~/.local writable, and although polc binds its
// state directories read-only in every sandbox, a command that can write
// an ancestor can rename it away and create a fresh directory of its own
// where polc looks (a read-only bind travels with the renamed directory).
// So every file polc trusts carries an HMAC-SHA256 under a key that no
// sandbox can read: a random 32-byte "user" key in the kernel's per-user
// keyring, described "polc:state-mac:v1". Every sandbox's seccomp filter
// refuses keyctl, add_key and request_key (and its user namespace has
// keyrings of its own), while every polc of the same uid outside a
// sandbox finds the key (view, read and search for the user).
//
// Where the keyring is unavailable Key fails, and callers fall back to
// keeping no state (a cold glob walk, no registry), never to trusting an
// unauthenticated file.
package statekey

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

// Description is the keyring description of polc's state key.
const Description = "polc:state-mac:v1"

// Size is the length of the key and of a MAC.
const Size = 32

// New returns an HMAC-SHA256 under key for one domain (a short name of
// what is authenticated), so that a MAC made for one kind of state is
// never valid for another.
func New(key []byte, domain string) hash.Hash {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(domain))
	h.Write([]byte{0})
	return h
}

// Sum is the MAC of the concatenated parts in domain.
func Sum(key []byte, domain string, parts ...[]byte) []byte {
	h := New(key, domain)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// Verify reports, in constant time, whether mac is the MAC of the parts
// in domain.
func Verify(key []byte, domain string, mac []byte, parts ...[]byte) bool {
	return len(key) == Size && hmac.Equal(mac, Sum(key, domain, parts...))
}
