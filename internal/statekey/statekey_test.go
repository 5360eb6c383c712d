package statekey

import (
	"bytes"
	"testing"
)

func TestSumVerify(t *testing.T) {
	key := bytes.Repeat([]byte{7}, Size)
	mac := Sum(key, "globs", []byte("a"), []byte("b"))
	if !Verify(key, "globs", mac, []byte("ab")) {
		t.Error("a MAC does not verify over the same bytes split differently")
	}
	if Verify(key, "registry", mac, []byte("ab")) {
		t.Error("a MAC made for one domain verifies in another")
	}
	if Verify(bytes.Repeat([]byte{8}, Size), "globs", mac, []byte("ab")) {
		t.Error("a MAC verifies under another key")
	}
	if Verify(key[:16], "globs", Sum(key[:16], "globs", []byte("ab")), []byte("ab")) {
		t.Error("a short key is accepted")
	}
}
