package hostprobe

import (
	"strings"
	"syscall"
	"testing"

	"polc/diag"
)

func TestPlatform(t *testing.T) {
	for _, c := range []struct{ version, kind, release string }{
		{"Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) #1237-Microsoft Sat Sep 11 14:32:00 PST 2021", WSL1, "4.4.0-19041-Microsoft"},
		{"Linux version 4.4.0-22621-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) #2506-Microsoft", WSL1, "4.4.0-22621-Microsoft"},
		{"Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0) #1 SMP", WSL2, "5.15.167.4-microsoft-standard-WSL2"},
		{"Linux version 4.19.128-microsoft-standard (oe-user@oe-host) (gcc version 8.2.0 (GCC)) #1 SMP", WSL2, "4.19.128-microsoft-standard"},
		{"Linux version 6.8.0-45-generic (buildd@lcy02-amd64-115) (gcc 13.2.0) #45-Ubuntu SMP", Native, "6.8.0-45-generic"},
		{"", Native, ""},
	} {
		f := &Fake{Files: map[string]string{}}
		if c.version != "" {
			f.Files["/proc/version"] = c.version + "\n"
		}
		kind, release := Platform(f)
		if kind != c.kind || release != c.release {
			t.Errorf("%q: %s %q, want %s %q", c.version, kind, release, c.kind, c.release)
		}
	}
}

func TestContainer(t *testing.T) {
	for _, c := range []struct {
		name       string
		files, env map[string]string
		rt, marker string
	}{
		{"none", nil, nil, "", ""},
		{"docker", map[string]string{"/.dockerenv": ""}, nil, "docker", "/.dockerenv"},
		{"podman", map[string]string{"/run/.containerenv": ""}, nil, "podman", "/run/.containerenv"},
		{"kubernetes env", nil, map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "kubernetes", "KUBERNETES_SERVICE_HOST"},
		{"kubernetes token", map[string]string{"/var/run/secrets/kubernetes.io/serviceaccount/token": "x"}, nil, "kubernetes", "/var/run/secrets/kubernetes.io/serviceaccount"},
		{"devcontainer wins over docker", map[string]string{"/.dockerenv": ""}, map[string]string{"REMOTE_CONTAINERS": "true"}, "devcontainer", "REMOTE_CONTAINERS=true"},
		{"codespaces", nil, map[string]string{"CODESPACES": "true"}, "devcontainer", "CODESPACES=true"},
		{"systemd-nspawn", nil, map[string]string{"container": "systemd-nspawn"}, "systemd-nspawn", "container=systemd-nspawn"},
		{"cgroup", map[string]string{"/proc/1/cgroup": "0::/kubepods/besteffort/pod1\n"}, nil, "kubernetes", "/proc/1/cgroup"},
		{"host cgroup", map[string]string{"/proc/1/cgroup": "0::/init.scope\n"}, nil, "", ""},
	} {
		f := &Fake{Files: c.files, Env: c.env}
		if rt, marker := Container(f); rt != c.rt || marker != c.marker {
			t.Errorf("%s: %q %q, want %q %q", c.name, rt, marker, c.rt, c.marker)
		}
	}
}

func TestSeccompFilters(t *testing.T) {
	for status, want := range map[string]int{
		"Name:\tx\nSeccomp:\t0\nSeccomp_filters:\t0\n": 0,
		"Name:\tx\nSeccomp:\t2\nSeccomp_filters:\t3\n": 3,
		"Name:\tx\nSeccomp:\t2\n":                      1, // before Linux 5.9
		"":                                             0,
	} {
		if got := seccompFilters(&Fake{Files: map[string]string{"/proc/self/status": status}}); got != want {
			t.Errorf("%q: %d, want %d", status, got, want)
		}
	}
}

// TestUserNSFinding: each way a user namespace is refused gets its own
// cause and code, judged by errno and the host's knobs.
func TestUserNSFinding(t *testing.T) {
	filtered := "Seccomp:\t2\nSeccomp_filters:\t1\n"
	for _, c := range []struct {
		name  string
		root  bool
		files map[string]string
		err   error
		code  diag.Code
		says  string
	}{
		{"max zero", false, map[string]string{"/proc/sys/user/max_user_namespaces": "0"}, syscall.ENOSPC, diag.LinuxNoUserNS, "user.max_user_namespaces is 0"},
		{"nested", false, map[string]string{"/proc/sys/user/max_user_namespaces": "2147483647"}, syscall.ENOSPC, diag.HostNestedUserNS, "--disable-userns"},
		{"debian sysctl", false, map[string]string{"/proc/sys/kernel/unprivileged_userns_clone": "0"}, syscall.EPERM, diag.LinuxNoUserNS, "unprivileged_userns_clone is 0"},
		{"debian sysctl does not bind root", true, map[string]string{"/proc/sys/kernel/unprivileged_userns_clone": "0"}, syscall.EPERM, diag.LinuxNoUserNS, "the kernel refused polc a user namespace"},
		{"apparmor", false, map[string]string{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1"}, syscall.EACCES, diag.LinuxNoUserNS, "AppArmor"},
		{"seccomp on the host", true, map[string]string{"/proc/self/status": filtered}, syscall.EPERM, diag.HostSeccompBlocksUserNS, "a seccomp filter polc was started under"},
		{"seccomp in docker", false, map[string]string{"/proc/self/status": filtered, "/.dockerenv": ""}, syscall.EPERM, diag.HostSeccompBlocksUserNS, "the docker container's seccomp profile"},
		{"no userns kernel", false, nil, syscall.EINVAL, diag.LinuxNoUserNS, "CONFIG_USER_NS"},
	} {
		f := userNSFinding(&Fake{Files: c.files, Root: c.root}, c.err)
		if f == nil || f.Code != c.code || !strings.Contains(f.String(), c.says) {
			t.Errorf("%s: %v, want %s saying %q", c.name, f, c.code, c.says)
		}
	}
	if f := userNSFinding(&Fake{}, ErrNotLinux); f != nil {
		t.Errorf("a trial not tried is no finding: %v", f)
	}
}

// TestUnrestrictedNeedsNothing: a profile without a sandbox can run on
// any host, WSL1 and bwrap-less ones included, and nothing is tried.
func TestUnrestrictedNeedsNothing(t *testing.T) {
	f := &Fake{Files: map[string]string{"/proc/version": "Linux version 4.4.0-19041-Microsoft"}}
	if d := Diagnose(f, Sandbox{Profile: ":danger-full-access", Unrestricted: true}); d != nil || len(f.Tried) > 0 {
		t.Fatalf("finding %v, tried %v", d, f.Tried)
	}
}
