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
	out, _, code := w.polc("proj", "check", "--strict", "--target=none")
	if code != 1 || !strings.Contains(out, "error: unknown key permissions.dev.filesytem; did you mean filesystem? [POL140]") {
		t.Errorf("check: exit %d, want 1 and a did-you-mean error:\n%s", code, out)
	}
	if !strings.Contains(out, "config.toml:6:18: ") {
		t.Errorf("check: the error is not located at the table header:\n%s", out)
	}
	if _, errs, code := w.polc("proj", "build", "--target=linux"); code != 1 || !strings.Contains(errs, "POL140") {
		t.Errorf("build: exit %d, want 1 with POL140:\n%s", code, errs)
	}
	needLinux(t)
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
	out, _, code := w.polc("proj", "check", "--target=none")
	if code != 1 || !strings.Contains(out, "$CODEX_HOME: error: "+want) {
		t.Errorf("check: exit %d, want 1 and %q:\n%s", code, want, out)
	}
	if _, errs, code := w.polc("proj", "explain", "a.txt"); code != 1 || !strings.Contains(errs, want) {
		t.Errorf("explain: exit %d, want 1 and %q:\n%s", code, want, errs)
	}
	needLinux(t)
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
	out, _, code = w.polc("proj", "check", "--target=none")
	if code != 0 || !strings.Contains(out, w.path("proj/.codex/config.toml")+": warning: polc exec will not load this project config") {
		t.Errorf("check: exit %d:\n%s", code, out)
	}
	if _, errs, _ := w.polc("proj", "build", "--target=linux", "-o", w.path("store/out")); !strings.Contains(errs, "[POL142]") {
		t.Errorf("build: stderr %q, want POL142", errs)
	}

	needLinux(t)
	out, errs, code = w.polc("proj", "exec", "--", "sh", "-c", "echo new > scripts/build.sh && echo WROTE")
	if code == 0 || strings.Contains(out, "WROTE") {
		t.Errorf("exec (untrusted): exit %d, stdout %q; want the write denied (read-only)", code, out)
	}
	if !strings.HasPrefix(errs, "polc: "+w.path("proj/.codex/config.toml")+": warning: this project config is not loaded: the project is not trusted [POL009]; fix: ") || !strings.Contains(errs, trust) {
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
			out, _, code := w.polc("proj", "check", "--target=none")
			if code != 1 || !strings.Contains(out, c.where) || !strings.Contains(out, "["+c.code+"]") || !strings.Contains(out, c.fix) {
				t.Errorf("check: exit %d, want 1 with %q, %s and %q:\n%s", code, c.where, c.code, c.fix, out)
			}
			needLinux(t)
			out, errs, code := w.polc("proj", "exec", "--", "sh", "-c", "echo RAN")
			if code != 125 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.where) || !strings.Contains(errs, c.fix) {
				t.Errorf("exec: exit %d, stdout %q, stderr %q; want 125 and one line with %q and %q", code, out, errs, c.where, c.fix)
			}
		})
	}
	t.Run("command outside the profile", func(t *testing.T) {
		needLinux(t)
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
	needLinux(t)
	w := newUserWorld(t, "default_permissions = \"dev\"\n[permissions.dev.filesystem]\n\":root\" = \"read\"\n\":workspace_roots\" = \"write\"\n")
	tg := "--target=" + registeredTargets()
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
	needLinux(t)
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
