package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dockerConfig is the profile TestDevcontainerInDocker builds the
// container for: the project writable but its .env unreadable, and the
// network through polc's proxy to one allowed name. allow_local_binding
// because the test hosts live on a documentation network, which polc
// counts as local (an answer with such an address is otherwise dropped
// as DNS rebinding).
const dockerConfig = `default_permissions = "dev"

[permissions.dev.filesystem]
":minimal" = "read"
":workspace_roots" = { "." = "write", "**/*.env" = "deny" }
glob_scan_max_depth = 3

[permissions.dev.network]
enabled = true
allow_local_binding = true

[permissions.dev.network.domains]
"allowed.example" = "allow"
`

// TestDevcontainerInDocker runs what polc build --target devcontainer
// writes in real Docker: a container started with the generated
// devcontainer.json's runArgs (seccomp profile, capabilities, unmasked
// /proc), the generated post-start command applying the firewall, and
// polc exec as the container's unprivileged user. Test hosts are
// containers on a Docker network the test creates on a documentation
// subnet no host interface or route uses; nothing else is contacted.
// Without a Docker daemon it is skipped, unless POLC_TEST_DOCKER=1 (as
// in CI) makes that a failure.
func TestDevcontainerInDocker(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("drives Docker as root")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		if os.Getenv("POLC_TEST_DOCKER") == "1" {
			t.Fatalf("POLC_TEST_DOCKER=1 but Docker does not answer: %v\n%s", err, out)
		}
		t.Skipf("no Docker daemon (POLC_TEST_DOCKER=1 requires one): %v", err)
	}
	subnet := freeDocSubnet(t)
	id := fmt.Sprintf("polc-e2e-%d", os.Getpid())
	d := &docker{t: t}
	t.Cleanup(d.cleanup)

	// The project and its .devcontainer/, as a developer would build it.
	root := t.TempDir()
	codexHome, proj := filepath.Join(root, "codexhome"), filepath.Join(root, "proj")
	for _, dir := range []string{codexHome, filepath.Join(proj, ".git")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(codexHome, "config.toml"), dockerConfig)
	writeFile(t, filepath.Join(proj, "ok.txt"), "ok\n")
	writeFile(t, filepath.Join(proj, ".env"), "SECRET=1\n")
	build := exec.Command(polcBin, "build", "--target", "devcontainer", "-C", proj)
	build.Env = append(os.Environ(), "CODEX_HOME="+codexHome)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("polc build --target devcontainer: %v\n%s", err, out)
	}
	dev := filepath.Join(proj, ".devcontainer")
	var cfg struct {
		RunArgs          []string `json:"runArgs"`
		PostStartCommand string   `json:"postStartCommand"`
	}
	b, err := os.ReadFile(filepath.Join(dev, "devcontainer.json"))
	if err != nil || json.Unmarshal(b, &cfg) != nil {
		t.Fatalf("devcontainer.json: %v\n%s", err, b)
	}
	var runArgs, withoutSeccomp []string
	for _, a := range cfg.RunArgs {
		a = strings.ReplaceAll(a, "${localWorkspaceFolder}", proj)
		runArgs = append(runArgs, a)
		if !strings.HasPrefix(a, "--security-opt=seccomp=") {
			withoutSeccomp = append(withoutSeccomp, a)
		}
	}
	if len(withoutSeccomp) == len(runArgs) {
		t.Fatalf("runArgs name no seccomp profile: %q", cfg.RunArgs)
	}
	// The post-start command, minus nohup/sudo (the test's image has no
	// sudo; the command is the one sudoers allows).
	m := regexp.MustCompile(`sudo -n -b (.*?) >`).FindStringSubmatch(cfg.PostStartCommand)
	if m == nil {
		t.Fatalf("postStartCommand: %q", cfg.PostStartCommand)
	}
	apply := m[1]

	// An image with what the generated Dockerfile installs: polc (the
	// copy build placed in .devcontainer/), bubblewrap, the firewall
	// artifact where the Dockerfile puts it, and a shell; plus the probe.
	probe := filepath.Join(root, "dockerprobe")
	gobuild := exec.Command("go", "build", "-o", probe, "./testdata/dockerprobe")
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	image := id + ":img"
	d.importImage(image, map[string]string{
		"/usr/local/bin/polc":          filepath.Join(dev, "polc"),
		"/usr/local/bin/probe":         probe,
		"/etc/polc/polc-firewall.json": filepath.Join(dev, "polc-firewall.json"),
		"/usr/bin/bwrap":               "/usr/bin/bwrap",
		"/bin/sh":                      "/bin/sh",
		"/bin/cat":                     "/bin/cat",
		"/bin/sleep":                   "/bin/sleep",
	})

	netName := id + "-net"
	d.run("network", "create", "--subnet", subnet.String(), netName)
	d.rm = append(d.rm, []string{"network", "rm", netName})
	// Two test hosts: one the profile allows, one it does not.
	for name, alias := range map[string]string{"web": "allowed.example", "web2": "other.example"} {
		d.run("run", "-d", "--name", id+"-"+name, "--network", netName, "--network-alias", alias, image, "/usr/local/bin/probe", "serve", ":80")
		d.rm = append(d.rm, []string{"rm", "-f", id + "-" + name})
	}
	otherIP := strings.TrimSpace(d.run("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", id+"-web2"))
	mounts := []string{"-v", proj + ":/work", "-v", codexHome + ":/home/agent/.codex:ro", "-e", "HOME=/home/agent"}
	agentExec := func(ctr string, argv ...string) (string, error) {
		return d.try(append([]string{"exec", "-u", "1000", "-w", "/work", "-e", "HOME=/home/agent", ctr, "/usr/local/bin/polc", "exec", "--"}, argv...)...)
	}

	// Control: under Docker's default seccomp profile bubblewrap cannot
	// build polc's sandbox; the generated profile is what makes it work.
	plain := id + "-plain"
	d.run(append(append(append([]string{"run", "-d", "--name", plain, "--network", netName}, withoutSeccomp...), mounts...), image, "/bin/sleep", "300")...)
	d.rm = append(d.rm, []string{"rm", "-f", plain})
	if out, err := agentExec(plain, "/bin/cat", "ok.txt"); err == nil {
		t.Errorf("polc exec ran under Docker's default seccomp profile; the generated profile would not be needed:\n%s", out)
	}

	agent := id + "-agent"
	d.run(append(append(append([]string{"run", "-d", "--name", agent, "--network", netName}, runArgs...), mounts...), image, "/bin/sleep", "300")...)
	d.rm = append(d.rm, []string{"rm", "-f", agent})
	probeIn := func(args ...string) (string, error) {
		return d.try(append([]string{"exec", agent, "/usr/local/bin/probe"}, args...)...)
	}
	// Before the firewall the container reaches both hosts.
	if out, err := probeIn("dial", otherIP+":80"); err != nil {
		t.Fatalf("before the firewall the container cannot reach the test host: %v %s", err, out)
	}
	// Docker's own resolver answers DNS over TCP too.
	if out, err := probeIn("dial", "127.0.0.11:53"); err != nil {
		t.Fatalf("before the firewall Docker's resolver does not take TCP: %v %s", err, out)
	}
	d.run("exec", "-d", agent, "/bin/sh", "-c", apply+" >/tmp/polc-firewall.log 2>&1")
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := d.try("exec", agent, "/usr/local/bin/polc", "firewall", "status")
		if strings.Contains(out, "table inet polc") {
			break
		}
		if time.Now().After(deadline) {
			log, _ := d.try("exec", agent, "/bin/cat", "/tmp/polc-firewall.log")
			t.Fatalf("the firewall did not come up: %s\n%s", out, log)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The container's edge: the allowed name resolves (through polc's
	// forwarder) and connects; the other name gets no answer, and its
	// address stays closed even when dialled directly.
	if out, err := probeIn("get", "http://allowed.example/"); err != nil || !strings.HasPrefix(out, "200 hello") {
		t.Errorf("allowed name from the container: %v %s", err, out)
	}
	if out, err := probeIn("resolve", "other.example"); err == nil {
		t.Errorf("an unlisted name resolved: %s", out)
	}
	if out, err := probeIn("dial", otherIP+":80"); err == nil {
		t.Errorf("an address no allowed name gave is reachable: %s", out)
	}
	// DNS over TCP straight to a resolver other than polc's forwarder
	// (here Docker's, behind its NAT rule) is dropped.
	if out, err := probeIn("dial", "127.0.0.11:53"); err == nil {
		t.Errorf("direct DNS over TCP to Docker's resolver got through: %s", out)
	}
	if out := d.run("exec", agent, "/usr/local/bin/polc", "firewall", "status"); !strings.Contains(out, "open ") {
		t.Errorf("firewall status lists no open address after an allowed lookup:\n%s", out)
	}

	// polc's inner sandbox, as the container's unprivileged user.
	if out, err := agentExec(agent, "/bin/cat", "ok.txt"); err != nil || out != "ok\n" {
		t.Errorf("polc exec cat ok.txt: %v %q", err, out)
	}
	if out, err := agentExec(agent, "/bin/cat", ".env"); err == nil || strings.Contains(out, "SECRET") {
		t.Errorf("polc exec read .env: %v %q", err, out)
	}
	if out, err := agentExec(agent, "/usr/local/bin/probe", "get", "http://allowed.example/"); err != nil || !strings.HasPrefix(out, "200 hello") {
		t.Errorf("polc exec, allowed name through the proxy: %v %s", err, out)
	}
	if out, _ := agentExec(agent, "/usr/local/bin/probe", "get", "http://other.example/"); !regexp.MustCompile(`(?m)^403 `).MatchString(out) || !strings.Contains(out, "not_allowed") {
		t.Errorf("polc exec, unlisted name: want the proxy's 403, got %s", out)
	}
}

