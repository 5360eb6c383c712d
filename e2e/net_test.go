//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"polc/internal/conformance"
	"polc/internal/maskstage"
)

// The proxy-only network (issue 10) under real bubblewrap, as root and
// as an unprivileged user: what leaves goes through polc's proxy and
// nowhere else, each refusal is said, and nothing outlives polc.

// proxyConfig is a profile whose network is polc's proxy: the host's
// loopback address (where the harness's servers listen) allowed by an
// exact rule, denied.test denied, every other host not allowed.
func proxyConfig(mode string) string {
	return fmt.Sprintf(`default_permissions = "net"

[features]
network_proxy = true

[permissions.net]
extends = ":workspace"

[permissions.net.network]
enabled = true
mode = %q
domains = { "127.0.0.1" = "allow", "denied.test" = "deny", "*.allowed.test" = "allow" }
`, mode)
}

// proxyWorld is a world with proxyConfig, owned by u.
func proxyWorld(t *testing.T, u conformance.User, mode string) (*conformance.World, conformance.Servers) {
	t.Helper()
	w := seedWorld(t, proxyConfig(mode))
	u.Own(t, w.Root)
	return w, conformance.Serve(t)
}

// curlStatus is a shell line printing the HTTP status curl got for its
// arguments (000 when nothing answered) and the x-proxy-error header. The
// harness's servers listen on the host's 127.0.0.1, which NO_PROXY sends
// around the proxy (loopback in the sandbox is the sandbox's own): curl
// is told to use the proxy for every host, as it is for a real one.
func curlStatus(label string, args ...string) string {
	return fmt.Sprintf(`printf '%s %%s\n' "$(curl -s -m 8 --noproxy '' -o /dev/null -D - -w 'status=%%{http_code}' %s 2>/dev/null | tr -d '\r' | grep -i -e '^x-proxy-error' -e '^status=' | tr '\n' ' ')"`,
		label, strings.Join(args, " "))
}

func TestProxyNetwork(t *testing.T) {
	conformance.NeedSandbox(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	attacker := buildAttacker(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) { proxyNetwork(t, u, attacker) })
	}
}

