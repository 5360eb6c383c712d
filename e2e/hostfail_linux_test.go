package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"polc/hostprobe"
	"polc/internal/conformance"
)

// Host failures, made to happen on this machine: polc run inside a
// sandbox that forbids nested user namespaces (bwrap --disable-userns),
// under a seccomp filter that refuses them (a container runtime's
// default profile, played by testdata/nouserns), and where no bwrap can
// be found. Each launch must be refused with exit 125, bwrap's message
// (if any) then polc's one line with the cause, the code and the fix,
// and the command must not have run. polc doctor must say the same.

// hostWorld is a project, a home and a temp directory owned by u, and
// the environment polc runs in there.
func hostWorld(t *testing.T, u conformance.User) (root, proj string, env []string) {
	t.Helper()
	root, err := os.MkdirTemp("/var/tmp", "polc-hostfail-")
	if err != nil {
		t.Skipf("no /var/tmp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	root, _ = filepath.EvalSymlinks(root)
	proj = filepath.Join(root, "proj")
	home := filepath.Join(root, "home")
	tmp := filepath.Join(root, "tmp")
	// CODEX_HOME must exist: polc refuses one that names nothing.
	for _, d := range []string{proj, home, filepath.Join(home, ".codex"), tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	u.Own(t, root)
	env = []string{"HOME=" + home, "CODEX_HOME=" + filepath.Join(home, ".codex"), "TMPDIR=" + tmp,
		"PATH=/usr/local/bin:/usr/bin:/bin"}
	return root, proj, env
}

// runAs runs argv as u in env (which replaces polc's own) and returns
// its output and exit status.
func runAs(t *testing.T, u conformance.User, env []string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "/"
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	u.Apply(cmd)
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// execArgs is `polc exec -P :workspace -C proj -- sh -c ...`, whose
// command says RAN and leaves a file if it ever runs.
func execArgs(proj string) []string {
	return []string{polcBin, "exec", "-P", ":workspace", "-C", proj, "--", "sh", "-c", "echo RAN; touch " + filepath.Join(proj, "ran")}
}

// wantRefused checks a refused launch: exit 125, polc's line last on
// stderr (bwrap's own message at most before it), and nothing ran.
func wantRefused(t *testing.T, proj, stdout, stderr string, code int, want string) {
	t.Helper()
	if code != 125 {
		t.Errorf("exit %d, want 125\nstderr: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) > 2 {
		t.Errorf("stderr has %d lines, want polc's line and at most bwrap's before it:\n%s", len(lines), stderr)
	}
	if got := lines[len(lines)-1]; got != "polc: "+want {
		t.Errorf("diagnosis line\n got: %s\nwant: polc: %s", got, want)
	}
	if strings.Contains(stdout, "RAN") {
		t.Errorf("the command ran: stdout %q", stdout)
	}
	if _, err := os.Stat(filepath.Join(proj, "ran")); err == nil {
		t.Errorf("the command ran: it left %s", filepath.Join(proj, "ran"))
	}
}

// wantDoctorFails checks that polc doctor, run the same way, exits 1
// and fails the profile with code.
func wantDoctorFails(t *testing.T, stdout string, code int, diagCode string) {
	t.Helper()
	if code != 1 {
		t.Errorf("doctor: exit %d, want 1\n%s", code, stdout)
	}
	if !strings.Contains(stdout, "profile      fail  :workspace cannot be enforced here ["+diagCode+"]") {
		t.Errorf("doctor does not fail the profile with %s:\n%s", diagCode, stdout)
	}
}

// runtimeHere is the container runtime this machine is in, as polc
// sees it: the remedies for a container name it.
func runtimeHere(t *testing.T) string {
	rt, _ := hostprobe.Container(hostprobe.System())
	if rt != "" && rt != "docker" {
		t.Skipf("this test knows the exact lines for a host and a docker container, not for %s", rt)
	}
	return rt
}

func TestHostNestedUserNSRefused(t *testing.T) {
	want := "nested user namespaces are forbidden here: polc runs inside a sandbox that allows no more (bwrap --disable-userns, " +
		"or a user.max_user_namespaces limit of its namespace), so bubblewrap cannot create the sandbox's [POL132]; " +
		"fix: run polc outside that sandbox, or start the outer sandbox without --disable-userns; " +
		"or, if that outer sandbox is your security boundary, run polc exec -P :danger-full-access inside it"
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			root, proj, env := hostWorld(t, u)
			outer := []string{"bwrap", "--unshare-user", "--disable-userns", "--ro-bind", "/", "/", "--bind", root, root,
				"--proc", "/proc", "--dev", "/dev", "--"}
			stdout, stderr, code := runAs(t, u, env, append(outer, execArgs(proj)...)...)
			wantRefused(t, proj, stdout, stderr, code, want)
			stdout, _, code = runAs(t, u, env, append(outer, polcBin, "doctor", "-P", ":workspace", "-C", proj)...)
			wantDoctorFails(t, stdout, code, "POL132")
		})
	}
}

var (
	nousernsOnce sync.Once
	nousernsBin  string
	nousernsErr  error
)

// nouserns builds testdata/nouserns beside polc.
func nouserns(t *testing.T) string {
	t.Helper()
	nousernsOnce.Do(func() {
		nousernsBin = filepath.Join(filepath.Dir(polcBin), "nouserns")
		out, err := exec.Command("go", "build", "-o", nousernsBin, "./testdata/nouserns").CombinedOutput()
		if err != nil {
			nousernsErr = err
			nousernsBin = string(out)
		}
	})
	if nousernsErr != nil {
		t.Fatalf("building testdata/nouserns: %v\n%s", nousernsErr, nousernsBin)
	}
	return nousernsBin
}

func TestHostSeccompBlocksUserNSRefused(t *testing.T) {
	want := "a seccomp filter polc was started under refuses user namespaces (operation not permitted), so bubblewrap cannot create the sandbox's [POL131]; " +
		"fix: start polc outside the process that installed the filter (a service manager's SystemCallFilter, another sandbox), " +
		"or, if that outer sandbox is your security boundary, run polc exec -P :danger-full-access inside it"
	if runtimeHere(t) == "docker" {
		want = "the docker container's seccomp profile (/.dockerenv) refuses user namespaces (operation not permitted), so bubblewrap cannot create the sandbox's [POL131]; " +
			"fix: run the container with a seccomp profile that allows unshare and clone with CLONE_NEWUSER " +
			"(docker or podman run --security-opt seccomp=PROFILE.json; a devcontainer's runArgs, as the Codex devcontainer does with its bubblewrap profile), " +
			"or, if the container is your security boundary, run polc exec -P :danger-full-access inside it (the command then reaches everything in the container)"
	}
	helper := nouserns(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			_, proj, env := hostWorld(t, u)
			stdout, stderr, code := runAs(t, u, env, append([]string{helper}, execArgs(proj)...)...)
			wantRefused(t, proj, stdout, stderr, code, want)
			stdout, _, code = runAs(t, u, env, helper, polcBin, "doctor", "-P", ":workspace", "-C", proj)
			wantDoctorFails(t, stdout, code, "POL131")
		})
	}
}

