package main

import (
	"os"
	"strings"
	"testing"
)

// TestExecArtifactLaunchRefusalIsOneLine: an unsigned artifact run with
// no trust key passes every artifact check (polc warns that its origin
// was not checked), then the launch is refused (here: the protected
// .codex became a symlink in the writable project, POL073). The user
// must see the refusal alone, one line, exit 125: the warning belongs to
// launches that start.
func TestExecArtifactLaunchRefusalIsOneLine(t *testing.T) {
	w := newArtWorld(t, artSeedConfig)
	if _, errs, code := w.polc("proj", "build", "--target=linux"); code != 0 {
		t.Fatalf("build: %s", errs)
	}
	if err := os.Rename(w.path("proj/.codex"), w.path("store/codex")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(w.path("store/codex"), w.path("proj/.codex")); err != nil {
		t.Fatal(err)
	}
	out, errs, code := w.polc("proj", "exec", "--artifact", ".polc/dev.linux.json", "--", "sh", "-c", "echo RAN")
	if code != 125 || strings.Contains(out, "RAN") {
		t.Fatalf("exit %d, want 125 without running\n%s%s", code, out, errs)
	}
	if strings.Count(errs, "\n") != 1 || strings.Contains(errs, "warning") {
		t.Errorf("stderr %q, want the refusal alone on one line", errs)
	}
}
