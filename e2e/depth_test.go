package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/internal/conformance"
)

// depthConfig is the seed profile with glob_scan_max_depth = 3 and a
// read-only vendor/ inside the writable project.
const depthConfig = `default_permissions = "workspace"

[permissions.workspace.filesystem]
":minimal" = "read"
":project_roots" = { "." = "write", "vendor" = "read", "**/*.env" = "none" }
glob_scan_max_depth = 3
`

// TestSecretMovedBelowCapStaysDenied is the attack of issue 9, class 8:
// deny globs are expanded at launch, and only down to
// glob_scan_max_depth where the reference is concerned. Launch 1 moves
// a/ (holding a/b/d.env, within the cap, so masked) below the cap
// inside the writable project; launch 2 must still not read it. The
// cap still applies in the read-only vendor/, where nothing in the
// sandbox can move a file: its deep .env stays readable, as ir.Decide
// and polc explain --target linux say.
func TestSecretMovedBelowCapStaysDenied(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, u := range conformance.Users(t) {
		for _, stage := range stages {
			t.Run(u.Name+"/"+stage, func(t *testing.T) { secretMovedBelowCap(t, u, stage) })
		}
	}
}

func secretMovedBelowCap(t *testing.T, u conformance.User, stage string) {
	w := seedWorld(t, depthConfig)
	for rel, body := range map[string]string{
		"a/b/d.env":        "SECRET=moved\n",
		"vendor/p/q/r.env": "VENDORED=1\n",
		"ok.txt":           "fine\n",
	} {
		p := filepath.Join(w.Proj, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u.Own(t, w.Root)

	// Launch 1: d.env is masked (depth 3, within the cap); the command
	// cannot read it, but it can move its directory seven levels down.
	move := `cat a/b/d.env 2>/dev/null && echo LEAK1
mkdir -p x/y/z/w && mv a x/y/z/w/ && echo moved`
	r := polcExecAs(t, u, stage, w, "workspace", move, "/bin/sh", "-s")
	if r.code != 0 || strings.Contains(r.stdout, "LEAK1") || !strings.Contains(r.stdout, "moved") {
		t.Fatalf("launch 1: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(w.Proj, "x/y/z/w/a/b/d.env")); err != nil {
		t.Fatalf("launch 1 did not move the secret on the host: %v", err)
	}

	// Launch 2: the secret now lies at depth 7, beyond the cap, in the
	// writable project: still masked. vendor/p/q/r.env (depth 4) is
	// read-only and stays as the cap leaves it.
	read := `cat x/y/z/w/a/b/d.env 2>/dev/null && echo LEAK2
cat vendor/p/q/r.env
cat ok.txt`
	r = polcExecAs(t, u, stage, w, "workspace", read, "/bin/sh", "-s")
	if r.code != 0 || strings.Contains(r.stdout, "LEAK2") || strings.Contains(r.stdout, "SECRET") {
		t.Fatalf("launch 2 read the moved secret: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r.stdout != "VENDORED=1\nfine\n" {
		t.Fatalf("launch 2: exit %d, stdout %q (want the read-only vendored .env and ok.txt)\n%s", r.code, r.stdout, r.stderr)
	}
	if stage == "direct" && !r.direct {
		t.Errorf("launch 2 did not launch directly")
	}
}
