package statekey

import (
	"bytes"
	"testing"
)

// TestKeyIsStable: the key is created once and found again, by this
// process and by a later one (find skips the per-process memo).
func TestKeyIsStable(t *testing.T) {
	k1, err := Key(t.TempDir())
	if err != nil {
		t.Skipf("no user keyring here: %v", err)
	}
	k2, err := find()
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != Size || !bytes.Equal(k1, k2) {
		t.Fatalf("key changed between loads (%d bytes)", len(k1))
	}
	if bytes.Equal(k1, make([]byte, Size)) {
		t.Fatal("all-zero key")
	}
}
