package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"polc/backends"
	"polc/backends/bwrap"
	"polc/compiler"
	"polc/hostprobe"
	"polc/ir"
	"polc/lowering"
)

var updateDoctor = flag.Bool("update-doctor", false, "rewrite testdata/doctor/*.txt")

// The hosts polc doctor is tested on without being there: each is a
// hostprobe.Fake holding what that host's files say and what its trials
// answer (bwrap's messages as bubblewrap 0.8 prints them).
var (
	bwrap08       = &hostprobe.Bwrap{Path: "/usr/bin/bwrap", Version: "bubblewrap 0.8.0"}
	nativeVersion = "Linux version 6.8.0-45-generic (buildd@lcy02-amd64-115) (gcc 13.2.0) #45-Ubuntu SMP PREEMPT_DYNAMIC"
	noPermsBwrap  = "bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces.\n"
	filtered      = "Name:\tpolc\nSeccomp:\t2\nSeccomp_filters:\t1\n"
	unfiltered    = "Name:\tpolc\nSeccomp:\t0\nSeccomp_filters:\t0\n"
)

func doctorHosts() map[string]*hostprobe.Fake {
	native := func() *hostprobe.Fake {
		return &hostprobe.Fake{
			Files: map[string]string{
				"/proc/version":                      nativeVersion,
				"/proc/self/status":                  unfiltered,
				"/proc/sys/user/max_user_namespaces": "63936",
			},
			Env:      map[string]string{},
			Bwrap:    bwrap08,
			Landlock: 4,
		}
	}
	hosts := map[string]*hostprobe.Fake{}

	hosts["native"] = native()

	h := native()
	h.Files["/proc/version"] = "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) #1237-Microsoft Sat Sep 11 14:32:00 PST 2021"
	h.Env["WSL_DISTRO_NAME"] = "Ubuntu"
	h.Landlock = 0
	h.UserNSErr, h.SandboxErr, h.SandboxStderr = syscall.EINVAL, syscall.EINVAL, "bwrap: Creating new namespace failed: Invalid argument\n"
	hosts["wsl1"] = h

	h = native()
	h.Files["/proc/version"] = "Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0, GNU ld (GNU Binutils) 2.37) #1 SMP Tue Nov 5 00:21:55 UTC 2024"
	h.Files["/run/WSL/2_interop"] = ""
	h.Files["/mnt/wslg/PulseServer"] = ""
	h.Env["WSL_DISTRO_NAME"] = "Ubuntu"
	hosts["wsl2"] = h

	// Docker's default seccomp profile: unshare and clone(CLONE_NEWUSER)
	// answer EPERM to a process without CAP_SYS_ADMIN.
	h = native()
	h.Files["/.dockerenv"] = ""
	inContainer(h)
	h.Files["/proc/self/status"] = filtered
	h.UserNSErr, h.SandboxErr, h.SandboxStderr = syscall.EPERM, errExit1, noPermsBwrap
	hosts["docker-default-seccomp"] = h

	// A Docker container run with a seccomp profile that allows user
	// namespaces, but with the default masked /proc paths.
	h = native()
	h.Files["/.dockerenv"] = ""
	inContainer(h)
	h.SandboxErr, h.SandboxStderr = errExit1, "bwrap: Can't mount proc on /newroot/proc: Operation not permitted\n"
	hosts["docker-masked-proc"] = h

	h = native()
	h.Files["/run/.containerenv"] = ""
	inContainer(h)
	h.Files["/proc/self/status"] = filtered
	h.UserNSErr, h.SandboxErr, h.SandboxStderr = syscall.EPERM, errExit1, noPermsBwrap
	hosts["podman-default-seccomp"] = h

	h = native()
	h.Env["KUBERNETES_SERVICE_HOST"] = "10.96.0.1"
	inContainer(h)
	h.Files["/proc/self/status"] = filtered
	h.UserNSErr, h.SandboxErr, h.SandboxStderr = syscall.EPERM, errExit1, noPermsBwrap
	hosts["kubernetes"] = h

	// A devcontainer whose runArgs allow user namespaces (as the Codex
	// devcontainer's bubblewrap seccomp profile does).
	h = native()
	h.Files["/.dockerenv"] = ""
	inContainer(h)
	h.Env["REMOTE_CONTAINERS"] = "true"
	hosts["devcontainer"] = h

	// Ubuntu 24.04: the namespace is created, without capabilities.
	h = native()
	h.Files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1"
	h.SandboxErr, h.SandboxStderr = errExit1, "bwrap: setting up uid map: Permission denied\n"
	hosts["ubuntu-apparmor"] = h

	h = native()
	h.Files["/proc/sys/kernel/unprivileged_userns_clone"] = "0"
	h.UserNSErr, h.SandboxErr, h.SandboxStderr = syscall.EPERM, errExit1, noPermsBwrap
	hosts["debian-userns-off"] = h

	// The same host with bwrap installed setuid root: it needs no user
	// namespace, so the profile can be enforced.
	h = native()
	h.Files["/proc/sys/kernel/unprivileged_userns_clone"] = "0"
	h.Bwrap = &hostprobe.Bwrap{Path: "/usr/bin/bwrap", Version: "bubblewrap 0.8.0", Setuid: true}
	h.UserNSErr = syscall.EPERM
	hosts["debian-setuid-bwrap"] = h

	h = native()
	h.Files["/proc/sys/user/max_user_namespaces"] = "0"
	h.UserNSErr, h.SandboxErr, h.SandboxStderr = syscall.ENOSPC, errExit1, "bwrap: Creating new namespace failed: No space left on device\n"
	hosts["userns-max-zero"] = h

	// polc run inside bwrap --disable-userns.
	h = native()
	h.Files["/proc/sys/user/max_user_namespaces"] = "2147483647"
	h.UserNSErr, h.SandboxErr = syscall.ENOSPC, errExit1
	h.SandboxStderr = "bwrap: Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)\n"
	hosts["nested-bwrap"] = h

	h = native()
	h.Bwrap = nil
	hosts["no-bwrap"] = h

	h = native()
	h.SeccompErr = syscall.EINVAL
	h.FilterErr, h.FilterStderr = errExit1, "bwrap: prctl(PR_SET_SECCOMP): Invalid argument\n"
	hosts["no-seccomp"] = h
	return hosts
}

