package main

import (
	"strings"
	"testing"
)

// TestRelativeHomeRefusedAlike: the compiler and polc exec --artifact
// find the host values with one function (ir.HostBindings). A relative
// $HOME used to be bound against the working directory by the compiler
// and left unbound by exec --artifact; now check, exec and exec
// --artifact refuse it alike, with the same located, coded line.
func TestRelativeHomeRefusedAlike(t *testing.T) {
	w := newArtWorld(t, artSeedConfig)
	if _, errs, code := w.polc("proj", "build", "--target=linux"); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, errs)
	}
	w.env = []string{"HOME=../home"}
	want := `$HOME: error: HOME is "../home", a relative path: polc will not guess which directory ~ stands for [POL265]`
	out, _, code := w.polc("proj", "check", "--target=none")
	if code != 1 || !strings.Contains(out, want) {
		t.Errorf("check: exit %d, want 1 and %q:\n%s", code, want, out)
	}
	needLinux(t)
	for _, args := range [][]string{
		{"exec", "--", "true"},
		{"exec", "--artifact", ".polc/dev.linux.json", "--", "true"},
	} {
		out, errs, code := w.polc("proj", args...)
		if code != 125 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, want) {
			t.Errorf("%s: exit %d, stderr %q; want 125 and one line with %q", strings.Join(args, " "), code, errs, want)
		}
	}
}
