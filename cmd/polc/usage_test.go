package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// polcChild runs this test binary as polc (see artMainEnv) and returns
// stdout, stderr and the exit code.
func polcChild(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), artMainEnv+"=1", "POLC_ARTTEST_TRUST_DIR="+cmd.Dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestUsageErrorsExit2: an unknown flag of any command, or no command
// at all, is a usage error: exit 2, one line (or the help) on stderr,
// nothing on stdout — for exec, stdout is the command's stream.
func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"explain", "--bogus", "x"},
		{"exec", "--bogus", "--", "true"},
		{"check", "--nope"},
		{"build", "--nope"},
		{"diff", "--nope", "a", "b"},
		{"--nope"},
		{"nosuch"},
	} {
		out, errs, code := polcChild(t, args...)
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "polc: ") {
			t.Errorf("polc %s: exit %d, stdout %q, stderr %q; want exit 2 and one polc: line on stderr only", strings.Join(args, " "), code, out, errs)
		}
	}
	out, errs, code := polcChild(t)
	if code != 2 || out != "" || !strings.Contains(errs, "USAGE") {
		t.Errorf("polc with no arguments: exit %d, stdout %q, stderr %q; want the usage on stderr and exit 2", code, out, errs)
	}
	if out, _, code := polcChild(t, "--help"); code != 0 || !strings.Contains(out, "USAGE") {
		t.Errorf("polc --help: exit %d, stdout %q", code, out)
	}
}