// A container's network (loopback and eth0) and mounts as Docker makes
// them: a writable overlay root, the project bind-mounted, /proc, /dev
// and /sys, and the writable resolv.conf, hostname and hosts files.
const (
	containerNetDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0:    5046      41    0    0    0     0          0         0      806       9    0    0    0     0       0          0
`
	containerMounts = `600 500 0:50 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A
601 600 0:53 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
602 600 0:54 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
603 602 0:55 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666
604 600 0:56 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
605 602 0:52 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k
606 600 8:1 /home/me/src/app /workspaces/app rw,relatime - ext4 /dev/sda1 rw
607 600 8:1 /var/lib/docker/containers/c/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw
608 600 8:1 /var/lib/docker/containers/c/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw
609 600 8:1 /var/lib/docker/containers/c/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw
`
)

func inContainer(h *hostprobe.Fake) {
	h.Files["/proc/net/dev"] = containerNetDev
	h.Files["/proc/self/mountinfo"] = containerMounts
}

// TestDoctorContainerIsolation: a container run without a network and
// with a read-only root (no volumes, no runtime socket) already gives
// what :read-only asks (POL244, with what -P :danger-full-access gives
// up); one with a network, a writable root or the Docker socket does
// not, and the row says why.
func TestDoctorContainerIsolation(t *testing.T) {
	sb := compiledSandbox(t, ":read-only", false)
	offline := strings.Join(strings.Split(containerNetDev, "\n")[:3], "\n") + "\n"
	readOnly := "600 500 0:50 / / ro,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A\n" +
		"601 600 0:53 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n" +
		"605 602 0:52 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k\n"
	for _, c := range []struct {
		name, netdev, mounts string
		sock                 bool
		want                 string
	}{
		{"gives", offline, readOnly, false, "podman (/run/.containerenv) already gives the isolation :read-only asks for on its own: no network beyond loopback where the profile has none, nothing the profile hides, nothing writable that it keeps read-only [POL244]\n"},
		{"network", containerNetDev, readOnly, false, "does not give the isolation :read-only asks for on its own: it has a network (eth0) and the profile's is off; the profile still needs its sandbox\n"},
		{"writable", offline, containerMounts, false, "does not give the isolation :read-only asks for on its own: it lets the command write /, /etc/hostname, /etc/hosts, /etc/resolv.conf, /workspaces/app, which the profile keeps (in part) read-only; the profile still needs its sandbox\n"},
		{"docker.sock", offline, readOnly, true, "does not give the isolation :read-only asks for on its own: /var/run/docker.sock is reachable, which the profile's network keeps out of reach; the profile still needs its sandbox\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := doctorHosts()["podman-default-seccomp"]
			h.Files["/proc/net/dev"], h.Files["/proc/self/mountinfo"] = c.netdev, c.mounts
			if c.sock {
				h.Files["/var/run/docker.sock"] = ""
			}
			r := hostprobe.Inspect(h, sb)
			text := r.Text()
			if !strings.Contains(text, c.want) {
				t.Errorf("report lacks %q:\n%s", c.want, text)
			}
			if c.name == "gives" && !strings.Contains(text, "fix: if the container is your boundary, polc exec -P :danger-full-access") {
				t.Errorf("no fix for the container that is the boundary:\n%s", text)
			}
		})
	}
}

// errExit1 stands for bwrap's exit status 1.
var errExit1 = &fakeExit{}

type fakeExit struct{}

func (*fakeExit) Error() string { return "exit status 1" }

// workspaceSandbox is what :workspace asks of bubblewrap, compiled in
// an empty project with no user config.
func workspaceSandbox(t *testing.T) hostprobe.Sandbox {
	t.Helper()
	return compiledSandbox(t, ":workspace", false)
}

// compiledSandbox is what a profile asks of the host, compiled in an
// empty project with no user config; landlock is --landlock.
func compiledSandbox(t *testing.T, profile string, landlock bool) hostprobe.Sandbox {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("CODEX_HOME", filepath.Join(dir, "home", ".codex"))
	os.MkdirAll(filepath.Join(dir, "home", ".codex"), 0o755) // polc refuses a CODEX_HOME that names nothing
	os.MkdirAll(filepath.Join(dir, "proj"), 0o755)
	res := compiler.Compile(compiler.Options{Dir: filepath.Join(dir, "proj"), Profile: profile, ForExec: true, NoExpand: true, Landlock: landlock})
	if res.Diags.HasErrors() {
		t.Fatalf("compile: %v", res.Diags.Errors())
	}
	r := lowering.LowerAll(res.Policy, []ir.Platform{ir.Linux}, backends.Options{})[0]
	if d := r.Refusal(); d != nil {
		t.Fatalf("lower: %v", d)
	}
	sb, err := sandboxOf(res.Policy.Profile, r.Output.Artifact.(*bwrap.Artifact))
	if err != nil {
		t.Fatal(err)
	}
	sb.Landlock = landlockFit(res)
	sb.Needs = needsOf(res)
	return sb
}

// TestDoctorGolden: polc doctor's report on each simulated host, and
// its exit status (0 only where :workspace can be enforced).
func TestDoctorGolden(t *testing.T) {
	sb := workspaceSandbox(t)
	wantEnforceable := map[string]bool{"native": true, "wsl2": true, "devcontainer": true, "debian-setuid-bwrap": true}
	for name, host := range doctorHosts() {
		t.Run(name, func(t *testing.T) {
			r := hostprobe.Inspect(host, sb)
			var text, js bytes.Buffer
			if err := writeDoctor(&text, r, "text"); err != nil {
				t.Fatal(err)
			}
			if err := writeDoctor(&js, r, "json"); err != nil {
				t.Fatal(err)
			}
			got := text.String() + "\n-- json --\n" + js.String()
			file := filepath.Join("testdata", "doctor", name+".txt")
			if *updateDoctor {
				os.MkdirAll(filepath.Dir(file), 0o755)
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/polc -run TestDoctorGolden -update-doctor)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs (run with -update-doctor after an intended change):\n--- got\n%s\n--- want\n%s", file, got, want)
			}
			if r.Enforceable != wantEnforceable[name] {
				t.Errorf("enforceable = %v, want %v", r.Enforceable, wantEnforceable[name])
			}
			if name == "wsl1" && len(host.Tried) > 0 {
				t.Errorf("WSL1: bwrap was tried (%v); polc refuses before trying", host.Tried)
			}
		})
	}
}

// TestDoctorLandlock: where bubblewrap is missing, :read-only (which
// Landlock enforces exactly) is offered --landlock; asked for, Landlock
// decides the verdict, and a kernel whose ABI lacks what the profile
// needs is refused with POL241. The reports are goldens.
func TestDoctorLandlock(t *testing.T) {
	for _, c := range []struct {
		name      string
		asked     bool
		abi       int
		enforce   bool
		code, fix string
	}{
		{"landlock-offered", false, 4, false, "POL070", "polc exec --landlock"},
		{"landlock-asked", true, 4, true, "", ""},
		{"landlock-abi-too-old", true, 2, false, "POL241", "newer kernel"},
		{"landlock-missing", true, 0, false, "POL241", "lsm="},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb := compiledSandbox(t, ":read-only", c.asked)
			host := doctorHosts()["no-bwrap"]
			host.Landlock = c.abi
			r := hostprobe.Inspect(host, sb)
			if r.Enforceable != c.enforce {
				t.Fatalf("enforceable %v, want %v: %+v", r.Enforceable, c.enforce, r.Finding)
			}
			if f := hostprobe.Diagnose(doctorHosts()["no-bwrap"], sb); c.asked && c.abi == 4 && f != nil {
				t.Errorf("exec's diagnosis refuses: %v", f)
			}
			if c.code != "" {
				last := r.Rows[len(r.Rows)-1]
				if string(last.Code) != c.code || !strings.Contains(last.Fix, c.fix) {
					t.Errorf("profile row %+v, want code %s and a fix naming %q", last, c.code, c.fix)
				}
			}
			var text bytes.Buffer
			writeDoctor(&text, r, "text")
			file := filepath.Join("testdata", "doctor", c.name+".txt")
			if *updateDoctor {
				os.WriteFile(file, text.Bytes(), 0o644)
			}
			if want, err := os.ReadFile(file); err != nil || string(want) != text.String() {
				t.Errorf("%s differs (run with -update-doctor after an intended change): %v\n--- got\n%s\n--- want\n%s", file, err, text.String(), want)
			}
		})
	}
}

// TestDoctorTrialIsTheProfiles: the trial sandbox has the profile's
// namespaces, its /proc and /dev, and (second) its seccomp filter.
func TestDoctorTrialIsTheProfiles(t *testing.T) {
	sb := workspaceSandbox(t)
	host := doctorHosts()["native"]
	if r := hostprobe.Inspect(host, sb); !r.Enforceable {
		t.Fatalf("native host: %v", r.Finding)
	}
	if len(host.Tried) != 2 {
		t.Fatalf("tried %d sandboxes, want 2 (namespaces, then with the filter)", len(host.Tried))
	}
	got := strings.Join(host.Tried[0], " ")
	for _, want := range []string{"--unshare-user", "--unshare-pid", "--unshare-net", "--cap-drop ALL", "--ro-bind / /", "--proc /proc", "--dev /dev"} {
		if !strings.Contains(got, want) {
			t.Errorf("trial %q lacks %q", got, want)
		}
	}
	if sb.Filter == nil {
		t.Error("the :workspace sandbox has no seccomp filter to try")
	}
}

// TestExecDiagnosisLineIsDoctors: polc exec's line for a host is the
// cause, the code and the fix doctor gives, on one line.
func TestExecDiagnosisLineIsDoctors(t *testing.T) {
	sb := workspaceSandbox(t)
	for name, host := range doctorHosts() {
		f := hostprobe.Diagnose(host, sb)
		r := hostprobe.Inspect(doctorHosts()[name], sb)
		if (f == nil) != r.Enforceable {
			t.Errorf("%s: Diagnose %v, doctor enforceable %v", name, f, r.Enforceable)
			continue
		}
		if f == nil {
			continue
		}
		line := f.String()
		if strings.Contains(line, "\n") || !strings.Contains(line, "["+string(f.Code)+"]; fix: ") {
			t.Errorf("%s: exec line %q is not one line with code and fix", name, line)
		}
		if *r.Finding != *f {
			t.Errorf("%s: doctor says %v, exec %v", name, r.Finding, f)
		}
	}
}

// TestDoctorCLI: usage errors exit 2 with one line; on this machine
// (which runs the sandbox) doctor exits 0 and its JSON says so.
func TestDoctorCLI(t *testing.T) {
	for _, args := range [][]string{{"doctor", "extra"}, {"doctor", "--format", "xml"}, {"doctor", "--nope"}} {
		out, errs, code := polcChild(t, args...)
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "polc: ") {
			t.Errorf("polc %s: exit %d, stdout %q, stderr %q; want exit 2 and one line", strings.Join(args, " "), code, out, errs)
		}
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("no bwrap here")
	}
	if _, err := os.Stat("/etc/codex/requirements.toml"); err == nil {
		t.Skip("this machine has managed requirements in /etc/codex; they could refuse :workspace")
	}
	out, errs, code := polcChild(t, "doctor", "-P", ":workspace", "--format", "json")
	var r hostprobe.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || !r.Enforceable || r.Profile != ":workspace" || len(r.Rows) < 7 {
		t.Fatalf("exit %d, %v: %+v\n%s%s", code, err, r, out, errs)
	}
}
