package hostprobe

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	CatchChild() // the trials start this test binary as their child
	os.Exit(m.Run())
}

// TestSystemTrials runs the real trials on this machine, which runs the
// sandbox (every e2e test says so): each must succeed.
func TestSystemTrials(t *testing.T) {
	p := System()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("no bwrap here")
	}
	bw, err := p.FindBwrap(nil)
	if err != nil || bw.Version == "" {
		t.Fatalf("FindBwrap: %+v, %v", bw, err)
	}
	if err := p.TryUserNS(); err != nil {
		t.Errorf("TryUserNS: %v", err)
	}
	if err := p.TrySeccomp(); err != nil {
		t.Errorf("TrySeccomp: %v", err)
	}
	args := Sandbox{Args: []string{"--unshare-user", "--unshare-pid", "--unshare-net", "--cap-drop", "ALL"}, Proc: true, Dev: true}.TrialArgs()
	if stderr, err := p.TrySandbox(bw.Path, args, nil); err != nil {
		t.Errorf("TrySandbox: %v: %s", err, stderr)
	}
	// A filter bwrap cannot load is a failed trial, with bwrap's word.
	if stderr, err := p.TrySandbox(bw.Path, args, []byte{1, 2, 3}); err == nil || stderr == "" {
		t.Errorf("a malformed filter was loaded: %v %q", err, stderr)
	}
	// A refusal made to happen: a user namespace inside bwrap
	// --disable-userns. Only the trial runs there, in this test binary.
	if os.Getenv("POLC_HOSTPROBE_NESTED") == "" {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bwrap", "--unshare-user", "--disable-userns", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
			"--", exe, "-test.run=^TestNestedRefused$", "-test.v")
		cmd.Env = append(os.Environ(), "POLC_HOSTPROBE_NESTED=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestNestedRefused") {
			t.Errorf("inside bwrap --disable-userns: %v\n%s", err, out)
		}
	}
}

// TestNestedRefused runs inside bwrap --disable-userns (started by
// TestSystemTrials): the trial must fail with ENOSPC, which Diagnose
// calls POL132.
func TestNestedRefused(t *testing.T) {
	if os.Getenv("POLC_HOSTPROBE_NESTED") == "" {
		t.Skip("run by TestSystemTrials inside bwrap --disable-userns")
	}
	p := System()
	err := p.TryUserNS()
	if f := userNSFinding(p, err); f == nil || f.Code != "POL132" {
		t.Fatalf("TryUserNS = %v: finding %v, want POL132", err, f)
	}
}

// TestFindBwrapSkipsTheProject: a bwrap the project holds (a sandboxed
// command could have planted it) is never run, even first on PATH.
func TestFindBwrapSkipsTheProject(t *testing.T) {
	proj := t.TempDir()
	bin := proj + "/node_modules/.bin"
	os.MkdirAll(bin, 0o755)
	os.WriteFile(bin+"/bwrap", []byte("#!/bin/sh\ntouch "+proj+"/planted-ran\n"), 0o755)
	t.Setenv("PATH", bin+":/usr/bin:/bin")
	b, err := System().FindBwrap([]string{proj})
	if err == nil && strings.HasPrefix(b.Path, proj) {
		t.Fatalf("picked the project's bwrap %s", b.Path)
	}
	if _, err := os.Stat(proj + "/planted-ran"); err == nil {
		t.Fatal("the planted bwrap ran")
	}
	if b, _ := System().FindBwrap(nil); b.Path != bin+"/bwrap" {
		t.Errorf("without skip, PATH's first bwrap is %s, want %s", b.Path, bin+"/bwrap")
	}
}
