//go:build !linux

package statekey

import "testing"

func TestNoKeyWithoutKeyring(t *testing.T) {
	if _, err := Key(t.TempDir()); err == nil {
		t.Fatal("a key without a keyring")
	}
}
