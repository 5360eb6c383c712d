package main

import (
	"encoding/json"
	"errors"
	"polc/diag"
	"strings"
	"testing"
)

// TestCheckStreamsAndPaths: check prints its text report on stderr (as
// go vet does) with the project's files named relative to the project,
// run from it or named with -C from elsewhere, and files outside the
// project (the user's CODEX_HOME) by their absolute path; stdout stays
// empty. JSON and SARIF are on stdout with nothing on stderr, and JSON
// keeps absolute paths.
func TestCheckStreamsAndPaths(t *testing.T) {
	w := newUserWorld(t, "default_permissions = \"dev\"\n[permissions.dev.filesystem]\n\":root\" = \"reed\"\n")
	w.write("proj/.codex/config.toml", "[permissions.dev.filesystem]\n\"/opt\" = \"wrte\"\n")
	trust := "[projects.\"" + w.proj + "\"]\ntrust_level = \"trusted\"\n"
	w.write("home/.codex/config.toml", "default_permissions = \"dev\"\n"+trust+"[permissions.dev.filesystem]\n\":root\" = \"reed\"\n")
	user := w.path("home/.codex/config.toml")
	for _, run := range []struct {
		dir  string
		args []string
	}{
		{"proj", nil},
		{"store", []string{"-C", w.proj}},
	} {
		args := append([]string{"check", "--target=none"}, run.args...)
		out, errs, code := w.polc(run.dir, args...)
		if code != 1 || out != "" {
			t.Errorf("check in %s: exit %d, stdout %q; want 1 and nothing on stdout", run.dir, code, out)
		}
		for _, want := range []string{
			"\n.codex/config.toml:2:10: error: unknown access value",
			user + ":5:11: error: unknown access value",
			"; 2 errors, 0 warnings, 0 notes\n",
		} {
			if !strings.Contains("\n"+errs, want) {
				t.Errorf("check in %s: stderr lacks %q:\n%s", run.dir, want, errs)
			}
		}
		if strings.Contains(errs, w.proj+"/.codex") {
			t.Errorf("check in %s: the project's file is named by its absolute path:\n%s", run.dir, errs)
		}
	}
	for _, format := range []string{"json", "sarif"} {
		out, errs, code := w.polc("proj", "check", "--target=none", "--format", format)
		if code != 1 || errs != "" || !json.Valid([]byte(out)) {
			t.Errorf("check --format %s: exit %d, stderr %q, stdout valid JSON %v", format, code, errs, json.Valid([]byte(out)))
		}
		if format == "json" && !strings.Contains(out, `"file": "`+w.proj+`/.codex/config.toml"`) {
			t.Errorf("JSON must keep absolute paths:\n%s", out)
		}
	}
}

// TestCheckJSONPlatformAndProfile: a backend's diagnostic names its
// platform, and check --all each diagnostic's profile, in fields of
// their own; the message is the finding alone.
func TestCheckJSONPlatformAndProfile(t *testing.T) {
	w := newUserWorld(t, "default_permissions = \"dev\"\n[permissions.dev.filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = { \".\" = \"write\", \"*.env\" = \"deny\" }\n")
	out, _, _ := w.polc("proj", "check", "--target=windows", "--format", "json")
	var list []struct {
		Code, Message, Platform, Profile string
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	found := false
	for _, d := range list {
		if d.Platform == "windows" {
			found = true
			if strings.HasPrefix(d.Message, "windows: ") {
				t.Errorf("the platform is repeated in the message: %+v", d)
			}
		}
	}
	if !found {
		t.Errorf("no diagnostic names the windows platform:\n%s", out)
	}
	w.write("store/req.toml", "allowed_permission_profiles = [\"dev\"]\n")
	out, _, _ = w.polc("proj", "check", "--all", "--target=none", "--format", "json", "--requirements", w.path("store/req.toml"))
	list = nil
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	profiles := map[string]bool{}
	for _, d := range list {
		profiles[d.Profile] = true
		if d.Profile == "" || strings.HasPrefix(d.Message, "profile "+d.Profile+": ") {
			t.Errorf("check --all: %+v; want the profile in its field only", d)
		}
	}
	if !profiles[":workspace"] {
		t.Errorf("check --all: no diagnostic of the refused :workspace:\n%s", out)
	}
}

// TestCommandErrorsCarryTheDiagnostic: the error a command returns keeps
// the diagnostic behind its one-line message, so errors.As recovers its
// code, position and fix (exec refusing a broken config; exec's
// --landlock with an artifact, a usage error with a code).
func TestCommandErrorsCarryTheDiagnostic(t *testing.T) {
	w := newUserWorld(t, "default_permissions = \"dev\"\n[permissions.dev.filesystem]\n\":root\" = \"reed\"\n")
	t.Setenv("HOME", w.home)
	t.Setenv("CODEX_HOME", w.path("home/.codex"))
	t.Setenv("TMPDIR", w.tmp)
	err := newApp(nil).Run([]string{"polc", "exec", "-C", w.proj, "--", "true"})
	var d *diag.Diagnostic
	if !errors.As(err, &d) || d.Code != diag.BadAccess || d.Pos.Line != 3 || d.Fix == "" {
		t.Errorf("exec on a broken config: %v; recovered %+v", err, d)
	}
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 125 || !strings.HasPrefix(ee.msg, "refusing to run: ") {
		t.Errorf("exec: %v, want exit 125 and its one line", err)
	}
	err = newApp(nil).Run([]string{"polc", "exec", "--landlock", "--artifact", w.path("store/none.json"), "--", "true"})
	if diag.CodeOf(err) != diag.LandlockUnsupported || !errors.As(err, &ee) || ee.code != 2 {
		t.Errorf("exec --landlock --artifact: %v (code %q)", err, diag.CodeOf(err))
	}
}
