package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/ir"
	"polc/rollout"
)

var updateRollout = flag.Bool("update-rollout", false, "rewrite testdata/rollout/*.golden")

// rolloutWorld is an admin's working directory: a baseline and new
// requirements, and a corpus of users' configs, each a status the change
// gives it (refused, narrowed, widened, unchanged twice: a lone file and
// a project tree) and three that cannot be evaluated (broken TOML, a
// missing profile, an unreadable file).
func rolloutWorld(t *testing.T) *artWorld {
	t.Helper()
	w := newArtWorld(t, "")
	for _, d := range []string{"corpus/tree/.codex"} {
		os.MkdirAll(w.path(d), 0o755)
	}
	w.write("old.toml", "allowed_approval_policies = [\"on-request\", \"never\"]\n\n[permissions.filesystem]\ndeny_read = [\"~/.ssh\", \"~/.netrc\"]\n")
	w.write("new.toml", "allowed_permission_profiles = { \":read-only\" = true, \":workspace\" = true, \"dev\" = true }\n"+
		"allowed_approval_policies = [\"on-request\"]\nallowed_sandbox_modes = [\"read-only\"]\n\n[permissions.filesystem]\ndeny_read = [\"~/.ssh\"]\n")
	w.write("corpus/refused.toml", "default_permissions = \":danger-full-access\"\n\n[permissions.dev]\nextends = \":read-only\"\n")
	w.write("corpus/narrowed.toml", "default_permissions = \"dev\"\napproval_policy = \"never\"\n\n[permissions.dev]\nextends = \":workspace\"\n"+
		"[permissions.dev.filesystem]\n\"~/.netrc\" = \"deny\"\n[permissions.dev.network]\nenabled = true\n")
	w.write("corpus/widened.toml", "default_permissions = \"dev\"\n\n[permissions.dev]\nextends = \":read-only\"\n")
	unchanged := "default_permissions = \"dev\"\n\n[permissions.dev]\nextends = \":read-only\"\n[permissions.dev.filesystem]\n\"~/.netrc\" = \"deny\"\n"
	w.write("corpus/unchanged.toml", unchanged)
	w.write("corpus/tree/.codex/config.toml", unchanged)
	w.write("corpus/broken.toml", "default_permissions = \"dev\"\n[permissions.dev\n")
	w.write("corpus/missing.toml", "default_permissions = \"nope\"\n")
	w.write("corpus/README.md", "not a config\n")
	if err := os.Symlink("nowhere", w.path("corpus/dangling.toml")); err != nil {
		t.Fatal(err)
	}
	return w
}

