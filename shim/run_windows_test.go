package shim

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/backends"
	winplan "polc/backends/windows"
	"polc/diag"
	"polc/ir"
)

func TestCommandEnvKeepsCallerValues(t *testing.T) {
	md := &winplan.Mode{Steps: []winplan.Step{{Op: winplan.OpEnvSet, Env: map[string]string{"HTTP_PROXY": "http://127.0.0.1:9", "SBX_NONET_ACTIVE": "1"}}}}
	got := strings.Join(commandEnv([]string{"http_proxy=http://corp:3128", "PATH=C:\\bin"}, md), "\n")
	if strings.Contains(got, "HTTP_PROXY=http://127.0.0.1:9") || !strings.Contains(got, "SBX_NONET_ACTIVE=1") {
		t.Fatalf("env.set must only fill absent variables (case-insensitively):\n%s", got)
	}
}

// TestUnelevatedConfinesWrites is the token isolation check on a real
// Windows host: under the unelevated mode (full read, full network), a
// write inside the writable root succeeds and one outside fails.
func TestUnelevatedConfinesWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ACLs")
	}
	base := t.TempDir()
	ws, out := filepath.Join(base, "ws"), filepath.Join(base, "out")
	for _, d := range []string{ws, out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pol := &ir.Policy{Profile: "t", Minimal: &ir.Origin{}, Network: ir.Network{Mode: ir.NetworkFull},
		Rules: []ir.Rule{{Path: "/", Access: ir.Read}, {Path: ir.VarWorkspaceRoot, Access: ir.Write}}}
	b := winplan.Backend
	art, diags := b.Lower(pol, backends.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	run := func(target string) int {
		var stderr bytes.Buffer
		code, err := Run(&Launch{Payload: art.Payload, WindowsMode: winplan.Unelevated, Env: ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: ws}},
			Argv: []string{"cmd.exe", "/c", "echo x> " + target}, Dir: ws, Environ: os.Environ(), Stdout: os.Stdout, Stderr: &stderr})
		if err != nil {
			t.Fatalf("run: %v (%s)", err, stderr.String())
		}
		return code
	}
	if code := run(filepath.Join(ws, "a.txt")); code != 0 {
		t.Errorf("write inside the writable root failed: exit %d", code)
	}
	if code := run(filepath.Join(out, "b.txt")); code == 0 {
		t.Errorf("write outside the writable root succeeded")
	}
	if _, err := os.Stat(filepath.Join(out, "b.txt")); err == nil {
		t.Errorf("%s was created", filepath.Join(out, "b.txt"))
	}
}

// TestProxyStartFailsClosed: a proxy network whose port another program
// holds refuses the launch (POL216) before the command starts.
func TestProxyStartFailsClosed(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ACLs")
	}
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	ws := t.TempDir()
	pol := &ir.Policy{Profile: "t", Minimal: &ir.Origin{},
		Network: ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: port}},
		Rules:   []ir.Rule{{Path: "/", Access: ir.Read}, {Path: ir.VarWorkspaceRoot, Access: ir.Write}}}
	b := winplan.Backend
	// Unelevated mode (accepted as unenforceable) needs no setup.
	art, diags := b.Lower(pol, backends.Options{AllowUnenforceable: true})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	marker := filepath.Join(ws, "ran.txt")
	code, err := Run(&Launch{Payload: art.Payload, WindowsMode: winplan.Unelevated, Env: ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: ws}},
		Argv: []string{"cmd.exe", "/c", "echo x> " + marker}, Dir: ws, Environ: os.Environ(), Stdout: os.Stdout, Stderr: os.Stderr})
	var f *diag.Diagnostic
	if !errors.As(err, &f) || f.Code != diag.WindowsProxyStart || code != 0 {
		t.Fatalf("Run = %d, %v; want a POL216 failure", code, err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran without its proxy")
	}
}
