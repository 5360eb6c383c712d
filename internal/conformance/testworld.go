package conformance

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"polc/compiler"
)

// TempRoot makes a directory for a world outside /tmp (the :workspace
// profile makes /tmp writable, which would change the answers), removed
// when the test ends. It is resolved, so that the world's paths are what
// a sandbox sees.
func TempRoot(t testing.TB) string {
	t.Helper()
	base := "/var/tmp"
	if _, err := os.Stat(base); err != nil {
		base = t.TempDir()
	}
	// A fixed-length name: golden outputs hold the root, and the columns
	// of positions on such lines must not move between runs.
	var dir string
	for i := 0; ; i++ {
		dir = filepath.Join(base, fmt.Sprintf("polc-world-%09x", rand.Uint32()))
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !os.IsExist(err) || i > 100 {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// Options are the compile options the harness runs the case with: -P as
// the harness passes it, the world's CODEX_HOME, HOME and TMPDIR, its
// requirements, an empty system directory, and exec's trust rules.
func (c *Case) Options(w *World, systemDir string) compiler.Options {
	opts := compiler.Options{Dir: w.Proj, Profile: c.Profile(), CodexHome: w.CodexHome, Home: w.Home,
		Tmpdir: w.Tmp, SystemDir: systemDir, ForExec: true}
	if w.RequirementsFile != "" {
		opts.RequirementFiles = []string{w.RequirementsFile}
	}
	return opts
}

// Compile builds the case's world under TempRoot and compiles it as the
// harness runs it.
func (c *Case) Compile(t testing.TB) (*World, *compiler.Result) {
	t.Helper()
	w, err := c.Build(TempRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	return w, compiler.Compile(c.Options(w, t.TempDir()))
}

// Serve runs the harness's servers (Servers) until the test ends.
func Serve(t testing.TB) Servers {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return Servers{TCP: Listen(t), HTTP: ln.Addr().(*net.TCPAddr).Port}
}

// Listen runs the loopback listener a case's net probes connect to: it
// accepts and closes connections until the test ends, and returns its port.
func Listen(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// NeedSandbox skips a test where bubblewrap is missing or cannot create
// namespaces (CI refuses to run in such a place: .ci/run checks it first).
func NeedSandbox(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap not installed")
	}
	if out, err := exec.Command("bwrap", "--unshare-user", "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "/bin/true").CombinedOutput(); err != nil {
		t.Skipf("bwrap cannot run here: %v %s", err, out)
	}
}

// MkTree lays out tree entries under root, one a string in the cases'
// tree syntax ("a/" a directory, "a/b" a file, "l -> t" a symlink).
func MkTree(t testing.TB, root string, entries ...string) {
	t.Helper()
	for _, e := range entries {
		if err := buildEntry(root, e); err != nil {
			t.Fatalf("tree entry %q: %v", e, err)
		}
	}
}