func TestHostNoBwrapRefused(t *testing.T) {
	want := "bubblewrap (bwrap) was not found on PATH outside the project nor at /usr/bin/bwrap [POL070]; " +
		"fix: install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap, apk add bubblewrap)"
	if runtimeHere(t) == "docker" {
		want += " in the container image"
	}
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			root, proj, env := hostWorld(t, u)
			// A PATH without bwrap, and /usr/bin/bwrap (polc's last
			// resort) hidden by a mount namespace of polc's own.
			env[len(env)-1] = "PATH=/bin"
			var outer []string
			outer = append(outer, "bwrap")
			if u.Switch {
				outer = append(outer, "--unshare-user")
			}
			outer = append(outer, "--dev-bind", "/", "/", "--bind", root, root, "--ro-bind", "/dev/null", "/usr/bin/bwrap", "--")
			stdout, stderr, code := runAs(t, u, env, append(outer, execArgs(proj)...)...)
			wantRefused(t, proj, stdout, stderr, code, want)
			stdout, _, code = runAs(t, u, env, append(outer, polcBin, "doctor", "-P", ":workspace", "-C", proj)...)
			wantDoctorFails(t, stdout, code, "POL070")
		})
	}
}

// TestDoctorHere: this machine runs the sandbox, as every other e2e
// test shows, so polc doctor must say so, for root and a user.
func TestDoctorHere(t *testing.T) {
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			_, proj, env := hostWorld(t, u)
			stdout, stderr, code := runAs(t, u, env, polcBin, "doctor", "-P", ":workspace", "-C", proj)
			if code != 0 || !strings.Contains(stdout, "\n:workspace can be enforced on this host.\n") {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			for _, row := range []string{"bwrap        ok", "userns       ok", "namespaces   ok", "seccomp      ok", "profile      ok"} {
				if !strings.Contains(stdout, row) {
					t.Errorf("no %q row:\n%s", row, stdout)
				}
			}
		})
	}
}

// TestHostMaskedProcRefused: polc run where parts of /proc are covered
// by other mounts, as Docker and Podman cover /proc/kcore, /proc/irq and
// others: the kernel refuses the sandbox a fresh /proc.
func TestHostMaskedProcRefused(t *testing.T) {
	want := "bubblewrap cannot mount the sandbox's fresh /proc because parts of this /proc are covered by other mounts (a container runtime's masked paths): " +
		"Can't mount proc on /newroot/proc: Operation not permitted [POL133]; fix: "
	if runtimeHere(t) == "docker" {
		want += "run the container with an unmasked /proc (docker run --security-opt systempaths=unconfined; podman run --security-opt unmask=ALL; " +
			"Kubernetes securityContext.procMount: Unmasked), or, if the container is your security boundary, run polc exec -P :danger-full-access inside it " +
			"(the command then reaches everything in the container)"
	} else {
		want += "run polc where /proc is not partly covered by other mounts, or, if that outer sandbox is your security boundary, run polc exec -P :danger-full-access inside it"
	}
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			root, proj, env := hostWorld(t, u)
			outer := []string{"bwrap", "--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "--bind", root, root, "--tmpfs", "/tmp",
				"--ro-bind", filepath.Dir(polcBin), filepath.Dir(polcBin), // polc, under the fresh /tmp
				"--proc", "/proc", "--tmpfs", "/proc/irq", "--dev", "/dev", "--"}
			stdout, stderr, code := runAs(t, u, env, append(outer, execArgs(proj)...)...)
			wantRefused(t, proj, stdout, stderr, code, want)
			stdout, _, code = runAs(t, u, env, append(outer, polcBin, "doctor", "-P", ":workspace", "-C", proj)...)
			wantDoctorFails(t, stdout, code, "POL133")
		})
	}
}
