package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 12: what polc says must be what polc exec enforces. Each test
// runs polc as a user would (see artWorld) and checks what is printed.

// newUserWorld is an artWorld whose config is the user's
// $CODEX_HOME/config.toml (no project layer).
func newUserWorld(t *testing.T, userConfig string) *artWorld {
	t.Helper()
	w := newArtWorld(t, "")
	if err := os.Remove(w.path("proj/.codex/config.toml")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(w.path("home/.codex"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.write("home/.codex/config.toml", userConfig)
	return w
}

// TestTypoTableRefused: [permissions.dev.filesytem] used to be a warning,
// and exec printed the secret. Now check fails (even without --strict),
// build writes nothing, and exec refuses in one line naming the typo.
func TestTypoTableRefused(t *testing.T) {
	w := newUserWorld(t, `default_permissions = "dev"

[permissions.dev.filesystem]
":root" = "read"

[permissions.dev.filesytem]
":workspace_roots" = { ".env" = "deny" }
`)
	_, out, code := w.polc("proj", "check", "--strict", "--target=none")
	if code != 1 || !strings.Contains(out, "error: unknown key permissions.dev.filesytem; did you mean filesystem? [POL140]") {
		t.Errorf("check: exit %d, want 1 and a did-you-mean error:\n%s", code, out)
	}
	if !strings.Contains(out, "config.toml:6:18: ") {
		t.Errorf("check: the error is not located at the table header:\n%s", out)
	}
	if _, errs, code := w.polc("proj", "build", "--target=linux"); code != 1 || !strings.Contains(errs, "POL140") {
		t.Errorf("build: exit %d, want 1 with POL140:\n%s", code, errs)
	}
	out, errs, code := w.polc("proj", "exec", "--", "cat", ".env")
	if code != 125 || strings.Contains(out, "SECRET") {
		t.Fatalf("exec: exit %d, stdout %q; want 125 and no secret", code, out)
	}
	if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "did you mean filesystem?") || !strings.Contains(errs, "[POL140]") {
		t.Errorf("exec: stderr %q, want one line naming the typo", errs)
	}
}

var _ = filepath.Join

// TestMissingCodexHomeRefused: a CODEX_HOME that does not exist used to
// fall back silently to :read-only; Codex refuses to start, and so does
// every polc command that reads the config.
func TestMissingCodexHomeRefused(t *testing.T) {
	w := newUserWorld(t, `default_permissions = ":workspace"`+"\n")
	if err := os.RemoveAll(w.path("home/.codex")); err != nil {
		t.Fatal(err)
	}
	want := `CODEX_HOME points to "` + w.path("home/.codex") + `", but that path does not exist [POL141]`
	_, out, code := w.polc("proj", "check", "--target=none")
	if code != 1 || !strings.Contains(out, "$CODEX_HOME: error: "+want) {
		t.Errorf("check: exit %d, want 1 and %q:\n%s", code, want, out)
	}
	if _, errs, code := w.polc("proj", "explain", "a.txt"); code != 1 || !strings.Contains(errs, want) {
		t.Errorf("explain: exit %d, want 1 and %q:\n%s", code, want, errs)
	}
	out, errs, code := w.polc("proj", "exec", "--", "echo", "RAN")
	if code != 125 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, want) {
		t.Errorf("exec: exit %d, stdout %q, stderr %q; want 125 and one line %q", code, out, errs, want)
	}
}

// TestUntrustedProjectSaidInOneLine: the project's .codex layer grants
// write on scripts/; the project is not trusted, so exec runs without it
// (the user's :read-only) while check, build and explain read it. Each of
// them says so in one line with how to trust the project; exec says it
// skipped the layer; once the project is trusted, exec writes and nobody
// warns.
func TestUntrustedProjectSaidInOneLine(t *testing.T) {
	w := newUserWorld(t, `default_permissions = ":read-only"`+"\n")
	w.write("proj/.codex/config.toml", `default_permissions = ":workspace"`+"\n")
	if err := os.MkdirAll(w.path("proj/scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.write("proj/scripts/build.sh", "echo old\n")
	trust := `[projects."` + w.proj + `"] trust_level = "trusted"`

	out, errs, code := w.polc("proj", "explain", "--op", "write", "scripts/build.sh")
	if code != 0 || !strings.Contains(out, "allowed") {
		t.Errorf("explain: exit %d, stdout %q", code, out)
	}
	if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "polc exec will not load this project config") ||
		!strings.Contains(errs, trust) || !strings.Contains(errs, "[POL142]") {
		t.Errorf("explain: stderr %q, want one line saying exec will not load the layer and how to trust it", errs)
	}
	_, out, code = w.polc("proj", "check", "--target=none")
	// Run in the project, the project's file reads relative, as go vet prints it.
	if code != 0 || !strings.HasPrefix(out, ".codex/config.toml: warning: polc exec will not load this project config") {
		t.Errorf("check: exit %d:\n%s", code, out)
	}
	if _, errs, _ := w.polc("proj", "build", "--target=linux", "-o", w.path("store/out")); !strings.Contains(errs, "[POL142]") {
		t.Errorf("build: stderr %q, want POL142", errs)
	}

	out, errs, code = w.polc("proj", "exec", "--", "sh", "-c", "echo new > scripts/build.sh && echo WROTE")
	if code == 0 || strings.Contains(out, "WROTE") {
		t.Errorf("exec (untrusted): exit %d, stdout %q; want the write denied (read-only)", code, out)
	}
	if !strings.HasPrefix(errs, "polc: .codex/config.toml: warning: this project config is not loaded: the project is not trusted [POL009]; fix: ") || !strings.Contains(errs, trust) {
		t.Errorf("exec (untrusted): stderr %q, want the one-line POL009 warning", errs)
	}

	w.write("home/.codex/config.toml", "default_permissions = \":read-only\"\n"+`[projects."`+w.proj+`"]`+"\ntrust_level = \"trusted\"\n")
	out, errs, code = w.polc("proj", "exec", "--", "sh", "-c", "echo new > scripts/build.sh && echo WROTE")
	if code != 0 || !strings.Contains(out, "WROTE") || strings.Contains(errs, "POL009") {
		t.Errorf("exec (trusted): exit %d, stdout %q, stderr %q; want the write allowed and no warning", code, out, errs)
	}
	if _, errs, _ := w.polc("proj", "explain", "scripts/build.sh"); errs != "" {
		t.Errorf("explain (trusted): stderr %q, want nothing", errs)
	}
}

// TestExplainResolvesAgainstProject: polc explain -C repo .env asks about
// repo/.env, not ./.env.
func TestExplainResolvesAgainstProject(t *testing.T) {
	w := newUserWorld(t, "default_permissions = \"dev\"\n[permissions.dev.filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = { \".env\" = \"deny\" }\n")
	out, errs, code := w.polc("", "explain", "-C", "proj", "--op", "read", ".env")
	if code != 0 || !strings.Contains(out, w.path("proj/.env")) || !strings.Contains(out, "denied") {
		t.Errorf("explain -C proj .env: exit %d, stdout %q, stderr %q; want %s denied", code, out, errs, w.path("proj/.env"))
	}
}

// TestProfileThatCannotRun: a profile that denies the project, or leaves
// the system unreadable, fails check at the rule responsible; exec says in
// one line what the sandbox cannot read and which rule to add, and runs
// nothing (it used to fail inside the sandbox naming no rule).
func TestProfileThatCannotRun(t *testing.T) {
	for _, c := range []struct {
		name, config, code, where, fix string
	}{
		{"project denied", "default_permissions = \"p\"\n[permissions.p.filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = { \".\" = \"deny\" }\n",
			"POL143", "config.toml:4:24: error: the sandbox cannot read the project directory", "not the project itself"},
		{"no system", "default_permissions = \"p\"\n[permissions.p.filesystem]\n\":workspace_roots\" = \"write\"\n",
			"POL144", "config.toml:2:16: error: the sandbox cannot read /bin/sh", `add ":minimal" = "read"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newUserWorld(t, c.config)
			_, out, code := w.polc("proj", "check", "--target=none")
			if code != 1 || !strings.Contains(out, c.where) || !strings.Contains(out, "["+c.code+"]") || !strings.Contains(out, c.fix) {
				t.Errorf("check: exit %d, want 1 with %q, %s and %q:\n%s", code, c.where, c.code, c.fix, out)
			}
			out, errs, code := w.polc("proj", "exec", "--", "sh", "-c", "echo RAN")
			if code != 125 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.where) || !strings.Contains(errs, c.fix) {
				t.Errorf("exec: exit %d, stdout %q, stderr %q; want 125 and one line with %q and %q", code, out, errs, c.where, c.fix)
			}
		})
	}
	t.Run("command outside the profile", func(t *testing.T) {
		w := newUserWorld(t, "default_permissions = \"p\"\n[permissions.p.filesystem]\n\":minimal\" = \"read\"\n\":workspace_roots\" = \"write\"\n")
		tool := w.path("store/tool")
		data, err := os.ReadFile("/bin/true")
		if err != nil {
			t.Skip(err)
		}
		if err := os.WriteFile(tool, data, 0o755); err != nil {
			t.Fatal(err)
		}
		out, errs, code := w.polc("proj", "exec", "--", tool)
		want := "polc: refusing to run: the sandbox cannot read the command " + tool
		fix := `fix: add "` + w.path("store") + `" = "read" to [permissions.p.filesystem]`
		if code != 125 || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, want) || !strings.Contains(errs, fix) || !strings.Contains(errs, "[POL146]") {
			t.Errorf("exec: exit %d, stdout %q, stderr %q; want 125 and %q ... %q", code, out, errs, want, fix)
		}
		if _, errs, code := w.polc("proj", "exec", "--", "true"); code != 0 {
			t.Errorf("exec true under :minimal: exit %d, %s", code, errs)
		}
	})
}

// TestBuildKeepsSignatures: after build --sign-key, a build without a key
// keeps the signed artifacts it leaves unchanged, refuses to rewrite
// changed ones unsigned (POL145) unless --unsigned says so, and
// build --check reports an artifact whose signature went missing.
func TestBuildKeepsSignatures(t *testing.T) {
	w := newUserWorld(t, "default_permissions = \"dev\"\n[permissions.dev.filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n")
	tg := "--target=" + allTargets()
	if _, errs, code := w.polc("", "keygen", "-o", "k"); code != 0 {
		t.Fatal(errs)
	}
	if _, errs, code := w.polc("proj", "build", tg, "--sign-key", w.path("k")); code != 0 {
		t.Fatal(errs)
	}
	linux := w.path("proj/.polc/dev.linux.json")
	signed, _ := os.ReadFile(linux)
	out, errs, code := w.polc("proj", "build", tg)
	if now, _ := os.ReadFile(linux); code != 0 || string(now) != string(signed) || !strings.Contains(out, "up to date") {
		t.Errorf("unchanged build without a key: exit %d, stdout %q, stderr %q; the signed artifact must stay as it was", code, out, errs)
	}

	w.write("home/.codex/config.toml", "default_permissions = \"dev\"\n[permissions.dev.filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n\"~/.ssh\" = \"deny\"\n")
	out, errs, code = w.polc("proj", "build", tg)
	if now, _ := os.ReadFile(linux); code != 1 || string(now) != string(signed) || !strings.Contains(errs, "[POL145]") || !strings.Contains(errs, "--sign-key") || strings.Contains(out, "wrote") {
		t.Errorf("changed build without a key: exit %d, stdout %q, stderr %q; want 1, POL145 and nothing written", code, out, errs)
	}
	_, errs, code = w.polc("proj", "build", "--target=linux", "--unsigned")
	if code != 0 || !strings.Contains(errs, "the signature by key") || !strings.Contains(errs, "is dropped") {
		t.Errorf("build --unsigned: exit %d, stderr %q; want the dropped signature said", code, errs)
	}
	out, _, code = w.polc("proj", "build", "--target=linux,macos", "--check")
	if code != 1 || !strings.Contains(out, "stale: .polc/dev.linux.json (signature missing: other artifacts here are signed by key") {
		t.Errorf("build --check: exit %d, want the missing signature reported:\n%s", code, out)
	}
}

// TestBuildCheckUnsignedWithTrustKey: where this machine trusts a signing
// key, build --check reports an unsigned committed artifact (polc exec
// --artifact would refuse it).
func TestBuildCheckUnsignedWithTrustKey(t *testing.T) {
	w := newUserWorld(t, "default_permissions = \":workspace\"\n")
	if _, errs, code := w.polc("proj", "build", "--target=linux"); code != 0 {
		t.Fatal(errs)
	}
	if out, _, code := w.polc("proj", "build", "--target=linux", "--check"); code != 0 {
		t.Fatalf("check without trust keys: exit %d\n%s", code, out)
	}
	if _, errs, code := w.polc("", "keygen", "-o", "k"); code != 0 {
		t.Fatal(errs)
	}
	if err := os.MkdirAll(w.trustDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(w.path("k.pub"))
	w.write("trust.d/k.pub", string(pub))
	out, _, code := w.polc("proj", "build", "--target=linux", "--check")
	if code != 1 || !strings.Contains(out, "signature missing: this machine trusts signing keys") {
		t.Errorf("check with a trust key: exit %d, want the unsigned artifact reported:\n%s", code, out)
	}
}

// TestCLIConventions: usage errors exit 2 with one line; polc help and
// polc version exist; polc check FILE checks that file.
func TestCLIConventions(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"keygen"}, "polc: keygen: -o FILE is required"},
		{[]string{"sign", "x.json"}, "polc: sign: --key FILE is required"},
		{[]string{"help", "nosuch"}, `polc: help: unknown command "nosuch"`},
		{[]string{"check", "no/such/file.toml"}, "polc: check no/such/file.toml: no such file or directory"},
	} {
		out, errs, code := polcChild(t, c.args...)
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, c.want) {
			t.Errorf("polc %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), code, out, errs, c.want)
		}
	}
	if out, _, code := polcChild(t, "help"); code != 0 || !strings.Contains(out, "COMMANDS:") || !strings.Contains(out, "version") {
		t.Errorf("polc help: exit %d\n%s", code, out)
	}
	if out, _, code := polcChild(t, "help", "check"); code != 0 || !strings.Contains(out, "polc check - ") {
		t.Errorf("polc help check: exit %d\n%s", code, out)
	}
	out, _, code := polcChild(t, "version")
	if code != 0 || !strings.HasPrefix(out, "polc version "+version+" (commit ") || !strings.Contains(out, "go1.") {
		t.Errorf("polc version: exit %d, %q", code, out)
	}

	// polc check FILE: the file is checked (as a --config layer).
	w := newUserWorld(t, `default_permissions = ":workspace"`+"\n")
	w.write("store/team.toml", "default_permissions = \"team\"\n[permissions.team]\nfilesytem = {}\n")
	_, out, code = w.polc("proj", "check", "--target=none", w.path("store/team.toml"))
	if code != 1 || !strings.Contains(out, w.path("store/team.toml")+":3:1: error: unknown key permissions.team.filesytem") {
		t.Errorf("polc check FILE: exit %d\n%s", code, out)
	}
}

// TestCheckMessages: counts are singular when they are one; another
// platform's notes stay out of a default check (shown with its --target);
// check --all does not label a profile's diagnostics "-P".
func TestCheckMessages(t *testing.T) {
	w := newUserWorld(t, "default_permissions = \"dev\"\n[permissions.dev.filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = { \".\" = \"write\", \"*.env\" = \"deny\" }\n\"~/.ssh\" = \"deny\"\n")
	_, out, code := w.polc("proj", "check")
	if code != 0 || strings.Contains(out, "POL091") || strings.Contains(out, "POL096") || !strings.Contains(out, "1 deny glob; 0 errors, 0 warnings, 0 notes") {
		t.Errorf("check: exit %d; want no Windows notes and plain counts:\n%s", code, out)
	}
	_, out, _ = w.polc("proj", "check", "--target=windows")
	if !strings.Contains(out, "info: windows:") || !strings.Contains(out, "1 note") || strings.Contains(out, "1 notes") {
		t.Errorf("check --target=windows: want its note, counted as 1 note:\n%s", out)
	}
	w.write("store/req.toml", "allowed_permission_profiles = [\"dev\"]\n")
	_, out, _ = w.polc("proj", "check", "--all", "--target=none", "--requirements", w.path("store/req.toml"))
	if strings.Contains(out, "-P:") || !strings.Contains(out, "1 error,") {
		t.Errorf("check --all: want no -P: label and \"1 error,\":\n%s", out)
	}
}

// TestRequirementsPathNotRecorded: the same requirements file at another
// path (CI elsewhere) gives byte-identical artifacts: the artifact names
// it --requirements:NAME, and its content is in the requirements digest.
func TestRequirementsPathNotRecorded(t *testing.T) {
	w := newUserWorld(t, "default_permissions = \":workspace\"\n")
	req := "[permissions.filesystem]\ndeny_read = [\"~/.ssh\"]\n"
	for _, d := range []string{"store/a", "store/elsewhere/b"} {
		if err := os.MkdirAll(w.path(d), 0o755); err != nil {
			t.Fatal(err)
		}
		w.write(d+"/requirements.toml", req)
	}
	tg := "--target=" + allTargets()
	if _, errs, code := w.polc("proj", "build", tg, "--requirements", w.path("store/a/requirements.toml")); code != 0 {
		t.Fatal(errs)
	}
	first, _ := os.ReadFile(w.path("proj/.polc/_workspace.linux.json"))
	if strings.Contains(string(first), w.path("store")) || !strings.Contains(string(first), "--requirements:requirements.toml:2:14") {
		t.Errorf("the artifact records the requirements' path, or not its symbolic name:\n%s", first)
	}
	out, _, code := w.polc("proj", "build", tg, "--check", "--requirements", w.path("store/elsewhere/b/requirements.toml"))
	if code != 0 {
		t.Errorf("build --check with the same requirements elsewhere: exit %d\n%s", code, out)
	}
	w.write("store/elsewhere/b/requirements.toml", req+"# changed\n")
	if out, _, code := w.polc("proj", "build", tg, "--check", "--requirements", w.path("store/elsewhere/b/requirements.toml")); code != 1 {
		t.Errorf("build --check with other requirements content: exit %d, want 1 (the digest changed)\n%s", code, out)
	}
}

// TestReviewFile: polc build writes PROFILE.review.txt beside the
// artifacts, one line per rule and deny glob with its origin and no host
// path; a rule added at the top of the config shows in build --check as
// one added line of it (origins name the file, not the line, so the rules
// below do not change).
func TestReviewFile(t *testing.T) {
	cfg := "default_permissions = \"dev\"\n[permissions.dev.filesystem]\n\":minimal\" = \"read\"\n\":workspace_roots\" = \"write\"\n"
	w := newUserWorld(t, cfg)
	if _, errs, code := w.polc("proj", "build", "--target=linux"); code != 0 {
		t.Fatal(errs)
	}
	review, err := os.ReadFile(w.path("proj/.polc/dev.review.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# polc build: the policy of profile dev", `write       ${WORKSPACE_ROOT}  <- config ":workspace_roots" (profile dev) in ${CODEX_HOME}/config.toml`,
		`read        :minimal  <- config ":minimal" (profile dev) in ${CODEX_HOME}/config.toml`} {
		if !strings.Contains(string(review), want) {
			t.Errorf("review file lacks %q:\n%s", want, review)
		}
	}
	if strings.Contains(string(review), w.root) {
		t.Errorf("review file holds a host path:\n%s", review)
	}
	w.write("home/.codex/config.toml", strings.Replace(cfg, "filesystem]\n", "filesystem]\n\"~/.ssh\" = \"deny\"\n", 1))
	out, _, code := w.polc("proj", "build", "--target=linux", "--check")
	if code != 1 || !strings.Contains(out, "stale: .polc/dev.review.txt (differs)") || !strings.Contains(out, `+deny        ${HOME}/.ssh  <- config "~/.ssh"`) {
		t.Errorf("build --check: exit %d, want the review file's one-line diff:\n%s", code, out)
	}
	var added, removed int
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "+++") || strings.HasPrefix(l, "---"):
		case strings.HasPrefix(l, "+"):
			added++
		case strings.HasPrefix(l, "-"):
			removed++
		}
	}
	if added != 1 || removed != 0 {
		t.Errorf("build --check: the review diff has %d added and %d removed lines, want 1 and 0:\n%s", added, removed, out)
	}
}
