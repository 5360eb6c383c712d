package sockexec

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"polc/internal/memfd"

	"polc/internal/conformance"
)

func TestMain(m *testing.M) {
	// Descriptors this test binary inherited stay out of the programs
	// it runs (which check what they inherit).
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	os.Exit(m.Run())
}

// TestProgramMatchesSource: zprogram.go is program_amd64.asm assembled.
func TestProgramMatchesSource(t *testing.T) {
	for _, tool := range []string{"as", "objcopy", "nm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	if out, err := exec.Command("go", "run", "polc/internal/asmgen", "-check", "-pkg", "sockexec", "-fields", "nsock,ctrl,self,ctllen,cmlen").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestProgramArguments(t *testing.T) {
	for _, c := range []struct{ n, ctrl, self int }{{0, 3, 4}, {3, 3, 4}, {1, 2, 4}, {1, 4, 4}, {1, 3, -1}} {
		if _, err := Program("amd64", c.n, c.ctrl, c.self); err == nil {
			t.Errorf("Program(amd64, %d, %d, %d) did not fail", c.n, c.ctrl, c.self)
		}
	}
	if _, err := Program("mips", 1, 3, 4); err == nil || Supported("mips") {
		t.Error("an architecture without a program is supported")
	}
}

// started is a program run with its socketpair at descriptor 3 and its
// image at 4.
type started struct {
	cmd            *exec.Cmd
	ctrl           *net.UnixConn
	stdout, stderr bytes.Buffer
}

// start runs the program for n sockets through wrapper (argv before
// /proc/self/fd/4: bwrap, or a shell) with the command argv.
func start(t *testing.T, n int, wrapper, argv []string) *started {
	t.Helper()
	if !Supported(runtime.GOARCH) {
		t.Skipf("no program for %s", runtime.GOARCH)
	}
	img, err := Program(runtime.GOARCH, n, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := memfd.Sealed("sockexec-test", img, true)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "ctrl"), os.NewFile(uintptr(fds[1]), "ctrl-sandbox")
	defer theirs.Close()
	fc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := &started{ctrl: fc.(*net.UnixConn)}
	t.Cleanup(func() { s.ctrl.Close() })
	args := append(append(append([]string(nil), wrapper...), "/proc/self/fd/4"), argv...)
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	s.cmd.ExtraFiles = []*os.File{theirs, mem}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	return s
}

// wait returns the exit status.
func (s *started) wait(t *testing.T) int {
	t.Helper()
	err := s.cmd.Wait()
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// TestProgramInSandbox: under bubblewrap's network namespace the
// program hands over its sockets, polc listens on them from outside,
// and the command runs with neither the sockets nor the socketpair,
// reaches the listeners, and cannot take their ports.
func TestProgramInSandbox(t *testing.T) {
	conformance.NeedSandbox(t)
	ports := []int{3128, 1080}
	script := `ls /proc/self/fd | sort -n | tr '\n' ' '; echo
echo hello >/dev/tcp/127.0.0.1/3128 && echo sent
echo world >/dev/tcp/127.0.0.1/1080 && echo sent
python3 -c '
import socket
for opt in (None, socket.SO_REUSEADDR, socket.SO_REUSEPORT):
    s = socket.socket()
    if opt is not None:
        s.setsockopt(socket.SOL_SOCKET, opt, 1)
    try:
        s.bind(("127.0.0.1", 3128)); s.listen(); print("bound")
    except OSError as e:
        print("refused", e.errno)
' 2>/dev/null || echo "no python"`
	s := start(t, len(ports), []string{"bwrap", "--unshare-user", "--unshare-net", "--unshare-pid", "--die-with-parent",
		"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--"}, []string{"/bin/bash", "bash", "-c", script})
	files, err := Receive(s.ctrl, len(ports))
	if err != nil {
		t.Fatalf("%v (stderr %s)", err, &s.stderr)
	}
	got := make(chan string, 2)
	for i, f := range files {
		if err := Listen(f, ports[i]); err != nil {
			t.Fatal(err)
		}
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err != nil {
				got <- err.Error()
				return
			}
			defer c.Close()
			line, _ := bufio.NewReader(c).ReadString('\n')
			got <- line
		}()
	}
	if _, err := s.ctrl.Write([]byte{TagGo}); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t); code != 0 {
		t.Fatalf("exit %d: %s%s", code, &s.stdout, &s.stderr)
	}
	lines := strings.Split(s.stdout.String(), "\n")
	// 0-2, and the directory ls reads: no socket, socketpair or image.
	if lines[0] != "0 1 2 3 " {
		t.Errorf("the command's descriptors: %q", lines[0])
	}
	if lines[1] != "sent" || lines[2] != "sent" {
		t.Errorf("the command did not reach the listeners: %q", s.stdout.String())
	}
	for i := 0; i < 2; i++ {
		select {
		case l := <-got:
			if l != "hello\n" && l != "world\n" {
				t.Errorf("a listener got %q", l)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no connection reached a listener")
		}
	}
	if rest := strings.Join(lines[3:], "\n"); rest != "no python\n" && rest != "refused 98\nrefused 98\nrefused 98\n" {
		t.Errorf("the command bound the proxy's port: %q", rest)
	}
}

// TestProgramFailsClosed: without polc's word the command never runs; a
// socket that cannot be made is reported with its errno.
func TestProgramFailsClosed(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, "ran")
	s := start(t, 1, []string{"/bin/sh", "-c", `exec "$@"`, "sh"}, []string{"/bin/sh", "sh", "-c", "touch " + mark})
	files, err := Receive(s.ctrl, 1)
	if err != nil {
		t.Fatal(err)
	}
	files[0].Close()
	s.ctrl.Close() // no TagGo
	if code := s.wait(t); code != ExitSetup {
		t.Errorf("exit %d, want %d", code, ExitSetup)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("the command ran without polc's word")
	}

	// Descriptors 0 to 4 are taken: no room for a socket.
	s = start(t, 1, []string{"/bin/sh", "-c", `ulimit -n 5 && exec "$@"`, "sh"}, []string{"/bin/sh", "sh", "-c", "touch " + mark})
	if _, err := Receive(s.ctrl, 1); err == nil || !strings.Contains(err.Error(), "too many open files") {
		t.Errorf("Receive: %v", err)
	}
	if code := s.wait(t); code != ExitSetup {
		t.Errorf("exit %d, want %d", code, ExitSetup)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("the command ran without its sockets")
	}
}

