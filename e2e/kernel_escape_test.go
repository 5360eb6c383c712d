//go:build linux

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"polc/internal/conformance"
)

// Sandbox escapes of issue 9 ("Sandbox soundness"), each tried by a
// sandboxed command as the attacker it may be, as root and as an
// unprivileged user, through both launches.

// buildAttacker builds testdata/attacker for one test (the build cache
// makes the later ones cheap), in a directory removed when it ends.
func buildAttacker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "attacker")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/attacker")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the attacker: %v\n%s", err, out)
	}
	return bin
}

// installAttacker copies the attacker into the world's project, where
// the sandbox can run it.
func installAttacker(t *testing.T, attacker string, w *conformance.World) string {
	t.Helper()
	b, err := os.ReadFile(attacker)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(w.Proj, "attacker")
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// polcExecWith is polcExecAs with extra exec flags and stdin from a file.
func polcExecWith(t *testing.T, u conformance.User, stage string, w *conformance.World, flags []string, stdin *os.File, argv ...string) run {
	t.Helper()
	args := append([]string{"exec"}, flags...)
	args = append(append(args, "-C", w.Proj, "--"), argv...)
	cmd := polcCmd(u, stage, w, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	return runPolc(t, cmd)
}

// allowOneSocket writes the world's config: profile ws, :workspace with
// the one Unix socket path allowed.
func allowOneSocket(t *testing.T, w *conformance.World, path string) {
	t.Helper()
	cfg := fmt.Sprintf(`default_permissions = "ws"
[permissions.ws]
extends = ":workspace"
[permissions.ws.network]
unix_sockets = { %q = "allow" }
`, path)
	if err := os.WriteFile(w.ConfigFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

// hostSockets are Unix sockets of a host process: stream servers that
// greet each peer with "HOST\n", and a datagram socket; they count what
// reaches them.
type hostSockets struct {
	tmpStream, projStream, seqpacket, dgram, abstract string
	accepted, datagrams                               atomic.Int32
}

func startHostSockets(t *testing.T, w *conformance.World, u conformance.User) *hostSockets {
	t.Helper()
	// In the real /tmp, which :workspace makes writable, as a user's
	// tmux or ssh-agent sockets are; and in the project.
	dir, err := os.MkdirTemp("/tmp", "polc-e2e-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	h := &hostSockets{
		tmpStream:  filepath.Join(dir, "stream.sock"),
		projStream: filepath.Join(w.Proj, "stream.sock"),
		seqpacket:  filepath.Join(dir, "seqpacket.sock"),
		dgram:      filepath.Join(dir, "dgram.sock"),
		abstract:   fmt.Sprintf("@polc-e2e-%08x", rand.Uint32()),
	}
	serve := func(network, addr string) {
		ln, err := net.Listen(network, strings.Replace(addr, "@", "\x00", 1))
		if err != nil {
			t.Fatalf("%s %s: %v", network, addr, err)
		}
		t.Cleanup(func() { ln.Close() })
		if !strings.HasPrefix(addr, "@") {
			// Any user may connect: the sandbox, not permissions, must stop it.
			os.Chmod(addr, 0o777)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				h.accepted.Add(1)
				c.Write([]byte("HOST\n"))
				c.Close()
			}
		}()
	}
	serve("unix", h.tmpStream)
	serve("unix", h.projStream)
	serve("unixpacket", h.seqpacket)
	serve("unix", h.abstract)
	pc, err := net.ListenPacket("unixgram", h.dgram)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	os.Chmod(h.dgram, 0o777)
	go func() {
		buf := make([]byte, 64)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			h.datagrams.Add(1)
		}
	}()
	u.Own(t, w.Root)
	return h
}

const unixWorkspace = `default_permissions = ":workspace"
`

// TestHostUnixSocketsRefused: with the network off, a command reaches
// no Unix socket of the host, whether in /tmp (writable under
// :workspace), in the project or abstract, by connect, by a datagram
// socket or a datagram socketpair with sendmsg's msg_name; it cannot
// listen either. Socketpairs (send, recv, fd passing) and an inherited
// socket keep working. The explicit opt-in reaches the socket.
func TestHostUnixSocketsRefused(t *testing.T) {
	conformance.NeedSandbox(t)
	attacker := buildAttacker(t)
	for _, u := range conformance.Users(t) {
		for _, stage := range stages {
			t.Run(u.Name+"/"+stage, func(t *testing.T) { hostUnixSocketsRefused(t, u, stage, attacker) })
		}
	}
}

func hostUnixSocketsRefused(t *testing.T, u conformance.User, stage, attacker string) {
	w := seedWorld(t, unixWorkspace)
	bin := installAttacker(t, attacker, w)
	h := startHostSockets(t, w, u)
	ws := []string{"-P", ":workspace"}

	r := polcExecWith(t, u, stage, w, ws, nil, "/bin/sh", "-c", strings.Join([]string{
		bin + " connect " + h.tmpStream + " " + h.projStream + " " + h.abstract,
		bin + " seqpacket " + h.seqpacket,
		bin + " dgram " + h.dgram,
		bin + " dgram-pair " + h.dgram,
		bin + " stream-sendto " + h.dgram,
		bin + " listen " + filepath.Join(w.Proj, "mine.sock"),
		bin + " pairs",
	}, "; "))
	want := []string{
		"err EPERM connect " + h.tmpStream,
		"err EPERM connect " + h.projStream,
		"err EPERM connect " + h.abstract,
		"err EPERM seqpacket " + h.seqpacket,
		"err EPERM dgram " + h.dgram,
		"err EPERM dgram-pair " + h.dgram,
		"err EPERM raw-pair " + h.dgram,
		"err EPERM stream-sendto " + h.dgram,
		"err EPERM listen " + filepath.Join(w.Proj, "mine.sock"),
		"ok pairs",
	}
	if got := strings.Split(strings.TrimSpace(r.stdout), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("exit %d\ngot:\n%s\nwant:\n%s\nstderr: %s", r.code, r.stdout, strings.Join(want, "\n"), r.stderr)
	}
	time.Sleep(50 * time.Millisecond) // let a datagram that got through arrive
	if n, d := h.accepted.Load(), h.datagrams.Load(); n != 0 || d != 0 {
		t.Errorf("host sockets reached: %d connections, %d datagrams", n, d)
	}

	// An inherited socket (here the command's stdin) keeps working.
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := os.NewFile(uintptr(pair[0]), "mine"), os.NewFile(uintptr(pair[1]), "theirs")
	defer mine.Close()
	go func() {
		buf := make([]byte, 4)
		if n, _ := mine.Read(buf); string(buf[:n]) == "ping" {
			mine.Write([]byte("pong"))
		}
	}()
	r = polcExecWith(t, u, stage, w, ws, theirs, bin, "inherited", "0")
	theirs.Close()
	if r.code != 0 || strings.TrimSpace(r.stdout) != "ok inherited" {
		t.Errorf("inherited socket: exit %d %q %s", r.code, r.stdout, r.stderr)
	}

	// The tmux attack: `tmux -S SOCK run-shell CMD` runs CMD outside.
	if tmux, err := exec.LookPath("tmux"); err == nil {
		tmuxAttack(t, u, stage, w, tmux)
	}

	// Python's users of socketpairs: asyncio's self-pipe and
	// multiprocessing's duplex Pipe between forked processes.
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		py := `import asyncio, multiprocessing as mp, socket
a, b = socket.socketpair(); a.sendall(b"x"); assert b.recv(1) == b"x"
async def main():
    loop = asyncio.get_running_loop(); f = loop.create_future()
    loop.call_soon_threadsafe(f.set_result, 7); return await f
assert asyncio.run(main()) == 7
def child(c): c.send(c.recv() + 1)
if __name__ == "__main__":
    mp.set_start_method("fork"); p, c = mp.Pipe(); pr = mp.Process(target=child, args=(c,)); pr.start()
    p.send(41); assert p.recv() == 42; pr.join(); print("python ok")
`
		os.WriteFile(filepath.Join(w.Proj, "p.py"), []byte(py), 0o644)
		u.Own(t, filepath.Join(w.Proj, "p.py"))
		if r := polcExecWith(t, u, stage, w, ws, nil, "/usr/bin/python3", "p.py"); r.code != 0 || r.stdout != "python ok\n" {
			t.Errorf("python socketpairs: exit %d %q %s", r.code, r.stdout, r.stderr)
		}
	}

	// The opt-in. One socket: Linux can only allow them all, so polc
	// refuses unless told that is accepted, and then says it.
	allowOneSocket(t, w, h.tmpStream)
	r = polcExecWith(t, u, stage, w, []string{"-P", "ws"}, nil, bin, "connect", h.tmpStream)
	if r.code != 125 || !strings.Contains(r.stderr, "POL079") || r.stdout != "" {
		t.Errorf("one allowed socket without --allow-unenforceable: want a refusal naming POL079, got exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = polcExecWith(t, u, stage, w, []string{"-P", "ws", "--allow-unenforceable"}, nil, bin, "connect", h.tmpStream)
	if r.code != 0 || r.stdout != "ok connect "+h.tmpStream+"\n" || !strings.Contains(r.stderr, "POL079") {
		t.Errorf("allowed socket with --allow-unenforceable: want a connection and a POL079 warning, got exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(w.ConfigFile, []byte(`default_permissions = "ws"
[permissions.ws]
extends = ":workspace"
[permissions.ws.network]
dangerously_allow_all_unix_sockets = true
`), 0o644)
	r = polcExecWith(t, u, stage, w, []string{"-P", "ws"}, nil, bin, "connect", h.projStream)
	if r.code != 0 || r.stdout != "ok connect "+h.projStream+"\n" {
		t.Errorf("dangerously_allow_all_unix_sockets: want a connection, got exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if n := h.accepted.Load(); n != 2 {
		t.Errorf("host sockets: %d connections, want the 2 allowed ones", n)
	}
}

// tmuxAttack starts a tmux server of u's on the host and has the
// sandboxed command ask it to create a file outside the sandbox.
func tmuxAttack(t *testing.T, u conformance.User, stage string, w *conformance.World, tmux string) {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "polc-e2e-tmux-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	u.Own(t, dir)
	sock := filepath.Join(dir, "S")
	start := exec.Command(tmux, "-S", sock, "new-session", "-d", "sleep 300")
	start.Env = append(os.Environ(), "HOME="+w.Home, "TERM=dumb")
	u.Apply(start)
	if out, err := start.CombinedOutput(); err != nil {
		t.Logf("tmux server did not start (%v %s): tmux attack skipped", err, out)
		return
	}
	t.Cleanup(func() {
		kill := exec.Command(tmux, "-S", sock, "kill-server")
		u.Apply(kill)
		kill.Run()
	})
	mark := filepath.Join(dir, "escaped")
	r := polcExecWith(t, u, stage, w, []string{"-P", ":workspace"}, nil, tmux, "-S", sock, "run-shell", "touch "+mark)
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(mark); err == nil {
		t.Errorf("tmux run-shell ran a command outside the sandbox (exit %d %s)", r.code, r.stderr)
	}
	if r.code == 0 {
		t.Errorf("tmux client in the sandbox: exit 0, want a failure to connect")
	}
}

// TestKernelKnobsReadOnly: a command, root's included, can open no
// sysctl and not /proc/sysrq-trigger for writing, and has its own UTS
// namespace, so the host's hostname is not its to set. Nothing is
// written: the probes only open.
func TestKernelKnobsReadOnly(t *testing.T) {
	conformance.NeedSandbox(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	hostUTS, err := os.Readlink("/proc/self/ns/uts")
	if err != nil {
		t.Fatal(err)
	}
	knobs := []string{"/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe", "/proc/sys/kernel/hostname",
		"/proc/sys/vm/drop_caches", "/proc/sys/fs/suid_dumpable", "/proc/sysrq-trigger"}
	attacker := buildAttacker(t)
	for _, u := range conformance.Users(t) {
		for _, stage := range stages {
			t.Run(u.Name+"/"+stage, func(t *testing.T) {
				w := seedWorld(t, seedConfig)
				bin := installAttacker(t, attacker, w)
				u.Own(t, w.Root)
				script := fmt.Sprintf("%s wopen %s; readlink /proc/self/ns/uts; hostname polc-escaped 2>/dev/null && echo RENAMED",
					bin, strings.Join(knobs, " "))
				r := polcExecWith(t, u, stage, w, []string{"-P", "workspace"}, nil, "/bin/sh", "-c", script)
				lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
				if len(lines) < len(knobs)+1 {
					t.Fatalf("exit %d, output:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
				}
				for i, k := range knobs {
					f := strings.Fields(lines[i])
					ok := len(f) == 4 && f[0] == "err" && (f[1] == "EROFS" || f[1] == "EACCES" || f[1] == "EPERM")
					if _, err := os.Stat(k); os.IsNotExist(err) && len(f) == 4 && f[1] == "ENOENT" {
						ok = true // not in this kernel
					}
					if !ok {
						t.Errorf("%s: opened for writing in the sandbox: %q", k, lines[i])
					}
				}
				if uts := lines[len(knobs)]; uts == hostUTS || !strings.HasPrefix(uts, "uts:[") {
					t.Errorf("UTS namespace in the sandbox %q, the host's %q: want its own", uts, hostUTS)
				}
				if strings.Contains(r.stdout, "RENAMED") {
					t.Logf("hostname set inside the sandbox (its own UTS namespace)")
				}
				if now, _ := os.Hostname(); now != host {
					t.Fatalf("the host's hostname changed from %q to %q", host, now)
				}
			})
		}
	}
}

// TestTrustKeyInWritablePlaceRefused: polc exec --artifact --trust KEY
// refuses a key the artifact's own policy lets the sandbox write (the
// command could replace it, and with it which artifacts the next launch
// trusts), as it refuses such an artifact; a key outside every writable
// root, or in the protected .polc, is accepted.
func TestTrustKeyInWritablePlaceRefused(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			w := seedWorld(t, seedConfig)
			keys := filepath.Join(w.Root, "keys")
			os.Mkdir(keys, 0o755)
			u.Own(t, w.Root)
			polc := func(args ...string) (string, int) {
				t.Helper()
				cmd := polcCmd(u, "", w, args...)
				out, err := cmd.CombinedOutput()
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				return string(out), code
			}
			if out, code := polc("keygen", "-o", filepath.Join(keys, "k")); code != 0 {
				t.Fatalf("keygen: %s", out)
			}
			if out, code := polc("build", "-P", "workspace", "-C", w.Proj, "--target", "linux", "--sign-key", filepath.Join(keys, "k")); code != 0 {
				t.Fatalf("build: %s", out)
			}
			art := filepath.Join(w.Proj, ".polc", "workspace.linux.json")
			pub, err := os.ReadFile(filepath.Join(keys, "k.pub"))
			if err != nil {
				t.Fatal(err)
			}
			inProj := filepath.Join(w.Proj, "k.pub")
			inPolc := filepath.Join(w.Proj, ".polc", "k.pub")
			for _, p := range []string{inProj, inPolc} {
				os.WriteFile(p, pub, 0o644)
			}
			u.Own(t, w.Root)
			exec := func(key string) (string, int) {
				return polc("exec", "--artifact", art, "--trust", key, "-C", w.Proj, "--", "/bin/sh", "-c", "echo RAN; echo replaced > "+inProj+" && echo REPLACED")
			}
			out, code := exec(inProj)
			if code != 125 || !strings.Contains(out, "[POL117]") || strings.Contains(out, "RAN") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("trust key in the writable project: want one line with POL117 and exit 125, got %d:\n%s", code, out)
			}
			for _, key := range []string{filepath.Join(keys, "k.pub"), inPolc} {
				// The command may write the project, but these keys are
				// not the sandbox's: the launch runs.
				if out, code := exec(key); code != 0 || !strings.Contains(out, "RAN") {
					t.Errorf("trust key %s: exit %d, want the command to run:\n%s", key, code, out)
				}
			}
		})
	}
}

// TestExplainSocketPolicy: explain answers connect for a socket path,
// from the policy and from the Linux artifact, and says where a Linux
// answer differs from the policy (one allowed socket allows them all).
func TestExplainSocketPolicy(t *testing.T) {
	if polcBin == "" {
		t.Skip("Linux only")
	}
	w := seedWorld(t, unixWorkspace)
	u := conformance.Users(t)[0]
	h := startHostSockets(t, w, u)
	explain := func(args ...string) string {
		t.Helper()
		out, err := polcCmd(u, "", w, append([]string{"explain", "-C", w.Proj}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("explain %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	for _, target := range []string{"ir", "linux"} {
		out := explain("-P", ":workspace", "--target", target, h.tmpStream)
		if !strings.Contains(out, "connect "+h.tmpStream+": denied") {
			t.Errorf("%s: want connect denied:\n%s", target, out)
		}
	}
	allowOneSocket(t, w, h.tmpStream)
	out := explain("-P", "ws", "--op", "connect", h.tmpStream, h.projStream)
	if !strings.Contains(out, "connect "+h.tmpStream+": allowed") || !strings.Contains(out, "unix_sockets allows "+h.tmpStream) ||
		!strings.Contains(out, "connect "+h.projStream+": denied") {
		t.Errorf("ir, one socket allowed:\n%s", out)
	}
	out = explain("-P", "ws", "--target", "linux", "--allow-unenforceable", "--op", "connect", h.projStream)
	if !strings.Contains(out, "connect "+h.projStream+": allowed (the policy says denied: this platform differs)") || !strings.Contains(out, "cannot filter by path") {
		t.Errorf("linux, one socket allowed: want the widening said:\n%s", out)
	}
}
