package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"polc/ir"
)

// The tests run polc as a child process (this test binary, re-entered
// through artMainEnv), so that exit codes, stdout and stderr are exactly
// what a user sees.
const artMainEnv = "POLC_ARTTEST_MAIN"

func init() {
	if os.Getenv(artMainEnv) == "1" {
		// Never the machine's trust store in tests.
		systemTrustDir = os.Getenv("POLC_ARTTEST_TRUST_DIR")
		os.Exit(run(os.Args))
	}
}

var updateDiff = flag.Bool("update-diff", false, "rewrite the want sections of testdata/diff/*.txtar")

// artWorld is a project with its own HOME, CODEX_HOME and TMPDIR, under
// /var/tmp: :workspace profiles make /tmp writable, and an artifact there
// would (rightly) be refused.
type artWorld struct {
	t                     *testing.T
	root, proj, home, tmp string
	trustDir              string
	// env is appended to the child's environment (a later value wins).
	env []string
}

func newArtWorld(t *testing.T, config string) *artWorld {
	t.Helper()
	root, err := os.MkdirTemp("/var/tmp", "polc-arttest-")
	if err != nil {
		t.Skipf("no /var/tmp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	root, _ = filepath.EvalSymlinks(root)
	w := &artWorld{t: t, root: root, proj: filepath.Join(root, "proj"), home: filepath.Join(root, "home"),
		tmp: filepath.Join(root, "tmp"), trustDir: filepath.Join(root, "trust.d")}
	for _, d := range []string{filepath.Join(w.proj, ".codex"), w.home, filepath.Join(w.home, ".codex"), w.tmp, filepath.Join(root, "store")} {
		os.MkdirAll(d, 0o755)
	}
	w.write("proj/.codex/config.toml", config)
	w.write("proj/a.txt", "hello\n")
	w.write("proj/.env", "SECRET\n")
	return w
}

func (w *artWorld) write(rel, body string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.root, rel), []byte(body), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

func (w *artWorld) path(rel string) string { return filepath.Join(w.root, rel) }

// polc runs polc in dir (relative to the world root) and returns stdout,
// stderr and the exit code.
func (w *artWorld) polc(dir string, args ...string) (string, string, int) {
	w.t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = filepath.Join(w.root, dir)
	cmd.Env = append(os.Environ(), artMainEnv+"=1", "POLC_ARTTEST_TRUST_DIR="+w.trustDir,
		"HOME="+w.home, "CODEX_HOME="+filepath.Join(w.home, ".codex"), "TMPDIR="+w.tmp)
	cmd.Env = append(cmd.Env, w.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

const artSeedConfig = `default_permissions = "dev"

[permissions.dev.filesystem]
":root" = "read"
"~/.ssh" = "deny"
":tmpdir" = "write"
glob_scan_max_depth = 3

[permissions.dev.filesystem.":workspace_roots"]
"." = "write"
"**/*.env" = "deny"
`

// allTargets names every platform, as --target does by default.
func allTargets() string { return ir.JoinPlatforms(ir.Platforms, ",") }

func TestBuildTwiceByteIdenticalAndCheck(t *testing.T) {
	w := newArtWorld(t, artSeedConfig)
	tg := "--target=" + allTargets()
	if out, errs, code := w.polc("proj", "build", tg); code != 0 {
		t.Fatalf("build: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := w.polc("proj", "build", tg, "-o", w.path("again")); code != 0 {
		t.Fatalf("second build: %s", errs)
	}
	ents, _ := os.ReadDir(w.path("proj/.polc"))
	if len(ents) < len(ir.Platforms) {
		t.Fatalf("want an artifact per target in .polc, got %d files", len(ents))
	}
	for _, e := range ents {
		a, _ := os.ReadFile(w.path("proj/.polc/" + e.Name()))
		b, _ := os.ReadFile(w.path("again/" + e.Name()))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two builds differ", e.Name())
		}
		if bytes.Contains(a, []byte(w.root)) {
			t.Errorf("%s holds a host path (%s)", e.Name(), w.root)
		}
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}

	out, errs, code := w.polc("proj", "build", tg, "--check")
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("--check on fresh artifacts: exit %d\n%s%s", code, out, errs)
	}

	// The config changes: ~/.ssh becomes readable. --check must fail and
	// say which path changed, from what to what, and the line responsible.
	w.write("proj/.codex/config.toml", strings.Replace(artSeedConfig, `"~/.ssh" = "deny"`, `"~/.ssh" = "read"`, 1))
	out, errs, code = w.polc("proj", "build", tg, "--check")
	if code != 1 {
		t.Fatalf("--check on stale artifacts: exit %d, want 1\n%s%s", code, out, errs)
	}
	// The semantic summary leads; the text diff waits for --diff.
	if !strings.Contains(out, "${HOME}/.ssh: deny -> read") || strings.Contains(out, `"access": "deny",`) || !strings.Contains(out, "--check --diff") {
		t.Errorf("--check without --diff: want the summary only:\n%s", out)
	}
	out, errs, code = w.polc("proj", "build", tg, "--check", "--diff")
	if code != 1 {
		t.Fatalf("--check --diff on stale artifacts: exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{"stale: .polc/dev.linux.json", "${HOME}/.ssh: deny -> read",
		"config.toml:5:1", `-          "access": "deny",`, `+          "access": "read",`} {
		if !strings.Contains(out, want) {
			t.Errorf("--check output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "stale; run polc build") {
		t.Errorf("--check stderr: %q", errs)
	}
	// --check wrote nothing.
	if a, _ := os.ReadFile(w.path("proj/.polc/dev.linux.json")); !bytes.Contains(a, []byte(`"access": "deny"`)) {
		t.Error("--check rewrote the artifact")
	}
}

func TestBuildRefusesWhatItCannotBuild(t *testing.T) {
	w := newArtWorld(t, artSeedConfig)
	if _, errs, code := w.polc("proj", "build", "--target=linux,plan9"); code != 2 || !strings.Contains(errs, `unknown target "plan9"`) {
		t.Errorf("unknown target: exit %d, %s", code, errs)
	}
	if _, err := os.Stat(w.path("proj/.polc")); err == nil {
		t.Error("a failed build wrote artifacts")
	}
	// A profile error: nothing written either.
	w.write("proj/.codex/config.toml", "default_permissions = \"nope\"\n")
	if _, _, code := w.polc("proj", "build", "--target=linux"); code != 1 {
		t.Errorf("broken config: exit %d, want 1", code)
	}
}

func TestBuildEmitIR(t *testing.T) {
	w := newArtWorld(t, artSeedConfig)
	out, errs, code := w.polc("proj", "build", "--emit", "ir")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{`"profile": "dev"`, `"${HOME}/.ssh"`, `"${WORKSPACE_ROOT}/.codex/config.toml"`} {
		if !strings.Contains(out, want) {
			t.Errorf("--emit ir lacks %s", want)
		}
	}
	if strings.Contains(out, w.root) {
		t.Errorf("--emit ir holds a host path")
	}
	if _, err := os.Stat(w.path("proj/.polc")); err == nil {
		t.Error("--emit ir wrote artifacts")
	}
}

func TestKeygenSignVerify(t *testing.T) {
	w := newArtWorld(t, artSeedConfig)
	if out, errs, code := w.polc("", "keygen", "-o", "k"); code != 0 || !strings.Contains(out, "key id") {
		t.Fatalf("keygen: %d %s %s", code, out, errs)
	}
	if fi, _ := os.Stat(w.path("k")); fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", fi.Mode().Perm())
	}
	if _, _, code := w.polc("", "keygen", "-o", "k"); code != 1 {
		t.Errorf("keygen over an existing key: exit %d, want 1", code)
	}
	w.polc("proj", "build", "--target=linux", "-o", w.path("store"))
	art := w.path("store/dev.linux.json")
	if _, errs, code := w.polc("", "verify", "--trust", "k.pub", art); code != 1 || !strings.Contains(errs, "[POL102]") {
		t.Errorf("verify unsigned: exit %d %s", code, errs)
	}
	if _, errs, code := w.polc("", "verify", art); code != 2 || !strings.Contains(errs, "no trust key") {
		t.Errorf("verify without a key: exit %d %s", code, errs)
	}
	if _, errs, code := w.polc("", "sign", "--key", "k.pub", art); code != 1 || !strings.Contains(errs, "public key") {
		t.Errorf("sign with the public key: exit %d %s", code, errs)
	}
	if _, errs, code := w.polc("", "sign", "--key", "k", art); code != 0 {
		t.Fatalf("sign: %s", errs)
	}
	if out, errs, code := w.polc("", "verify", "--trust", "k.pub", art); code != 0 || !strings.HasPrefix(out, "ok: ") {
		t.Errorf("verify signed: exit %d %s %s", code, out, errs)
	}
	// A key installed in the system trust directory is trusted too.
	os.MkdirAll(w.trustDir, 0o755)
	pub, _ := os.ReadFile(w.path("k.pub"))
	w.write("trust.d/team.pub", string(pub))
	if _, errs, code := w.polc("", "verify", art); code != 0 {
		t.Errorf("verify with the system trust dir: %s", errs)
	}
	// Signing is deterministic: build --sign-key gives the same bytes.
	w.polc("proj", "build", "--target=linux", "-o", w.path("signed"), "--sign-key", w.path("k"))
	a, _ := os.ReadFile(art)
	b, _ := os.ReadFile(w.path("signed/dev.linux.json"))
	if !bytes.Equal(a, b) {
		t.Error("sign after build and build --sign-key differ")
	}
	os.Chmod(w.path("k"), 0o644)
	if _, errs, code := w.polc("", "sign", "--key", "k", art); code != 1 || !strings.Contains(errs, "readable by others") {
		t.Errorf("world-readable key: exit %d %s", code, errs)
	}
}

// TestExecArtifactRefusals: every bad artifact is refused with exit 125
// and one line naming why; a good one runs.
func TestExecArtifactRefusals(t *testing.T) {
	w := newArtWorld(t, artSeedConfig)
	w.polc("", "keygen", "-o", "k")
	w.polc("", "keygen", "-o", "other")
	if _, errs, code := w.polc("proj", "build", "--target="+allTargets(), "--sign-key", w.path("k")); code != 0 {
		t.Fatalf("build: %s", errs)
	}
	good := w.path("proj/.polc/dev.linux.json")
	body, _ := os.ReadFile(good)
	store := func(name string, b []byte) string {
		w.write("store/"+name, string(b))
		return w.path("store/" + name)
	}
	tampered := store("tampered.json", bytes.Replace(body, []byte(`"access": "deny"`), []byte(`"access": "write"`), 1))
	rescoped := store("rescoped.json", bytes.Replace(body, []byte(`"polc_version": "`+version+`"`), []byte(`"polc_version": "9.9"`), 1))
	w.polc("proj", "build", "--target=linux", "-o", w.path("unsigned"))
	unsigned := w.path("unsigned/dev.linux.json")
	inProject := w.path("proj/policy.json")
	os.WriteFile(inProject, body, 0o644)
	inTmp := filepath.Join(w.tmp, "dev.linux.json")
	os.WriteFile(inTmp, body, 0o644)
	pubKey, _ := os.ReadFile(w.path("k.pub"))
	w.write("proj/k.pub", string(pubKey))
	os.Symlink(w.path("proj"), w.path("proj-link"))

	cases := []struct {
		name string
		args []string
		code string
	}{
		{"tampered payload", []string{"--artifact", tampered, "--trust", "../k.pub"}, "POL101"},
		{"tampered, no trust key", []string{"--artifact", tampered}, "POL101"},
		{"missing signature", []string{"--artifact", unsigned, "--trust", "../k.pub"}, "POL102"},
		{"unknown key", []string{"--artifact", good, "--trust", "../other.pub"}, "POL103"},
		{"scope changed after signing", []string{"--artifact", rescoped, "--trust", "../k.pub"}, "POL104"},
		{"writable by the sandbox: project", []string{"--artifact", inProject, "--trust", "../k.pub"}, "POL106"},
		{"writable by the sandbox: TMPDIR", []string{"--artifact", inTmp, "--trust", "../k.pub"}, "POL106"},
		{"trust key writable by the sandbox", []string{"--artifact", good, "--trust", "k.pub"}, "POL117"},
		{"trust key writable by the sandbox, through a link", []string{"--artifact", good, "--trust", "../proj-link/k.pub"}, "POL117"},
		{"not an artifact", []string{"--artifact", w.path("proj/a.txt")}, "POL100"},
		{"bad trust key file", []string{"--artifact", good, "--trust", "../k"}, "POL110"},
		{"other platform", []string{"--artifact", w.path("proj/.polc/dev.windows.json"), "--trust", "../k.pub"}, "POL105"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"exec"}, c.args...), "--", "sh", "-c", "echo RAN")
			out, errs, code := w.polc("proj", args...)
			if code != 125 {
				t.Fatalf("exit %d, want 125\n%s%s", code, out, errs)
			}
			if strings.Contains(out, "RAN") {
				t.Fatal("the command ran")
			}
			if strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "polc: refusing to run the artifact: ") || !strings.Contains(errs, "["+c.code+"]") {
				t.Errorf("stderr %q, want exactly one polc: line with [%s]", errs, c.code)
			}
		})
	}

	// Unsigned with a key in the system trust directory: fails closed too.
	os.MkdirAll(w.trustDir, 0o755)
	pub, _ := os.ReadFile(w.path("k.pub"))
	w.write("trust.d/k.pub", string(pub))
	if _, errs, code := w.polc("proj", "exec", "--artifact", unsigned, "--", "true"); code != 125 || !strings.Contains(errs, "[POL102]") {
		t.Errorf("unsigned with a system trust key: exit %d %s", code, errs)
	}
	// Config flags make no sense with an artifact.
	if _, _, code := w.polc("proj", "exec", "-P", "dev", "--artifact", good, "--", "true"); code != 2 {
		t.Errorf("-P with --artifact: exit %d, want 2", code)
	}

	if out, err := exec.Command("bwrap", "--ro-bind", "/", "/", "--unshare-user", "true").CombinedOutput(); err != nil {
		t.Skipf("bubblewrap cannot run here: %s", out)
	}
	out, errs, code := w.polc("proj", "exec", "--artifact", ".polc/dev.linux.json", "--", "sh", "-c", "cat a.txt; cat .env || echo DENIED; echo x > .polc/dev.linux.json || echo PROTECTED")
	if code != 0 || !strings.Contains(out, "hello") || !strings.Contains(out, "DENIED") || !strings.Contains(out, "PROTECTED") {
		t.Errorf("signed artifact run: exit %d\n%s%s", code, out, errs)
	}
}