func rolloutJSON(t *testing.T, w *artWorld, args ...string) (*rollout.Report, int) {
	t.Helper()
	out, errOut, code := w.polc("", append([]string{"rollout", "--format", "json"}, args...)...)
	var rep rollout.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("rollout --format json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	return &rep, code
}

func configByPath(t *testing.T, rep *rollout.Report, path string) rollout.Config {
	t.Helper()
	for _, c := range rep.Configs {
		if c.Path == path {
			return c
		}
	}
	t.Fatalf("no config %s in the report", path)
	return rollout.Config{}
}

// What an admin checks first: how many configs and profiles each status
// has, that every bad entry is reported on its own and the run went on,
// and the exit code.
func TestRolloutCountsAndStatuses(t *testing.T) {
	w := rolloutWorld(t)
	rep, code := rolloutJSON(t, w, "--requirements", "new.toml", "--baseline", "old.toml", "corpus", "nonexistent")
	if code != 1 {
		t.Errorf("exit %d, want 1 (a config is refused)", code)
	}
	wantConfigs := map[rollout.Status]int{rollout.Error: 4, rollout.Refused: 1, rollout.Narrowed: 1, rollout.Widened: 1, rollout.Unchanged: 2}
	for _, s := range rollout.Statuses {
		if rep.Summary.Configs[s] != wantConfigs[s] {
			t.Errorf("configs %s: %d, want %d (summary %v)", s, rep.Summary.Configs[s], wantConfigs[s], rep.Summary.Configs)
		}
	}
	// refused.toml has two profiles: the refused default and dev, which
	// loses the baseline's ~/.netrc deny (widened).
	wantProfiles := map[rollout.Status]int{rollout.Error: 3, rollout.Refused: 1, rollout.Narrowed: 1, rollout.Widened: 2, rollout.Unchanged: 2}
	for _, s := range rollout.Statuses {
		if rep.Summary.Profiles[s] != wantProfiles[s] {
			t.Errorf("profiles %s: %d, want %d", s, rep.Summary.Profiles[s], wantProfiles[s])
		}
		for _, pl := range rep.Platforms {
			if rep.Summary.PerPlatform[pl][s] != wantProfiles[s] {
				t.Errorf("%s %s: %d, want %d", pl, s, rep.Summary.PerPlatform[pl][s], wantProfiles[s])
			}
		}
	}
	want := map[string]rollout.Status{
		"corpus/refused.toml": rollout.Refused, "corpus/narrowed.toml": rollout.Narrowed, "corpus/widened.toml": rollout.Widened,
		"corpus/unchanged.toml": rollout.Unchanged, "corpus/tree": rollout.Unchanged,
		"corpus/broken.toml": rollout.Error, "corpus/missing.toml": rollout.Error, "corpus/dangling.toml": rollout.Error, "nonexistent": rollout.Error,
	}
	if len(rep.Configs) != len(want) {
		t.Errorf("%d configs, want %d (README.md is not a config)", len(rep.Configs), len(want))
	}
	for path, s := range want {
		if c := configByPath(t, rep, path); c.Status != s {
			t.Errorf("%s: %s, want %s", path, c.Status, s)
		}
	}
	// Each bad entry says why, with its own code and position.
	for path, code := range map[string]string{"corpus/broken.toml": "POL001", "corpus/missing.toml": "POL011", "corpus/dangling.toml": "POL007"} {
		c := configByPath(t, rep, path)
		if len(c.Profiles) == 0 || len(c.Profiles[0].Errors) == 0 || string(c.Profiles[0].Errors[0].Code) != code || c.Profiles[0].Errors[0].Pos.File != path {
			t.Errorf("%s: want a %s error located in the file, got %+v", path, code, c.Profiles)
		}
	}
	if c := configByPath(t, rep, "nonexistent"); len(c.Errors) != 1 || c.Errors[0].Code != "POL184" {
		t.Errorf("nonexistent: %+v", c)
	}
	if pos := configByPath(t, rep, "corpus/broken.toml").Profiles[0].Errors[0].Pos; pos.Line != 2 || pos.Col != 17 {
		t.Errorf("broken.toml: syntax error at %v, want 2:17", pos)
	}
}

// A refusal names the reason and both positions: the config's selection
// and the requirement that refuses it.
func TestRolloutRefusalPositions(t *testing.T) {
	w := rolloutWorld(t)
	rep, _ := rolloutJSON(t, w, "--requirements", "new.toml", "--baseline", "old.toml", "corpus")
	c := configByPath(t, rep, "corpus/refused.toml")
	if len(c.Profiles) != 2 {
		t.Fatalf("refused.toml: want the default and dev, got %+v", c.Profiles)
	}
	def := c.Profiles[0]
	if !def.Default || def.Name != ":danger-full-access" || def.Status != rollout.Refused || def.BaselineRefused || len(def.Refusals) != 1 {
		t.Fatalf("default profile: %+v", def)
	}
	f := def.Refusals[0]
	if f.Code != "POL050" || f.Config.String() != "corpus/refused.toml:1:23" || f.Requirement.String() != "new.toml:1:1" ||
		!strings.Contains(f.Message, "not allowed by requirements") {
		t.Errorf("refusal: %+v", f)
	}
	for _, pl := range def.Platforms {
		if pl.Status != rollout.Refused {
			t.Errorf("%s: %s, want refused on every platform", pl.Platform, pl.Status)
		}
	}
	if dev := c.Profiles[1]; dev.Name != "dev" || dev.Default || dev.Status != rollout.Widened {
		t.Errorf("dev: %+v", dev)
	}
}

// Narrowed lists what is lost: writable paths, the network, the user's
// approval setting, with the requirement's position in the notes.
func TestRolloutNarrowedSaysWhatIsLost(t *testing.T) {
	w := rolloutWorld(t)
	rep, _ := rolloutJSON(t, w, "--requirements", "new.toml", "--baseline", "old.toml", "corpus/narrowed.toml")
	c := configByPath(t, rep, "corpus/narrowed.toml")
	if len(c.Profiles) != 1 || c.Profiles[0].Name != "dev" || c.Profiles[0].Status != rollout.Narrowed {
		t.Fatalf("narrowed.toml: %+v", c.Profiles)
	}
	p := c.Profiles[0]
	lost := map[string]string{}
	for _, ch := range p.Platforms[0].Changes {
		if ch.Effect == "narrower" {
			lost[ch.Subject] = ch.From + " -> " + ch.To
		}
	}
	for subject, want := range map[string]string{"${WORKSPACE_ROOT}": "write -> read", "network": "full -> none", "approval_policy": "never -> on-request"} {
		if lost[subject] != want {
			t.Errorf("%s: lost %q, want %q (all: %v)", subject, lost[subject], want, lost)
		}
	}
	var codes []string
	for _, n := range p.Notes {
		codes = append(codes, string(n.Code))
		if len(n.Related) == 0 || n.Related[0].File != "new.toml" {
			t.Errorf("note without the requirement's position: %+v", n)
		}
	}
	if strings.Join(codes, ",") != "POL051,POL054" {
		t.Errorf("notes %v, want the sandbox-mode and approval fallbacks", codes)
	}
}

// --fail-on sets the threshold; a config that cannot be evaluated fails
// the run at every threshold but none.
func TestRolloutFailOn(t *testing.T) {
	w := rolloutWorld(t)
	req := []string{"--requirements", "new.toml", "--baseline", "old.toml"}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"corpus/unchanged.toml", "corpus/tree"}, 0},
		{[]string{"corpus/widened.toml"}, 0},
		{[]string{"--fail-on", "any", "corpus/widened.toml"}, 1},
		{[]string{"--fail-on", "narrowed", "corpus/widened.toml"}, 0},
		{[]string{"corpus/narrowed.toml"}, 0},
		{[]string{"--fail-on", "narrowed", "corpus/narrowed.toml"}, 1},
		{[]string{"corpus/refused.toml"}, 1},
		{[]string{"--fail-on", "none", "corpus/refused.toml"}, 0},
		{[]string{"corpus/broken.toml"}, 1},
		{[]string{"--fail-on", "none", "corpus/broken.toml"}, 0},
		{[]string{"--fail-on", "sometimes", "corpus/refused.toml"}, 2},
		// The requirements files beside the configs are the change, not
		// configs: only unchanged.toml is checked here.
		{[]string{"--fail-on", "any", "new.toml", "old.toml", "corpus/unchanged.toml"}, 0},
	} {
		_, errOut, code := w.polc("", append(append([]string{"rollout"}, req...), tc.args...)...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, errOut)
		}
	}
}