func proxyNetwork(t *testing.T, u conformance.User, attacker string) {
	w, srv := proxyWorld(t, u, "full")
	bin := installAttacker(t, attacker, w)
	h := startHostSockets(t, w, u)
	logFile := filepath.Join(w.Root, "net.log")
	host := fmt.Sprintf("127.0.0.1:%d", srv.HTTP)
	script := strings.Join([]string{
		curlStatus("allowed", "http://"+host+"/"),
		curlStatus("tunnel", "-p", "http://"+host+"/"),
		curlStatus("denied", "http://denied.test/"),
		curlStatus("unlisted", "http://other.test/"),
		curlStatus("unlisted-tunnel", "https://other.test/"),
		// Around the proxy: straight to the host's loopback, which the
		// sandbox's own network namespace does not have.
		curlStatus("direct", "--noproxy", "'*'", "http://"+host+"/"),
		fmt.Sprintf(`if (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null; then echo "tcp ok"; else echo "tcp refused"; fi`, srv.TCP),
		bin + " connect " + h.tmpStream + " " + h.abstract,
		bin + " dgram " + h.dgram,
		bin + " pairs",
	}, "\n")
	r := polcExecWith(t, u, "", w, []string{"--net-log", logFile}, nil, "/bin/bash", "-c", script)
	want := []string{
		"allowed status=200 ",
		"tunnel status=200 ",
		"denied x-proxy-error: blocked-by-denylist status=403 ",
		"unlisted x-proxy-error: blocked-by-allowlist status=403 ",
		"unlisted-tunnel x-proxy-error: blocked-by-allowlist status=000 ", // the CONNECT's answer; no page
		"direct status=000 ",
		"tcp refused",
		"err EPERM connect " + h.tmpStream,
		"err EPERM connect " + h.abstract,
		"err EPERM dgram " + h.dgram,
		"ok pairs",
	}
	if got := trimLines(r.stdout); got != trimLines(strings.Join(want, "\n")) {
		t.Errorf("exit %d\ngot:\n%s\nwant:\n%s\nstderr: %s", r.code, r.stdout, strings.Join(want, "\n"), r.stderr)
	}
	if n, d := h.accepted.Load(), h.datagrams.Load(); n != 0 || d != 0 {
		t.Errorf("host Unix sockets reached: %d connections, %d datagrams", n, d)
	}
	// One line on stderr per refusal, naming the host, the reason and the
	// rule with its place in the config.
	for _, line := range []string{
		"polc: network: http GET denied.test:80: refused (denied)",
		"polc: network: http GET other.test:80: refused (not_allowed)",
		"polc: network: connect CONNECT other.test:443: refused (not_allowed)",
	} {
		if !strings.Contains(r.stderr, line) {
			t.Errorf("stderr lacks %q:\n%s", line, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, `deny "denied.test"`) || !strings.Contains(r.stderr, "config.toml:") {
		t.Errorf("the denial does not name its rule and place:\n%s", r.stderr)
	}
	// --net-log: the same refusals as JSON lines.
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var reasons []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct {
			Decision struct {
				Host, Reason string
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("net log line %q: %v", sc.Text(), err)
		}
		reasons = append(reasons, rec.Decision.Host+" "+rec.Decision.Reason)
	}
	if strings.Join(reasons, ", ") != "denied.test denied, other.test not_allowed, other.test not_allowed" {
		t.Errorf("net log: %v", reasons)
	}

	// Limited mode: read-only HTTP; a POST and a tunnel (which could
	// carry any method) are refused.
	w, srv = proxyWorld(t, u, "limited")
	host = fmt.Sprintf("127.0.0.1:%d", srv.HTTP)
	r = polcExecWith(t, u, "", w, nil, nil, "/bin/bash", "-c", strings.Join([]string{
		curlStatus("get", "http://"+host+"/"),
		curlStatus("post", "-d", "x=1", "http://"+host+"/"),
		curlStatus("tunnel", "-p", "http://"+host+"/"),
	}, "\n"))
	want = []string{
		"get status=200 ",
		"post x-proxy-error: blocked-by-method-policy status=403 ",
		"tunnel x-proxy-error: blocked-by-method-policy status=000 ",
	}
	if got := trimLines(r.stdout); got != trimLines(strings.Join(want, "\n")) {
		t.Errorf("limited: exit %d\ngot:\n%s\nwant:\n%s\nstderr: %s", r.code, r.stdout, strings.Join(want, "\n"), r.stderr)
	}
	if !strings.Contains(r.stderr, "refused (method_not_allowed)") {
		t.Errorf("limited: no refusal line for the POST:\n%s", r.stderr)
	}
}

// TestProxyLaunchesAreSeparate: two launches at once, one allowing the
// host and one denying it, each get their own proxy and their own answer.
func TestProxyLaunchesAreSeparate(t *testing.T) {
	conformance.NeedSandbox(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	u := conformance.Users(t)[0]
	srv := conformance.Serve(t)
	host := fmt.Sprintf("127.0.0.1:%d", srv.HTTP)
	allow := seedWorld(t, proxyConfig("full"))
	deny := seedWorld(t, strings.Replace(proxyConfig("full"), `"127.0.0.1" = "allow"`, `"127.0.0.1" = "deny"`, 1))
	// Both are up before either asks.
	script := "sleep 1; " + curlStatus("got", "http://"+host+"/")
	var wg sync.WaitGroup
	got := make([]run, 2)
	for i, w := range []*conformance.World{allow, deny} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = runPolc(t, polcCmd(u, "", w, "exec", "-C", w.Proj, "--", "/bin/bash", "-c", script))
		}()
	}
	wg.Wait()
	if got[0].stdout != "got status=200 \n" || got[1].stdout != "got x-proxy-error: blocked-by-denylist status=403 \n" {
		t.Errorf("allowing launch: %q %s\ndenying launch: %q %s", got[0].stdout, got[0].stderr, got[1].stdout, got[1].stderr)
	}
}

// TestProxyDiesWithPolc: polc killed outright takes the proxy (a part of
// it) and the sandbox with it. A launch the plan lets bwrap run directly
// takes no mask stage for the proxy (sockexec's program makes its
// sockets and becomes the command).
func TestProxyDiesWithPolc(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			w, _ := proxyWorld(t, u, "full")
			cmd := polcCmd(u, "", w, "exec", "-C", w.Proj, "--", "/bin/sh", "-c", "echo ready; exec sleep 60")
			cmd.Dir = w.Root
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			line, err := bufio.NewReader(out).ReadString('\n')
			if line != "ready\n" {
				t.Fatalf("command did not start: %q %v", line, err)
			}
			if procs := inDir(w.Proj, ""); len(procs) == 0 {
				t.Fatal("no process of the sandbox found in the project")
			}
			if stages := inDir(w.Proj, maskstage.Arg); runtime.GOARCH == "amd64" && len(stages) > 0 {
				t.Errorf("a proxied launch with few masks took the mask stage: pids %v", stages)
			}
			cmd.Process.Kill()
			cmd.Wait()
			deadline := time.Now().Add(5 * time.Second)
			for len(inDir(w.Proj, "")) > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if left := inDir(w.Proj, ""); len(left) > 0 {
				t.Errorf("the sandbox outlived polc: pids %v", left)
			}
		})
	}
}

