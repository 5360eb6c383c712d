package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"polc/backends/bwrap"
	"polc/internal/conformance"
)

var polcBin string

func TestMain(m *testing.M) {
	code := func() int {
		if runtime.GOOS != "linux" {
			return m.Run()
		}
		// polc passes the descriptors it inherits on to the command, as a
		// shell does; the tests' polc inherits none beyond its standard
		// streams, whatever this test process was given.
		closeExtraFiles()
		dir, err := os.MkdirTemp("", "polc-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		// Tests also run polc as an unprivileged user.
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		polcBin = filepath.Join(dir, "polc")
		// Built as users get it (make build: static, the same tags and
		// flags), so that what the tests and benchmarks run is what ships.
		out, err := exec.Command("make", "-s", "-C", "..", "build", "BIN="+polcBin).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building polc: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

type run struct {
	stdout, stderr string
	code           int
	// direct is set when polc launched the command without its inner
	// stage (seen in POLC_DEBUG_BWRAP's output, which is taken out of
	// stderr); staged says why it took the stage instead.
	direct bool
	staged string
}

// A stage is how polc exec launches: "direct" (bwrap runs the command:
// the default for a plan with few masks) or "inner" (polc's inner stage
// as the sandbox's pid 1, forced with POLC_EXEC_STAGE=inner). Tests that
// run under both check the same answers.
var stages = []string{"direct", "inner"}

// polcExec runs `polc exec [--requirements F] -P profile -C proj -- argv`
// in the world, as the shared harness does.
func polcExec(t *testing.T, w *conformance.World, profile string, stdin string, argv ...string) run {
	t.Helper()
	return polcExecStage(t, "", w, profile, stdin, argv...)
}

// polcExecStage is polcExec through one stage ("" = polc's own choice).
func polcExecStage(t *testing.T, stage string, w *conformance.World, profile string, stdin string, argv ...string) run {
	t.Helper()
	return polcExecAs(t, conformance.Users(t)[0], stage, w, profile, stdin, argv...)
}

// polcCmd is `polc args...` in the world, as user u, through one stage.
func polcCmd(u conformance.User, stage string, w *conformance.World, args ...string) *exec.Cmd {
	cmd := exec.Command(polcBin, args...)
	cmd.Dir = w.Proj
	cmd.Env = append(append(os.Environ(), w.Env()...), stageEnv(stage)...)
	if stage == "direct" {
		cmd.Env = append(cmd.Env, "POLC_DEBUG_BWRAP=1")
	}
	if u.Switch {
		// A user's own PATH, not root's (whose entries it cannot read).
		cmd.Env = append(cmd.Env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	u.Apply(cmd)
	return cmd
}

// polcExecAs is polcExecStage as user u (who must own the world: see
// userWorld).
func polcExecAs(t *testing.T, u conformance.User, stage string, w *conformance.World, profile string, stdin string, argv ...string) run {
	t.Helper()
	args := []string{"exec"}
	if w.RequirementsFile != "" {
		args = append(args, "--requirements", w.RequirementsFile)
	}
	args = append(args, "-P", profile, "-C", w.Proj, "--")
	args = append(args, argv...)
	cmd := polcCmd(u, stage, w, args...)
	cmd.Stdin = strings.NewReader(stdin)
	return runPolc(t, cmd)
}

// debugLines are the prefixes of POLC_DEBUG_BWRAP's lines (the direct
// stage turns it on to see how polc launched).
var debugLines = []string{"polc: planned in ", "polc: inner stage: ", "polc: mask stage: ", "polc: mask /",
	"polc: checked ", "polc: attempt ", "polc: no state key ", "polc: own code: ",
	"polc: change feed", "polc: watcher ", "polc: no watcher ", "polc: heap: "}

// runPolc runs a polc command and collects what it printed, its exit
// status, and whether it launched directly; POLC_DEBUG_BWRAP's lines
// are taken out of stderr.
func runPolc(t *testing.T, cmd *exec.Cmd) run {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r := run{stdout: out.String(), code: code}
	var kept []string
lines:
	for _, l := range strings.SplitAfter(errb.String(), "\n") {
		if strings.HasPrefix(l, "polc: direct launch: ") {
			r.direct = true
			continue
		}
		if why, ok := strings.CutPrefix(l, "polc: inner stage: "); ok {
			r.staged = strings.TrimSpace(why)
		}
		for _, p := range debugLines {
			if strings.HasPrefix(l, p) {
				continue lines
			}
		}
		kept = append(kept, l)
	}
	r.stderr = strings.Join(kept, "")
	return r
}

// TestConformance runs every shared case under polc exec and requires
// every row to match (polc-want where present, else want).
func TestConformance(t *testing.T) {
	conformance.NeedSandbox(t)
	cases, err := conformance.Load("../internal/conformance/testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no conformance cases")
	}
	for _, u := range conformance.Users(t) {
		for _, stage := range stages {
			for _, c := range cases {
				t.Run(u.Name+"/"+stage+"/"+c.Name, func(t *testing.T) {
					w, err := c.Build(conformance.TempRoot(t))
					if err != nil {
						t.Fatal(err)
					}
					u.Own(t, w.Root)
					script, shell := c.Script(w, conformance.Serve(t))
					r := polcExecAs(t, u, stage, w, c.Profile(), script, shell, "-s")
					if c.Refused {
						if r.code != 125 || strings.Contains(r.stdout, "@@") {
							t.Fatalf("want polc to refuse (exit 125), got exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
						}
						if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 {
							t.Errorf("refusal should be one line, got:\n%s", r.stderr)
						}
						return
					}
					// A proxy-only network always takes the stage: it
					// runs the bridge.
					if stage == "direct" && !r.direct && !strings.Contains(r.staged, "bridge") {
						t.Errorf("polc did not launch directly (%s)", r.staged)
					}
					if r.code != 0 {
						t.Errorf("exit %d, stderr: %s", r.code, r.stderr)
					}
					got := c.ParseOutput(r.stdout)
					for i, row := range got {
						if row != c.Want[i] {
							t.Errorf("want %q, got %q", c.Want[i], row)
						}
					}
					// Nothing bwrap created on the host (mount points for held
					// missing paths) is left behind.
					for _, p := range []string{".polc", ".codex", ".agents"} {
						if _, err := os.Lstat(filepath.Join(w.Proj, p)); err == nil && !inTree(c.Tree, "proj/"+p) {
							t.Errorf("proj/%s left behind on the host", p)
						}
					}
				})
			}
		}
	}
}

func inTree(tree []string, p string) bool {
	for _, e := range tree {
		if e == p || strings.HasPrefix(e, p+"/") || strings.HasPrefix(e, p+" ") {
			return true
		}
	}
	return false
}

// seedConfig is the seed profile: project writable, **/*.env denied.
const seedConfig = `default_permissions = "workspace"

[permissions.workspace.filesystem]
":minimal" = "read"
":project_roots" = { "." = "write", "**/*.env" = "none" }
`

func seedWorld(t *testing.T, config string) *conformance.World {
	t.Helper()
	c := &conformance.Case{Config: config}
	w, err := c.Build(conformance.TempRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestTenThousandMasks: 10,000 files matching **/*.env are all
// unreadable and the command still runs (the reference refuses above
// 8,192 matches; bwrap alone caps its arguments at 9,000).
func TestTenThousandMasks(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) { tenThousandMasks(t, u) })
	}
}

func tenThousandMasks(t *testing.T, u conformance.User) {
	w := seedWorld(t, seedConfig)
	for d := 0; d < 100; d++ {
		dir := filepath.Join(w.Proj, fmt.Sprintf("d%03d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := 0; f < 100; f++ {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.env", f)), []byte("SECRET=1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.WriteFile(filepath.Join(w.Proj, "ok.txt"), []byte("fine\n"), 0o644)
	u.Own(t, w.Root)
	script := `n=$(find . -name '*.env' -type f | wc -l)
r=$(find . -name '*.env' -type f -readable | wc -l)
echo "total=$n readable=$r"
cat d042/f042.env >/dev/null 2>&1 && echo LEAK
chmod 644 d042/f042.env 2>/dev/null && echo CHMOD
(echo x >d042/f042.env) 2>/dev/null && echo WROTE
ls -a /dev | grep -q polc && echo SOURCE
grep -q ' /dev/.polc' /proc/self/mountinfo && echo SOURCEMOUNT
cat ok.txt
`
	r := polcExecAs(t, u, "", w, "workspace", script, "/bin/sh", "-s")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "total=10000 readable=0") || strings.Contains(r.stdout, "LEAK") || !strings.Contains(r.stdout, "fine") {
		t.Fatalf("masks not all applied:\n%s\n%s", r.stdout, r.stderr)
	}
	// A mask the command could chmod or write would not be one, and the
	// file the masks are bound from is gone before the command starts.
	for _, attack := range []string{"CHMOD", "WROTE", "SOURCE", "SOURCEMOUNT"} {
		if strings.Contains(r.stdout, attack) {
			t.Errorf("the command could %s:\n%s", attack, r.stdout)
		}
	}
}

// TestExecBehavesLikeAShell: exit status, stdin, environment and working
// directory pass through as with `codex sandbox`.
func TestExecBehavesLikeAShell(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, u := range conformance.Users(t) {
		for _, stage := range stages {
			t.Run(u.Name+"/"+stage, func(t *testing.T) { execBehavesLikeAShell(t, u, stage) })
		}
	}
}

func execBehavesLikeAShell(t *testing.T, u conformance.User, stage string) {
	w := seedWorld(t, seedConfig)
	u.Own(t, w.Root)
	polcExec := func(t *testing.T, w *conformance.World, profile string, stdin string, argv ...string) run {
		t.Helper()
		r := polcExecAs(t, u, stage, w, profile, stdin, argv...)
		if stage == "direct" && !r.direct && r.code != 127 && r.code != 126 {
			t.Errorf("%v: polc did not launch directly", argv)
		}
		return r
	}
	if r := polcExec(t, w, "workspace", "", "/bin/sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exit status: got %d, want 7 (%s)", r.code, r.stderr)
	}
	if r := polcExec(t, w, "workspace", "", "/bin/sh", "-c", "kill -KILL $$"); r.code != 128+9 {
		t.Errorf("killed by SIGKILL: got %d, want 137", r.code)
	}
	if r := polcExec(t, w, "workspace", "hello from stdin\n", "cat"); r.stdout != "hello from stdin\n" {
		t.Errorf("stdin: got %q", r.stdout)
	}
	r := polcExec(t, w, "workspace", "", "/bin/sh", "-c", `echo "$PWD|$(pwd)|$CODEX_HOME|$CODEX_SANDBOX_NETWORK_DISABLED"`)
	want := w.Proj + "|" + w.Proj + "|" + w.CodexHome + "|1\n"
	if r.stdout != want {
		t.Errorf("environment: got %q, want %q", r.stdout, want)
	}
	// PWD is -C's whatever directory polc itself runs in.
	cmd := polcCmd(u, stage, w, "exec", "-P", "workspace", "-C", w.Proj, "--", "/usr/bin/env")
	cmd.Dir = "/"
	if out, err := cmd.Output(); err != nil || !strings.Contains("\n"+string(out), "\nPWD="+w.Proj+"\n") {
		t.Errorf("PWD from another directory: %v\n%s", err, out)
	}
	r = polcExec(t, w, "workspace", "", "/bin/sh", "-c", "grep -E '^(CapEff|CapPrm|NoNewPrivs|Seccomp):' /proc/self/status")
	for _, l := range []string{"CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(r.stdout, l) {
			t.Errorf("sandboxed command: want %q in\n%s", l, r.stdout)
		}
	}
	// Network off: seccomp refuses the socket itself, not just the route.
	r = polcExec(t, w, "workspace", "", "/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9")
	if r.code == 0 || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("AF_INET socket: exit %d, stderr %q", r.code, r.stderr)
	}
	os.WriteFile(filepath.Join(w.Proj, "s.sh"), []byte("#!/bin/sh\necho ran \"$@\"\n"), 0o755)
	u.Own(t, filepath.Join(w.Proj, "s.sh"))
	if r := polcExec(t, w, "workspace", "", "./s.sh", "a b"); r.stdout != "ran a b\n" {
		t.Errorf("relative command: got %q %s", r.stdout, r.stderr)
	}
	if r := polcExec(t, w, "workspace", "", "/no/such/command"); r.code != 127 {
		t.Errorf("missing command: exit %d, want 127", r.code)
	}
	// No #!: run by /bin/sh, as execvp does.
	os.WriteFile(filepath.Join(w.Proj, "plain.sh"), []byte("echo plain \"$@\"\n"), 0o755)
	if r := polcExec(t, w, "workspace", "", "./plain.sh", "x"); r.code != 0 || r.stdout != "plain x\n" {
		t.Errorf("script without #!: exit %d, %q %s", r.code, r.stdout, r.stderr)
	}
	// Found, but its interpreter is not there: exec itself fails.
	os.WriteFile(filepath.Join(w.Proj, "bad.sh"), []byte("#!/no/such/interpreter\n"), 0o755)
	if r := polcExec(t, w, "workspace", "", "./bad.sh"); r.code != 127 || r.stdout != "" {
		t.Errorf("missing interpreter: exit %d, want 127 (%s)", r.code, r.stderr)
	}
	// Found on the host but denied in the sandbox: not run.
	os.WriteFile(filepath.Join(w.Proj, "x.env"), []byte("#!/bin/sh\necho LEAK\n"), 0o755)
	if r := polcExec(t, w, "workspace", "", "./x.env"); r.code != 126 || strings.Contains(r.stdout, "LEAK") {
		t.Errorf("masked command: exit %d, want 126 (%s)", r.code, r.stderr)
	}
}

// TestSignalsAreForwarded: SIGTERM to polc reaches the command, whose
// own exit status comes back.
func TestSignalsAreForwarded(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, u := range conformance.Users(t) {
		for _, stage := range stages {
			t.Run(u.Name+"/"+stage, func(t *testing.T) {
				w := seedWorld(t, seedConfig)
				u.Own(t, w.Root)
				signalReachesTrap(t, u, w, stage)
				signalKillsPlainCommand(t, u, w, stage)
			})
		}
	}
}

func stageEnv(stage string) []string {
	if stage == "inner" {
		return []string{"POLC_EXEC_STAGE=inner"}
	}
	return nil
}

// signalReachesTrap: SIGTERM to polc reaches the command's own trap,
// whose exit status comes back.
func signalReachesTrap(t *testing.T, u conformance.User, w *conformance.World, stage string) {
	cmd := polcCmd(u, stage, w, "exec", "-P", "workspace", "-C", w.Proj, "--",
		"/bin/sh", "-c", `trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("command did not start: %q %v", buf, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	rest, _ := io.ReadAll(out)
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 3 || string(rest) != "got-term\n" {
		t.Fatalf("want the command's trap to run and exit 3, got %v, output %q", err, rest)
	}
}

// signalKillsPlainCommand: a command with no handler dies of the
// forwarded signal (it is not the sandbox's pid 1, which the kernel
// would shield), and polc exits 128+15 as a shell reports it.
func signalKillsPlainCommand(t *testing.T, u conformance.User, w *conformance.World, stage string) {
	cmd := polcCmd(u, stage, w, "exec", "-P", "workspace", "-C", w.Proj, "--",
		"/bin/sh", "-c", `echo ready; exec sleep 30`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("command did not start: %q %v", buf, err)
	}
	// sh has exec'd sleep only once its output is flushed: let it.
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	io.ReadAll(out)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 128+15 {
		t.Fatalf("want exit 143 (command killed by SIGTERM), got %v", err)
	}
}

// TestMaskThreshold: up to bwrap.MaxDirectMasks masks bwrap applies them
// itself; one more and polc's inner stage does. Either way every match
// is unreadable and the rest of the project is not.
func TestMaskThreshold(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, n := range []int{bwrap.MaxDirectMasks, bwrap.MaxDirectMasks + 1} {
		w := seedWorld(t, seedConfig)
		for i := 0; i < n; i++ {
			if err := os.WriteFile(filepath.Join(w.Proj, fmt.Sprintf("f%03d.env", i)), []byte("SECRET=1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		os.WriteFile(filepath.Join(w.Proj, "ok.txt"), []byte("fine\n"), 0o644)
		script := `echo "total=$(find . -name '*.env' -type f | wc -l) readable=$(find . -name '*.env' -type f -readable | wc -l)"; cat ok.txt`
		r := polcExecStage(t, "direct", w, "workspace", script, "/bin/sh", "-s")
		if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("total=%d readable=0", n)) || !strings.Contains(r.stdout, "fine") {
			t.Fatalf("%d masks: exit %d\n%s\n%s", n, r.code, r.stdout, r.stderr)
		}
		if want := n <= bwrap.MaxDirectMasks; r.direct != want {
			t.Errorf("%d masks: direct launch = %v, want %v", n, r.direct, want)
		}
	}
}

// TestPlantedGlobLinkMasksNothing: a sandboxed command plants links
// named like deny-glob matches (x.env) to the shell it runs and to a
// file the policy lets it read; the next launch still runs the shell
// and reads the file (a path is judged where it really is: the links'
// targets match no glob), while a link to a real match stays unreadable.
func TestPlantedGlobLinkMasksNothing(t *testing.T) {
	conformance.NeedSandbox(t)
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip(err)
	}
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			w := seedWorld(t, seedConfig)
			os.WriteFile(filepath.Join(w.Proj, "ok.txt"), []byte("fine\n"), 0o644)
			os.WriteFile(filepath.Join(w.Proj, "real.env"), []byte("SECRET=1\n"), 0o644)
			plant := fmt.Sprintf("ln -s %s shell.env && ln -s %s/ok.txt ok.env && ln -s real.env innocent.txt && echo planted", sh, w.Proj)
			if r := polcExecStage(t, stage, w, "workspace", "", "/bin/sh", "-c", plant); r.code != 0 || !strings.Contains(r.stdout, "planted") {
				t.Fatalf("planting: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			r := polcExecStage(t, stage, w, "workspace", "", "/bin/sh", "-c", "cat ok.env; cat ok.txt; cat innocent.txt 2>/dev/null || echo hidden")
			if r.code != 0 || r.stdout != "fine\nfine\nhidden\n" {
				t.Fatalf("after planting: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestRefusalsAreOneLine125: a rule polc cannot enforce (a denied path
// through a symlink in the writable project) is refused with exit 125
// and one line naming the problem and its code.
func TestRefusalsAreOneLine125(t *testing.T) {
	conformance.NeedSandbox(t)
	w := seedWorld(t, `default_permissions = "ws"

[permissions.ws.filesystem]
":minimal" = "read"
":project_roots" = { "." = "write", "secret" = "deny" }
`)
	if err := os.Symlink(w.Home, filepath.Join(w.Proj, "secret")); err != nil {
		t.Fatal(err)
	}
	r := polcExec(t, w, "ws", "", "/bin/true")
	if r.code != 125 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !(strings.Contains(r.stderr, "POL073") || strings.Contains(r.stderr, "POL033")) {
		t.Fatalf("want one line with POL033 (compile) or POL073 (launch) and exit 125, got %d: %q", r.code, r.stderr)
	}
}

// TestKilledLaunchLeavesNothingBehind: polc killed with SIGKILL cannot
// remove the mount points bwrap made on the host (proj/.codex,
// proj/.polc); the next launch that may write the project does. A launch
// in another project leaves them: a launch sweeps only inside its own
// writable roots, whatever a registry entry names.
func TestKilledLaunchLeavesNothingBehind(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			w := seedWorld(t, seedConfig)
			killRunningLaunch(t, stage, w, func() {
				if _, err := os.Lstat(filepath.Join(w.Proj, ".codex")); err != nil {
					t.Fatalf("bwrap made no mount point for proj/.codex: %v", err)
				}
			})
			// Another project of the same user: its launch sweeps.
			other := filepath.Join(w.Root, "other")
			os.Mkdir(other, 0o755)
			next := exec.Command(polcBin, "exec", "-P", "workspace", "-C", other, "--", "/bin/true")
			next.Env = append(append(os.Environ(), w.Env()...), stageEnv(stage)...)
			if b, err := next.CombinedOutput(); err != nil {
				t.Fatalf("next launch: %v %s", err, b)
			}
			if _, err := os.Lstat(filepath.Join(w.Proj, ".codex")); err != nil {
				t.Errorf("a launch in another project swept proj/.codex, outside its writable roots")
			}
			if r := polcExecStage(t, stage, w, "workspace", "", "/bin/true"); r.code != 0 {
				t.Fatalf("launch in the project: exit %d %s", r.code, r.stderr)
			}
			for _, p := range []string{".codex", ".polc"} {
				if _, err := os.Lstat(filepath.Join(w.Proj, p)); err == nil {
					t.Errorf("proj/%s left behind after the next launch in the project", p)
				}
			}
		})
	}
}

// killRunningLaunch starts `polc exec` of the seed profile in w under the
// given stage, waits until the command runs, calls running (to look at
// the host while the sandbox is up), and kills polc with SIGKILL: the
// launch cannot clean up after itself.
func killRunningLaunch(t *testing.T, stage string, w *conformance.World, running func()) {
	t.Helper()
	cmd := exec.Command(polcBin, "exec", "-P", "workspace", "-C", w.Proj, "--", "/bin/sh", "-c", "echo ready; sleep 30")
	cmd.Env = append(append(os.Environ(), w.Env()...), stageEnv(stage)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed on every way out, a failed check in running included.
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil {
		t.Fatalf("command did not start: %v", err)
	}
	if running != nil {
		running()
	}
}