// Without --baseline, the change is measured against no requirements.
func TestRolloutNoBaseline(t *testing.T) {
	w := rolloutWorld(t)
	rep, code := rolloutJSON(t, w, "--requirements", "new.toml", "corpus/widened.toml")
	c := configByPath(t, rep, "corpus/widened.toml")
	// Against no requirements, new.toml adds the ~/.ssh deny.
	if code != 0 || c.Status != rollout.Narrowed || len(rep.Baseline) != 0 {
		t.Fatalf("exit %d, %+v", code, c)
	}
	found := false
	for _, ch := range c.Profiles[0].Platforms[0].Changes {
		found = found || (ch.Subject == "${HOME}/.ssh" && ch.From == "read" && ch.To == "deny" && strings.Contains(ch.Now, "new.toml:6:14"))
	}
	if !found {
		t.Errorf("want ${HOME}/.ssh read -> deny from new.toml:6:14: %+v", c.Profiles[0].Platforms[0].Changes)
	}
}

// Usage errors exit 2 with one line; requirements that cannot be parsed
// stop the run with their located error (exit 1), since every config
// would be refused for that alone.
func TestRolloutUsage(t *testing.T) {
	w := rolloutWorld(t)
	w.write("bad.toml", "allowed_approval_policies = [\n")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rollout", "corpus"}, 2, "requirements"},
		{[]string{"rollout", "--requirements", "new.toml"}, 2, "at least one PATH"},
		{[]string{"rollout", "--requirements", "missing.toml", "corpus"}, 2, "missing.toml"},
		{[]string{"rollout", "--requirements", "new.toml", "--format", "xml", "corpus"}, 2, "--format"},
		{[]string{"rollout", "--requirements", "new.toml", "--target", "plan9", "corpus"}, 2, "--target"},
		{[]string{"rollout", "--requirements", "bad.toml", "corpus"}, 1, "bad.toml:1:30: error: TOML syntax error"},
	} {
		out, errOut, code := w.polc("", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("%v: exit %d (want %d), stdout %q, stderr %q (want %q)", tc.args, code, tc.code, out, errOut, tc.want)
		}
	}
}

