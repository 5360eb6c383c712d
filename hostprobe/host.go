package hostprobe

import (
	"strings"

	"polc/ir"
)

// Platform kinds: native Linux is reported by its platform's name.
const (
	Native = string(ir.Linux)
	WSL1   = "wsl1"
	WSL2   = "wsl2"
)

// Platform tells native Linux, WSL1 and WSL2 apart from the kernel's
// version string: WSL1 emulates Linux on the NT kernel and says
// "4.4.0-NNNNN-Microsoft"; WSL2 runs a real kernel whose release says
// "microsoft-standard" ("-microsoft-standard-WSL2" since 5.10).
func Platform(p Probe) (kind, version string) {
	b, _ := p.ReadFile("/proc/version")
	version = strings.TrimSpace(string(b))
	release := version
	if f := strings.Fields(version); len(f) >= 3 && f[0] == "Linux" && f[1] == "version" {
		release = f[2]
	}
	switch {
	case strings.Contains(release, "-Microsoft"):
		return WSL1, release
	case strings.Contains(strings.ToLower(release), "microsoft"), strings.Contains(release, "WSL2"):
		return WSL2, release
	}
	return Native, release
}

// Container is the container runtime polc runs in, from the usual
// markers, and the marker that said so; "" when none was seen.
func Container(p Probe) (runtime, marker string) {
	switch {
	case p.Getenv("REMOTE_CONTAINERS") == "true" || p.Getenv("CODESPACES") == "true" || p.Getenv("DEVCONTAINER") == "true":
		for _, k := range []string{"REMOTE_CONTAINERS", "CODESPACES", "DEVCONTAINER"} {
			if p.Getenv(k) == "true" {
				return "devcontainer", k + "=true"
			}
		}
	case p.Getenv("KUBERNETES_SERVICE_HOST") != "":
		return "kubernetes", "KUBERNETES_SERVICE_HOST"
	case p.Exists("/var/run/secrets/kubernetes.io/serviceaccount"):
		return "kubernetes", "/var/run/secrets/kubernetes.io/serviceaccount"
	case p.Exists("/run/.containerenv"):
		return "podman", "/run/.containerenv"
	case p.Exists("/.dockerenv"):
		return "docker", "/.dockerenv"
	}
	if c := p.Getenv("container"); c != "" {
		return c, "container=" + c
	}
	if b, err := p.ReadFile("/proc/1/cgroup"); err == nil {
		s := string(b)
		for _, m := range []struct{ key, name string }{
			{"kubepods", "kubernetes"}, {"libpod", "podman"}, {"docker", "docker"}, {"containerd", "containerd"}, {"lxc", "lxc"},
		} {
			if strings.Contains(s, m.key) {
				return m.name, "/proc/1/cgroup"
			}
		}
	}
	return "", ""
}

// sysctl reads a /proc/sys value, "" when it is missing.
func sysctl(p Probe, name string) string {
	b, err := p.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// seccompFilters is how many seccomp filters polc itself runs under
// (the Seccomp_filters line of /proc/self/status; with an older kernel,
// 1 when Seccomp says filter mode).
func seccompFilters(p Probe) int {
	b, _ := p.ReadFile("/proc/self/status")
	mode, n := "", -1
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Seccomp":
			mode = v
		case "Seccomp_filters":
			n = 0
			for _, c := range v {
				if c < '0' || c > '9' {
					break
				}
				n = n*10 + int(c-'0')
			}
		}
	}
	if n >= 0 {
		return n
	}
	if mode == "2" {
		return 1
	}
	return 0
}

// wslInterop lists the ways into Windows a WSL2 host offers a sandboxed
// command, as polc exec masks them: the interop sockets under /run/WSL
// (which the WSLInterop binfmt entry's /init uses to start Windows
// programs) and WSLg's sockets under /mnt/wslg.
func wslInterop(p Probe) []string {
	var out []string
	for _, d := range InteropPaths {
		if p.Exists(d) {
			out = append(out, d)
		}
	}
	return out
}

// InteropPaths are the WSL2 directories polc exec hides from every
// sandbox whose profile does not grant them by an exact rule: the
// interop sockets and WSLg's X11, Wayland and PulseAudio sockets.
var InteropPaths = []string{"/run/WSL", "/mnt/wslg"}