// freeDocSubnet is a documentation /24 that no host interface address or
// non-default route covers, so the test network cannot shadow the
// host's own network.
func freeDocSubnet(t *testing.T) netip.Prefix {
	t.Helper()
	routes, _ := exec.Command("ip", "-4", "route", "show").Output()
	var used []netip.Prefix
	for _, l := range strings.Split(string(routes), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] != "default" {
			if p, err := netip.ParsePrefix(f[0]); err == nil {
				used = append(used, p)
			} else if a, err := netip.ParseAddr(f[0]); err == nil {
				used = append(used, netip.PrefixFrom(a, 32))
			}
		}
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			used = append(used, p.Masked())
		}
	}
	for _, c := range []string{"198.51.100.0/24", "203.0.113.0/24"} {
		p := netip.MustParsePrefix(c)
		free := true
		for _, u := range used {
			free = free && !u.Overlaps(p)
		}
		if free {
			return p
		}
	}
	t.Skipf("every documentation subnet is in use on this host: %v", used)
	return netip.Prefix{}
}

// docker runs docker commands for one test and undoes what they made.
type docker struct {
	t  *testing.T
	rm [][]string
}

func (d *docker) try(args ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.Command("docker", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (d *docker) run(args ...string) string {
	d.t.Helper()
	out, err := d.try(args...)
	if err != nil {
		d.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (d *docker) cleanup() {
	for i := len(d.rm) - 1; i >= 0; i-- {
		d.try(d.rm[i]...)
	}
}

// importImage makes an image from host files (path in image -> host
// file) and the shared libraries ldd lists for them, with an
// unprivileged user agent (uid 1000) — no registry needed.
func (d *docker) importImage(name string, files map[string]string) {
	d.t.Helper()
	root := d.t.TempDir()
	add := func(dst, src string) {
		b, err := os.ReadFile(src)
		if err != nil {
			d.t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(dst)), 0o755); err != nil {
			d.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dst), b, 0o755); err != nil {
			d.t.Fatal(err)
		}
	}
	for dst, src := range files {
		add(dst, src)
		out, _ := exec.Command("ldd", src).Output()
		for _, lib := range regexp.MustCompile(`(/\S+)`).FindAllString(string(out), -1) {
			if _, err := os.Stat(filepath.Join(root, lib)); err != nil {
				add(lib, lib)
			}
		}
	}
	for _, dir := range []string{"tmp", "proc", "dev", "sys", "work", "home/agent/.codex"} {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	os.Chown(filepath.Join(root, "home/agent"), 1000, 1000)
	writeFile(d.t, filepath.Join(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\nagent:x:1000:1000::/home/agent:/bin/sh\n")
	writeFile(d.t, filepath.Join(root, "etc/group"), "root:x:0:\nagent:x:1000:\n")
	tar := exec.Command("tar", "-C", root, "-c", ".")
	imp := exec.Command("docker", "import", "-", name)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		d.t.Fatal(err)
	}
	imp.Stdin = pipe
	var out bytes.Buffer
	imp.Stdout, imp.Stderr = &out, &out
	if err := tar.Start(); err != nil {
		d.t.Fatal(err)
	}
	if err := imp.Run(); err != nil {
		d.t.Fatalf("docker import: %v\n%s", err, out.String())
	}
	tar.Wait()
	d.rm = append(d.rm, []string{"rmi", "-f", name})
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