// SARIF: one result per affected config, profile and platform set;
// refusals at the config with the requirement as related location, bad
// entries as POL184.
func TestRolloutSARIF(t *testing.T) {
	w := rolloutWorld(t)
	out, errOut, code := w.polc("", "rollout", "--format", "sarif", "--requirements", "new.toml", "--baseline", "old.toml", "corpus")
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var log sarif
	if err := json.Unmarshal([]byte(out), &log); err != nil || len(log.Runs) != 1 {
		t.Fatalf("not SARIF: %v\n%s", err, out)
	}
	byRule := map[string][]sarifResult{}
	for _, r := range log.Runs[0].Results {
		byRule[r.RuleID] = append(byRule[r.RuleID], r)
		if log.Runs[0].Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s points at rule %d", r.RuleID, r.RuleIndex)
		}
	}
	if len(byRule["POL180"]) != 1 || len(byRule["POL181"]) != 1 || len(byRule["POL182"]) != 2 || len(byRule["POL184"]) != 3 {
		t.Errorf("results per rule: %v", counts(byRule))
	}
	ref := byRule["POL180"][0]
	if ref.Level != "error" || len(ref.Locations) != 1 || ref.Locations[0].PhysicalLocation.ArtifactLocation.URI != "corpus/refused.toml" ||
		ref.Locations[0].PhysicalLocation.Region.StartLine != 1 || len(ref.Related) != 1 ||
		ref.Related[0].PhysicalLocation.ArtifactLocation.URI != "new.toml" {
		t.Errorf("refusal result: %+v", ref)
	}
}

func counts(m map[string][]sarifResult) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}

// The text report of the shipped example corpus (make demo shows it) is a
// golden: one refused, one narrowed, one unchanged.
func TestRolloutExampleGolden(t *testing.T) {
	w := newArtWorld(t, "")
	if err := os.CopyFS(w.path("rollout"), os.DirFS("../../examples/rollout")); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := w.polc("rollout", "rollout", "--requirements", "new-requirements.toml", "--baseline", "old-requirements.toml", "corpus")
	if code != 1 || errOut != "" {
		t.Errorf("exit %d (want 1: alice is refused)\n%s", code, errOut)
	}
	golden := filepath.Join("testdata", "rollout", "example.golden")
	if *updateRollout {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/polc -run TestRolloutExampleGolden -update-rollout)", err)
	}
	if out != string(want) {
		t.Errorf("text report differs from %s (-update-rollout to accept):\n--- got\n%s--- want\n%s", golden, out, want)
	}
	for _, s := range []string{"corpus/alice: refused", "corpus/bob: narrowed", "corpus/carol: unchanged"} {
		if !strings.Contains(out, s) {
			t.Errorf("example report lacks %q", s)
		}
	}
}

// A profile the config defines but does not select is checked as a user
// would select it (-P); its refusal is located where the config defines
// it, not at a -P nobody typed.
func TestRolloutDefinedProfileRefusedAtItsTable(t *testing.T) {
	w := rolloutWorld(t)
	w.write("extra.toml", "default_permissions = \":workspace\"\n\n[permissions.exp]\nextends = \":read-only\"\n")
	rep, code := rolloutJSON(t, w, "--requirements", "new.toml", "--baseline", "old.toml", "extra.toml")
	c := configByPath(t, rep, "extra.toml")
	if code != 1 || len(c.Profiles) != 2 || c.Profiles[1].Name != "exp" || c.Profiles[1].Status != rollout.Refused {
		t.Fatalf("exit %d, %+v", code, c.Profiles)
	}
	f := c.Profiles[1].Refusals[0]
	if f.Config.String() != "extra.toml:3:14" || f.Requirement.String() != "new.toml:1:1" {
		t.Errorf("refusal of exp: %+v", f)
	}
	// new.toml allows a profile `dev` this config does not define: Codex
	// refuses to start it at all. The compiler names only the
	// requirement; the config's side is the file.
	d := c.Profiles[0]
	if !d.Default || d.Name != ":workspace" || d.Status != rollout.Refused || len(d.Refusals) != 1 {
		t.Fatalf("default: %+v", d)
	}
	if f := d.Refusals[0]; f.Code != "POL053" || f.Config.String() != "extra.toml" || f.Requirement.String() != "new.toml:1:75" {
		t.Errorf("default's refusal: %+v", f)
	}
}