// TestDiffGolden runs polc diff on the testdata/diff cases: old.toml and
// new.toml are compiled as lone configs (want-config), and built into
// Linux artifacts in a project that are then compared (want-artifacts).
// go test ./cmd/polc -run TestDiffGolden -update-diff rewrites them.
func TestDiffGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/diff/*.txtar")
	if len(files) == 0 {
		t.Fatal("no diff cases")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sec := map[string]string{}
			for _, f := range ar.Files {
				sec[f.Name] = string(f.Data)
			}
			w := newArtWorld(t, sec["old.toml"])
			w.write("old.toml", sec["old.toml"])
			w.write("new.toml", sec["new.toml"])
			got := map[string]string{}
			out, errs, code := w.polc("", "diff", "old.toml", "new.toml")
			got["want-config"] = out
			checkDiffCode(t, "config", code, errs, sec["want-config"])

			w.polc("proj", "build", "--target=linux", "-o", w.path("old"))
			w.write("proj/.codex/config.toml", sec["new.toml"])
			w.polc("proj", "build", "--target=linux", "-o", w.path("new"))
			out, errs, code = w.polc("", "diff", "old/dev.linux.json", "new/dev.linux.json")
			got["want-artifacts"] = out
			checkDiffCode(t, "artifacts", code, errs, sec["want-artifacts"])

			if *updateDiff {
				for i := range ar.Files {
					if g, ok := got[ar.Files[i].Name]; ok {
						ar.Files[i].Data = []byte(g)
					}
				}
				os.WriteFile(file, txtar.Format(ar), 0o644)
				return
			}
			for name, g := range got {
				if g != sec[name] {
					t.Errorf("%s differs (-update-diff to accept):\n--- got\n%s--- want\n%s", name, g, sec[name])
				}
			}
		})
	}
}

func checkDiffCode(t *testing.T, what string, code int, errs, want string) {
	t.Helper()
	wantCode := 1
	if strings.HasPrefix(want, "no change") {
		wantCode = 0
	}
	if code != wantCode && !*updateDiff {
		t.Errorf("%s diff: exit %d, want %d; stderr %s", what, code, wantCode, errs)
	}
}

// TestDiffProjectDirsAndMixed: a project directory is compiled with
// discovery, and an artifact can be compared with a config.
func TestDiffProjectDirsAndMixed(t *testing.T) {
	w := newArtWorld(t, artSeedConfig)
	w.polc("proj", "build", "--target=linux")
	if out, errs, code := w.polc("", "diff", "proj/.polc/dev.linux.json", "proj"); code != 0 || !strings.HasPrefix(out, "no change") {
		t.Errorf("artifact vs its own project: exit %d\n%s%s", code, out, errs)
	}
	w.write("proj/.codex/config.toml", strings.Replace(artSeedConfig, `"." = "write"`, `"." = "read"`, 1))
	out, errs, code := w.polc("", "diff", "proj/.polc/dev.linux.json", "proj")
	if code != 1 || !strings.Contains(out, "linux:\n  ${WORKSPACE_ROOT}: write -> read") {
		t.Errorf("artifact vs changed project: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := w.polc("", "diff", "proj/.polc/dev.linux.json"); code != 2 {
		t.Errorf("one argument: exit %d %s", code, errs)
	}
	w.write("broken.toml", "default_permissions = [\n")
	if _, errs, code := w.polc("", "diff", "broken.toml", "proj"); code != 1 || !strings.Contains(errs, "broken.toml") {
		t.Errorf("broken config: exit %d %s", code, errs)
	}
	w.write("bad.json", "{}")
	if _, errs, code := w.polc("", "diff", "bad.json", "proj"); code != 1 || !strings.Contains(errs, "[POL100]") {
		t.Errorf("bad artifact: exit %d %s", code, errs)
	}
}
