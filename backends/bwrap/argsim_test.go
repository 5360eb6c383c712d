package bwrap

import (
	"strings"
	"testing"

	"polc/ir"
)

// TestArgSimReadsMountsAsLinux: a later mount covers what lies at or
// below its path, a deeper one decides below it, remount-ro only where a
// mount is, and an option the simulator does not know is an error.
func TestArgSimReadsMountsAsLinux(t *testing.T) {
	root := t.TempDir()
	sim, err := simulateArgs([]string{
		"--perms", "0111", "--tmpfs", "/",
		"--bind", root, root,
		"--perms", "0000", "--tmpfs", root + "/sub",
		"--remount-ro", root + "/sub",
		"--ro-bind", root + "/ro", root + "/ro",
	}, []Mask{{Path: root + "/secret.env"}})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]ir.Access{
		"/etc":               ir.Deny, // only in the 0111 tmpfs root
		root:                 ir.Write,
		root + "/new":        ir.Write,
		root + "/sub":        ir.Deny,
		root + "/sub/x":      ir.Deny,
		root + "/ro/x":       ir.Read,
		root + "/secret.env": ir.Deny, // the mask stage's mask
	} {
		if got := sim.Access(p); got != want {
			t.Errorf("%s: %v, want %v", p, got, want)
		}
	}
	covered, err := simulateArgs([]string{"--bind", root, root, "--perms", "0111", "--tmpfs", "/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := covered.Access(root); got != ir.Deny {
		t.Errorf("a tmpfs on / mounted after a bind must cover it: %v", got)
	}
	for _, bad := range [][]string{
		{"--overlay-src", "/a"},
		{"--tmpfs", "/", "--remount-ro", "/nowhere"},
		{"--bind", "/a"},
		{"--bind", "/a", "/b"},
	} {
		if _, err := simulateArgs(bad, nil); err == nil {
			t.Errorf("%s: accepted", strings.Join(bad, " "))
		}
	}
}