// The same requirements as baseline and change: nothing changes, and a
// config they refuse is still reported refused, marked as refused by the
// baseline too.
func TestRolloutNoChange(t *testing.T) {
	w := rolloutWorld(t)
	rep, code := rolloutJSON(t, w, "--requirements", "new.toml", "--baseline", "new.toml", "--expand",
		"corpus/narrowed.toml", "corpus/widened.toml", "corpus/tree", "corpus/refused.toml")
	if code != 1 {
		t.Errorf("exit %d, want 1 (refused.toml)", code)
	}
	for _, c := range rep.Configs {
		want := rollout.Unchanged
		if c.Path == "corpus/refused.toml" {
			want = rollout.Refused
			if !c.Profiles[0].BaselineRefused {
				t.Errorf("refused.toml: want it marked as refused by the baseline too: %+v", c.Profiles[0])
			}
		}
		if c.Status != want {
			t.Errorf("%s: %s, want %s: %+v", c.Path, c.Status, want, c.Profiles)
		}
	}
}

// Per platform: a profile that allows a host Unix socket is refused by
// the Linux backend (POL079) and runs elsewhere; the new deny narrows it
// on macOS and Windows. The Linux refusal was there before the change,
// and the report says so. --allow-unenforceable lifts it.
func TestRolloutPerPlatform(t *testing.T) {
	w := rolloutWorld(t)
	w.write("deny.toml", "[permissions.filesystem]\ndeny_read = [\"~/.ssh\"]\n")
	w.write("sock.toml", "default_permissions = \"s\"\n[permissions.s]\nextends = \":workspace\"\n[permissions.s.network]\nunix_sockets = { \"/run/x.sock\" = \"allow\" }\n")
	rep, code := rolloutJSON(t, w, "--requirements", "deny.toml", "sock.toml")
	p := configByPath(t, rep, "sock.toml").Profiles[0]
	got := map[ir.Platform]rollout.Platform{}
	for _, pl := range p.Platforms {
		got[pl.Platform] = pl
	}
	if code != 1 || p.Status != rollout.Refused || got["linux"].Status != rollout.Refused || !got["linux"].BaselineRefused ||
		len(got["linux"].Refusals) != 1 || got["linux"].Refusals[0].Code != "POL079" || got["linux"].Refusals[0].Config.String() != "sock.toml:5:18" {
		t.Errorf("exit %d, linux: %+v", code, got["linux"])
	}
	for _, pl := range []ir.Platform{ir.MacOS, ir.Windows} {
		if r, ok := got[pl]; ok && (r.Status != rollout.Narrowed || len(r.Changes) != 1 || r.Changes[0].Subject != "${HOME}/.ssh") {
			t.Errorf("%s: %+v", pl, r)
		}
	}
	if rep.Summary.PerPlatform["linux"][rollout.Refused] != 1 || rep.Summary.Profiles[rollout.Refused] != 1 {
		t.Errorf("summary %+v", rep.Summary)
	}
	out, _, code := w.polc("", "rollout", "--requirements", "deny.toml", "sock.toml")
	if !strings.Contains(out, "    linux: refused (already refused by the baseline)\n") || !strings.Contains(out, "    macos, windows: narrowed\n") {
		t.Errorf("text report, exit %d:\n%s", code, out)
	}
	rep, code = rolloutJSON(t, w, "--requirements", "deny.toml", "--allow-unenforceable", "sock.toml")
	if c := configByPath(t, rep, "sock.toml"); code != 0 || c.Status != rollout.Narrowed {
		t.Errorf("--allow-unenforceable: exit %d, %+v", code, c)
	}
}
