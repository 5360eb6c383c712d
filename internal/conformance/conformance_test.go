package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadAllCases(t *testing.T) {
	cases, err := Load("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 19 {
		t.Fatalf("loaded %d cases, want at least 19", len(cases))
	}
	for _, c := range cases {
		if len(c.Probes) == 0 {
			t.Errorf("%s: no probes", c.Name)
		}
	}
}

// notYet are shared cases of a capability polc does not have yet: they
// are copied here with the work that makes them pass.
var notYet = map[string]string{}

// TestInSyncWithShared fails when the shared cases changed and the copy
// here was not refreshed (cp ../shared/conformance/*.txtar internal/conformance/testdata/ from the repository root).
func TestInSyncWithShared(t *testing.T) {
	shared, _ := filepath.Glob("../../../shared/conformance/*.txtar")
	if len(shared) == 0 {
		t.Skip("no shared conformance folder beside the checkout")
	}
	for _, f := range shared {
		if why, ok := notYet[filepath.Base(f)]; ok {
			if _, err := os.Stat(filepath.Join("testdata", filepath.Base(f))); err == nil {
				t.Errorf("%s is in testdata: take it off notYet", filepath.Base(f))
			}
			t.Logf("%s: not yet (%s)", filepath.Base(f), why)
			continue
		}
		a, _ := os.ReadFile(f)
		b, err := os.ReadFile(filepath.Join("testdata", filepath.Base(f)))
		if err != nil || string(a) != string(b) {
			t.Errorf("%s differs from the shared copy; refresh testdata", filepath.Base(f))
		}
	}
}

func TestBuildWorld(t *testing.T) {
	c, err := Parse("testdata/012-symlink-escape.txtar")
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(filepath.Join(w.Proj, "link-secret"))
	if err != nil || target != filepath.Join(w.Root, "home/secret.txt") {
		t.Fatalf("link-secret -> %q, %v", target, err)
	}
	if c.Profile() != "ws" {
		t.Fatalf("profile %q", c.Profile())
	}
	if got := w.HostPath("~/x"); got != filepath.Join(w.Home, "x") {
		t.Fatalf("HostPath(~/x) = %q", got)
	}
}

// TestOverlaysApply: every overlay names a shared case and changes some
// of its rows (an overlay that changes nothing, or names no case, is
// stale), and Load applies it.
func TestOverlaysApply(t *testing.T) {
	overlays, _ := filepath.Glob(filepath.Join("testdata", OverlayDir, "*.txtar"))
	if len(overlays) == 0 {
		t.Skip("no overlays")
	}
	cases, err := Load("testdata")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Case{}
	for _, c := range cases {
		byName[c.Name+".txtar"] = c
	}
	for _, o := range overlays {
		c := byName[filepath.Base(o)]
		if c == nil {
			t.Errorf("%s: no such case in testdata", o)
			continue
		}
		if strings.Join(c.Want, "\n") == strings.Join(c.Reference, "\n") {
			t.Errorf("%s: Load did not apply it, or it changes no row", o)
		}
	}
}
