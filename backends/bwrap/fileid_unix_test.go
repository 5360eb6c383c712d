//go:build !windows

package bwrap

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestRootMayCreateOnlyWhereTheSandboxMay: run by root, bwrap's user
// namespace maps uid 0 alone, so in a directory of another user root is
// bound by the mode bits like anyone else: a placeholder there would
// fail the launch ("Can't mkdir ...: Permission denied").
func TestRootMayCreateOnlyWhereTheSandboxMay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (chown)")
	}
	root := t.TempDir()
	for i, c := range []struct {
		uid, gid int
		mode     os.FileMode
		want     bool
	}{
		{0, 0, 0o755, true},
		{0, 4242, 0o555, true}, // root owns it: it may chmod it
		{4242, 4242, 0o755, false},
		{4242, 0, 0o775, true},
		{4242, 0, 0o755, false},
		{4242, 4242, 0o777, true},
		{4242, 4242, os.ModeSticky | 0o777, true},
	} {
		d := filepath.Join(root, fmt.Sprint(i))
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, c.mode)
		if err := os.Chown(d, c.uid, c.gid); err != nil {
			t.Fatal(err)
		}
		if got := mayCreateIn(d); got != c.want {
			t.Errorf("dir %d:%d %v: mayCreateIn = %v, want %v", c.uid, c.gid, c.mode, got, c.want)
		}
	}
}
