package shim

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"polc/backends/bwrap"
	"polc/internal/seccomp"
)

func needBwrap(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bwrap not installed")
	}
	if out, err := exec.Command(bin, "--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "true").CombinedOutput(); err != nil {
		t.Skipf("bwrap cannot run here: %v %s", err, out)
	}
	return bin
}

// TestDirectLaunchTellsFailuresApart: without reading bwrap's messages,
// the direct launch tells the command's own status from an exec that
// failed (127) and from a setup that failed (polc's failure, 125).
func TestDirectLaunchTellsFailuresApart(t *testing.T) {
	bin := needBwrap(t)
	art := &bwrap.Artifact{Namespaces: []string{"user", "pid"}, Seccomp: seccomp.ForNetwork(true), DieWithParent: true, NewSession: true}
	plan := &bwrap.HostPlan{Artifact: art, Args: []string{"--ro-bind", "/", "/", "--proc", "/proc"}}
	run := func(plan *bwrap.HostPlan, argv ...string) (int, string, error) {
		var stderr bytes.Buffer
		code, err := launch(&Launch{Argv: argv, Stdin: strings.NewReader(""), Stdout: os.Stdout, Stderr: &stderr}, bin, plan, false, "/", nil, os.Environ())
		return code, stderr.String(), err
	}
	if code, _, err := run(plan, "/bin/sh", "-c", "exit 3"); code != 3 || err != nil {
		t.Errorf("exit 3: got %d %v", code, err)
	}
	if code, _, err := run(plan, "/bin/sh", "-c", "kill -TERM $$"); code != 128+15 || err != nil {
		t.Errorf("killed by SIGTERM: got %d %v", code, err)
	}
	if code, stderr, err := run(plan, "/no/such/command"); code != 127 || err != nil {
		t.Errorf("exec failure: got %d %v (%s)", code, err, stderr)
	}
	bad := &bwrap.HostPlan{Artifact: art, Args: []string{"--ro-bind", "/", "/", "--ro-bind", "/no/such/source", "/mnt"}}
	if code, stderr, err := run(bad, "/bin/true"); err == nil || !strings.Contains(err.Error(), "POL077") || code != 0 {
		t.Errorf("setup failure: got %d %v (%s)", code, err, stderr)
	}
}

func TestJSONInt(t *testing.T) {
	for _, c := range []struct {
		line, key string
		want      int
		ok        bool
	}{
		{`{ "child-pid": 25893, "mnt-namespace": 4026532248, "pid-namespace": 4026532249 }`, "child-pid", 25893, true},
		{`{ "exit-code": 137 }`, "exit-code", 137, true},
		{`{ "exit-code":0}`, "exit-code", 0, true},
		{`{ "child-pid": 25893 }`, "exit-code", 0, false},
		{`{ "exit-code": }`, "exit-code", 0, false},
	} {
		if got, ok := jsonInt(c.line, c.key); got != c.want || ok != c.ok {
			t.Errorf("%s in %s: %d %v, want %d %v", c.key, c.line, got, ok, c.want, c.ok)
		}
	}
}
