package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/internal/conformance"
)

// polc check reports the retired approval_policy "untrusted" with its
// position; polc fmt -w rewrites it, and the rewritten config checks clean.
func TestCLIUntrustedApprovalMigrates(t *testing.T) {
	cw := newCLIWorld(t, &conformance.Case{Config: "default_permissions = \":read-only\"\napproval_policy = \"untrusted\"\n"})
	errOut, out, code := cw.polc("check", "-C", cw.w.Proj)
	if code != 1 || !strings.Contains(out, "config.toml:2:19: error: approval_policy = \"untrusted\" is no longer supported; remove this setting [POL160]") ||
		!strings.Contains(out, "fix: run polc fmt -w") {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := cw.polc("fmt", "-w", cw.w.ConfigFile); code != 0 {
		t.Fatalf("fmt -w: exit %d\n%s%s", code, out, errOut)
	}
	data, err := os.ReadFile(cw.w.ConfigFile)
	if err != nil || !strings.Contains(string(data), `approval_policy = "on-request"`) {
		t.Fatalf("fmt did not migrate: %q %v", data, err)
	}
	if errOut, out, code := cw.polc("check", "-C", cw.w.Proj); code != 0 || strings.Contains(out, "POL160") {
		t.Fatalf("check after fmt: exit %d\n%s%s", code, out, errOut)
	}
}

// explain --approvals shows the effective auto-review policy text and
// where it came from: the managed guardian_policy_config wins over the
// user's [auto_review].policy.
func TestCLIExplainApprovals(t *testing.T) {
	c := &conformance.Case{
		Config:       "default_permissions = \":read-only\"\napprovals_reviewer = \"auto_review\"\n[auto_review]\npolicy = \"Approve everything.\"\n",
		Requirements: "guardian_policy_config = \"Never approve network access.\"\n", HasReq: true,
	}
	cw := newCLIWorld(t, c)
	out, errOut, code := cw.polc(append([]string{"explain", "--approvals", "-C", cw.w.Proj}, cw.reqArgs()...)...)
	want := "approval_policy: on-request\napprovals_reviewer: auto_review\nauto-review policy: from requirements guardian_policy_config at " +
		cw.w.RequirementsFile + ":1:26 (overrides [auto_review].policy)\n\tNever approve network access.\n"
	if code != 0 || out != want {
		t.Fatalf("explain --approvals: exit %d\n%s%s\nwant:\n%s", code, out, errOut, want)
	}
	// Without requirements the user's text applies, from config.toml.
	out, errOut, code = cw.polc("explain", "--approvals", "--format", "json", "-C", cw.w.Proj)
	if code != 0 || !strings.Contains(out, `"auto_review_policy": "Approve everything."`) || !strings.Contains(out, `"auto_review_policy_source": "config"`) ||
		!strings.Contains(out, `"auto_review_policy_pos": "`+cw.w.ConfigFile+`:4:10"`) {
		t.Fatalf("explain --approvals --format json: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := cw.polc("explain", "--approvals", "-C", cw.w.Proj, "x"); code != 2 {
		t.Errorf("explain --approvals PATH: exit %d, want 2 (usage)\n%s", code, errOut)
	}
}

// check --hostname NAME judges remote_sandbox_config for another host;
// exec refuses --hostname (a command runs under this host's requirements).
func TestCLIRemoteSandboxConfigHostname(t *testing.T) {
	c := &conformance.Case{
		Config:       "default_permissions = \":workspace\"\n",
		Requirements: "[[remote_sandbox_config]]\nhostname_patterns = [\"*.ci.example.com\"]\nallowed_sandbox_modes = [\"read-only\"]\n",
		HasReq:       true,
	}
	cw := newCLIWorld(t, c)
	args := append([]string{"check", "-C", cw.w.Proj, "--hostname", "runner-1.ci.example.com"}, cw.reqArgs()...)
	errOut, out, code := cw.polc(args...)
	if code != 0 || !strings.Contains(out, "requirements.toml:2:22: info: remote_sandbox_config applies to host runner-1.ci.example.com (--hostname, pattern \"*.ci.example.com\")") ||
		!strings.Contains(out, "falling back to :read-only [POL051]") {
		t.Fatalf("check --hostname (matching): exit %d\n%s%s", code, out, errOut)
	}
	args = append([]string{"check", "-C", cw.w.Proj, "--hostname", "laptop.example.com"}, cw.reqArgs()...)
	errOut, out, code = cw.polc(args...)
	if code != 0 || !strings.Contains(out, "no remote_sandbox_config entry matches host laptop.example.com") || strings.Contains(out, "POL051") {
		t.Fatalf("check --hostname (not matching): exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := cw.polc(append([]string{"exec", "-C", cw.w.Proj, "--hostname", "x"}, append(cw.reqArgs(), "--", "true")...)...); code != 2 || !strings.Contains(errOut, "--hostname") {
		t.Errorf("exec --hostname: exit %d, want 2\n%s", code, errOut)
	}
}

// The Linux and Windows artifacts keep a requirement's deny glob uncapped
// although the user's profile sets glob_scan_max_depth = 1: a key file at
// depth 4 stays denied there, while the profile's own glob is capped.
func TestCLIRequirementGlobNotCapped(t *testing.T) {
	c := &conformance.Case{
		Config:       "default_permissions = \"p\"\n[permissions.p.filesystem]\n\":root\" = \"read\"\nglob_scan_max_depth = 1\n\"$ROOT/proj/**/*.env\" = \"deny\"\n",
		Requirements: "[permissions.filesystem]\ndeny_read = [\"$ROOT/proj/**/*.key\"]\n", HasReq: true,
		Tree: []string{"proj/a/b/c/x.key", "proj/a/b/c/y.env"},
	}
	cw := newCLIWorld(t, c)
	for _, target := range []string{"linux", "windows"} {
		args := append([]string{"explain", "--format", "json", "--op", "read", "--target", target, "-C", cw.w.Proj}, cw.reqArgs()...)
		out, errOut, code := cw.polc(append(args, cw.w.Proj+"/a/b/c/x.key", cw.w.Proj+"/a/b/c/y.env")...)
		if code != 0 {
			t.Fatalf("explain --target %s: exit %d\n%s%s", target, code, out, errOut)
		}
		var got []struct {
			Path    string `json:"path"`
			Allowed bool   `json:"allowed"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 2 {
			t.Fatalf("explain --target %s: %v\n%s", target, err, out)
		}
		if got[0].Allowed {
			t.Errorf("%s: the requirement glob must deny %s beyond the user's depth cap", target, got[0].Path)
		}
		if !got[1].Allowed {
			t.Errorf("%s: the profile's own glob is capped at depth 1; %s is expected readable there", target, got[1].Path)
		}
	}
}

// -c features.use_legacy_landlock=true runs a profile Landlock enforces
// exactly (:read-only) and refuses one it cannot (:workspace keeps .git
// read-only under a writable root) at compile time (exit 1, located at
// the override, each reason with its code) and at exec (125, nothing run).
func TestCLILegacyLandlock(t *testing.T) {
	cw := newCLIWorld(t, &conformance.Case{Config: "default_permissions = \":read-only\"\n"})
	if errOut, out, code := cw.polc("check", "-C", cw.w.Proj, "-c", "features.use_legacy_landlock=true"); code != 0 {
		t.Fatalf("check :read-only with the feature: exit %d\n%s%s", code, out, errOut)
	}
	errOut, out, code := cw.polc("check", "-C", cw.w.Proj, "-P", ":workspace", "-c", "features.use_legacy_landlock=true")
	if code != 1 || !strings.Contains(out, "-c:1:30: error: features.use_legacy_landlock = true cannot enforce profile `:workspace` exactly") ||
		!strings.Contains(out, "[POL165]") || !strings.Contains(out, "[POL237]") {
		t.Fatalf("check :workspace: exit %d\n%s%s", code, out, errOut)
	}
	if errOut, out, code := cw.polc("check", "-C", cw.w.Proj, "-P", ":workspace", "-c", "features.use_legacy_landlock=false"); code != 0 {
		t.Fatalf("check with the feature off: exit %d\n%s%s", code, out, errOut)
	}
	marker := filepath.Join(cw.w.Proj, "ran")
	if _, errOut, code := cw.polc("exec", "-C", cw.w.Proj, "-P", ":workspace", "-c", "features.use_legacy_landlock=true", "--", "touch", marker); code != 125 || !strings.Contains(errOut, "POL165") {
		t.Errorf("exec: exit %d, want 125 naming POL165\n%s", code, errOut)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("exec refused, yet the command ran")
	}
}

// Requirements that pin features.use_legacy_landlock = false refuse
// --landlock (POL243 at the pin); the profile still checks and runs
// under bubblewrap without the flag.
func TestCLILandlockPinnedOff(t *testing.T) {
	cw := newCLIWorld(t, &conformance.Case{Config: "default_permissions = \":read-only\"\n",
		Requirements: "[features]\nuse_legacy_landlock = false\n", HasReq: true})
	errOut, out, code := cw.polc(append([]string{"check", "-C", cw.w.Proj, "--landlock"}, cw.reqArgs()...)...)
	if code != 1 || !strings.Contains(out, cw.w.RequirementsFile+":2:23: error: --landlock asks for Landlock mode, but the requirements pin features.use_legacy_landlock = false [POL243]") {
		t.Fatalf("check --landlock: exit %d\n%s%s", code, out, errOut)
	}
	if errOut, out, code := cw.polc(append([]string{"check", "-C", cw.w.Proj}, cw.reqArgs()...)...); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
}