// TestProgramExec: the command keeps its argv[0] and arguments; a script
// without #! runs under /bin/sh, as execvp runs it; a file that cannot
// be executed is 127 with a line on stderr.
func TestProgramExec(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "plain")
	if err := os.WriteFile(script, []byte(`echo "script $0 $*"`+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		argv       []string
		code       int
		out, inErr string
	}{
		{[]string{"/bin/sh", "name", "-c", `tr '\0' ' ' </proc/$$/cmdline; echo "$0 $1"`, "zero", "one"}, 0, "name -c tr '\\0' ' ' </proc/$$/cmdline; echo \"$0 $1\" zero one zero one\n", ""},
		{[]string{script, "plain", "a", "b"}, 0, "script " + script + " a b\n", ""},
		{[]string{filepath.Join(dir, "missing"), "missing"}, ExitCannotRun, "", "polc: cannot execute " + filepath.Join(dir, "missing") + "\n"},
		{[]string{dir, "dir"}, ExitCannotRun, "", "polc: cannot execute " + dir + "\n"},
	} {
		s := start(t, 1, []string{"/bin/sh", "-c", `exec "$@"`, "sh"}, c.argv)
		files, err := Receive(s.ctrl, 1)
		if err != nil {
			t.Fatal(err)
		}
		files[0].Close()
		s.ctrl.Write([]byte{TagGo})
		if code := s.wait(t); code != c.code || s.stdout.String() != c.out || s.stderr.String() != c.inErr {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d, %q, %q", c.argv, code, &s.stdout, &s.stderr, c.code, c.out, c.inErr)
		}
	}
}

// TestSendReceive: the mask stage's half in Go speaks the same protocol.
func TestSendReceive(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours := os.NewFile(uintptr(fds[0]), "ctrl")
	fc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	done := make(chan error, 1)
	go func() { done <- Send(fds[1], 2); unix.Close(fds[1]) }()
	files, err := Receive(fc.(*net.UnixConn), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		// Here the sockets are in the test's own namespace: Listen
		// refuses them where it can tell (as root).
		if err := Listen(f, 0); os.Geteuid() == 0 && (err == nil || !strings.Contains(err.Error(), "polc's own network namespace")) {
			t.Errorf("Listen on a socket of polc's namespace: %v", err)
		}
	}
	fc.Write([]byte{TagGo})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