// inDir are the host pids of processes whose working directory is dir
// and, when arg1 is set, whose argv[1] is arg1 (the mask stage runs as
// /proc/self/fd/N __polc-sandbox-init).
func inDir(dir, arg1 string) []string {
	var pids []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		if err != nil || arg1 != "" && (len(args) < 2 || args[1] != arg1) {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == dir {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// TestProxyPortsStayPolcs: in either launch the command holds neither
// the proxy's listening sockets nor polc's socketpair, cannot bind the
// proxy's ports (with SO_REUSEADDR or SO_REUSEPORT either), and still
// reaches the proxy afterwards.
func TestProxyPortsStayPolcs(t *testing.T) {
	conformance.NeedSandbox(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	attacker := buildAttacker(t)
	for _, u := range conformance.Users(t) {
		for _, stage := range stages {
			t.Run(u.Name+"/"+stage, func(t *testing.T) {
				w := seedWorld(t, strings.Replace(proxyConfig("full"), "mode = ", "enable_socks5 = true\nmode = ", 1))
				u.Own(t, w.Root)
				srv := conformance.Serve(t)
				bin := installAttacker(t, attacker, w)
				script := strings.Join([]string{
					"ls /proc/self/fd | sort -n | tr '\\n' ' '; echo",
					bin + " takeport 3128 8081",
					curlStatus("after", fmt.Sprintf("http://127.0.0.1:%d/", srv.HTTP)),
				}, "\n")
				r := polcExecWith(t, u, stage, w, nil, nil, "/bin/bash", "-c", script)
				if stage == "direct" && runtime.GOARCH == "amd64" && !r.direct {
					t.Errorf("the proxied launch took the mask stage: %s", r.staged)
				}
				var want []string
				want = append(want, "0 1 2 3")
				for _, port := range []string{"3128", "8081"} {
					for _, ip := range []string{"127.0.0.1", "0.0.0.0"} {
						for _, opt := range []string{"", " reuseaddr", " reuseport"} {
							want = append(want, "err EADDRINUSE takeport "+ip+":"+port+opt)
						}
					}
				}
				want = append(want, "after status=200")
				if got := trimLines(r.stdout); got != strings.Join(want, "\n") {
					t.Errorf("exit %d\ngot:\n%s\nwant:\n%s\nstderr: %s", r.code, r.stdout, strings.Join(want, "\n"), r.stderr)
				}
			})
		}
	}
}

// TestProxyRefusesPrivateAnswers: a name the rules allow that resolves
// to a loopback or private address (a DNS rebinding attack, or an
// allowed name pointed at the host's own services) is refused unless
// local addresses are allowed, and then reaches the address the proxy
// checked. The resolver's answer comes from an /etc/hosts bound in a
// mount namespace of the test's own (the proxy reads it before DNS), so
// nothing leaves the machine.
func TestProxyRefusesPrivateAnswers(t *testing.T) {
	conformance.NeedSandbox(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not installed")
	}
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			for _, local := range []bool{false, true} {
				cfg := strings.Replace(proxyConfig("full"), `"*.allowed.test" = "allow"`, `"rebind.test" = "allow"`, 1)
				if local {
					cfg += "allow_local_binding = true\n"
				}
				w := seedWorld(t, cfg)
				srv := conformance.Serve(t)
				hosts := filepath.Join(w.Root, "hosts")
				os.WriteFile(hosts, []byte("127.0.0.1 localhost\n127.0.0.1 rebind.test\n"), 0o644)
				u.Own(t, w.Root)
				script := curlStatus("rebind", fmt.Sprintf("http://rebind.test:%d/", srv.HTTP))
				// polc, in a mount namespace where /etc/hosts answers
				// rebind.test with the host's loopback. A user maps itself
				// to root in a user namespace of its own to bind it.
				inner := fmt.Sprintf("mount --bind %s /etc/hosts && exec %s exec -C %s -- /bin/bash -c %s",
					hosts, polcBin, w.Proj, shellQuote(script))
				flags := []string{"-m"}
				if u.Switch {
					flags = []string{"-r", "-m"}
				}
				cmd := polcCmd(u, "", w)
				cmd.Path, _ = exec.LookPath("unshare")
				cmd.Args = append(append([]string{"unshare"}, flags...), "/bin/sh", "-c", inner)
				r := runPolc(t, cmd)
				want := "rebind x-proxy-error: blocked-by-allowlist status=403 \n"
				if local {
					want = "rebind status=200 \n"
				}
				if r.stdout != want {
					t.Errorf("allow_local_binding=%v: got %q, want %q (exit %d)\nstderr: %s", local, r.stdout, want, r.code, r.stderr)
				}
				if !local && !strings.Contains(r.stderr, "refused (not_allowed_local)") {
					t.Errorf("no refusal line naming not_allowed_local:\n%s", r.stderr)
				}
			}
		})
	}
}

// trimLines is s with each line's surrounding space trimmed.
func trimLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}
