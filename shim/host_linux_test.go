package shim

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"polc/backends"
	"polc/backends/bwrap"
	"polc/diag"
	"polc/hostprobe"
	"polc/ir"
)

// artifactFor lowers rules for Linux as polc exec does.
func artifactFor(t *testing.T, rules ...ir.Rule) *bwrap.Artifact {
	t.Helper()
	out, diags := bwrap.Backend.Lower(&ir.Policy{Profile: "p", Rules: rules}, backends.Options{NoPayload: true})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return out.Artifact.(*bwrap.Artifact)
}

// playHost makes the launch see host until the test ends.
func playHost(t *testing.T, host hostprobe.Probe) {
	saved := hostProbe
	hostProbe = func() hostprobe.Probe { return host }
	t.Cleanup(func() { hostProbe = saved })
}

func wslFake(version string) *hostprobe.Fake {
	return &hostprobe.Fake{Files: map[string]string{"/proc/version": version}, Bwrap: &hostprobe.Bwrap{Path: "/usr/bin/bwrap"}}
}

// TestWSL1RefusedBeforeAnything: on WSL1 polc exec refuses with POL130
// and its fix before it plans or starts anything.
func TestWSL1RefusedBeforeAnything(t *testing.T) {
	host := wslFake("Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) #1237-Microsoft")
	playHost(t, host)
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	cfg := ir.Origin{Kind: ir.OriginConfig}
	_, err := Run(&Launch{
		Linux:  artifactFor(t, ir.Rule{Path: "/", Access: ir.Read, Origin: cfg}, ir.Rule{Path: dir, Access: ir.Write, Origin: cfg}),
		Argv:   []string{"sh", "-c", "touch " + marker},
		Dir:    dir,
		Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Stdin: strings.NewReader(""),
	})
	want := "this is WSL1 (kernel 4.4.0-19041-Microsoft), which emulates Linux without namespaces or seccomp, so bubblewrap cannot run; " +
		"Codex dropped WSL1 when its Linux sandbox moved to bubblewrap [POL130]; " +
		"fix: convert the distribution to WSL2 (in Windows: wsl --set-version DISTRO 2) and run polc there"
	if f, ok := err.(*diag.Diagnostic); !ok || f.Error() != want || f.Code != diag.HostWSL1 {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran on WSL1")
	}
	if len(host.Tried) > 0 {
		t.Errorf("bwrap was tried: %v", host.Tried)
	}
}

// TestWSL2InteropMasked: on WSL2 a sandbox that shows the interop
// directories through a wider rule (":root" read) sees them empty and
// unreadable; a rule naming one keeps it; elsewhere nothing is masked.
// The directories are played by temporary ones.
func TestWSL2InteropMasked(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("no bwrap")
	}
	root, _ := filepath.EvalSymlinks(t.TempDir())
	os.Chmod(root, 0o755)
	wsl := filepath.Join(root, "run", "WSL")
	os.MkdirAll(wsl, 0o755)
	os.WriteFile(filepath.Join(wsl, "2_interop"), []byte("interop\n"), 0o644)
	saved := hostprobe.InteropPaths
	hostprobe.InteropPaths = []string{wsl}
	t.Cleanup(func() { hostprobe.InteropPaths = saved })
	wsl2 := wslFake("Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0) #1 SMP")
	native := wslFake("Linux version 6.8.0-45-generic (buildd@lcy02-amd64-115) #45-Ubuntu SMP")
	cfg := ir.Origin{Kind: ir.OriginConfig}
	rootRead := ir.Rule{Path: "/", Access: ir.Read, Origin: cfg}
	run := func(host hostprobe.Probe, rules ...ir.Rule) string {
		t.Helper()
		playHost(t, host)
		var out, errb bytes.Buffer
		code, err := Run(&Launch{
			Linux:  artifactFor(t, rules...),
			Argv:   []string{"cat", filepath.Join(wsl, "2_interop")},
			Dir:    root,
			Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(""),
		})
		if err != nil {
			t.Fatalf("launch: %v", err)
		}
		if code != 0 {
			return fmt.Sprintf("exit %d: %s", code, errb.String())
		}
		return out.String()
	}
	if got := run(wsl2, rootRead); !strings.Contains(got, "Permission denied") && !strings.Contains(got, "No such file") {
		t.Errorf("WSL2, :root read: the interop socket was reachable: %q", got)
	}
	if got := run(wsl2, rootRead, ir.Rule{Path: wsl, Access: ir.Read, Origin: cfg}); got != "interop\n" {
		t.Errorf("WSL2, a rule naming %s: %q, want it readable", wsl, got)
	}
	if got := run(native, rootRead); got != "interop\n" {
		t.Errorf("native Linux: %q, want nothing masked", got)
	}
}
