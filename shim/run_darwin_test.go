package shim

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/backends"
	"polc/backends/seatbelt"
	"polc/diag"
	"polc/ir"
)

// These tests compile on every platform's CI (GOOS=darwin go test -c) and
// run on macOS; they do not run sandbox-exec.

func TestSeatbeltEnv(t *testing.T) {
	pl := &seatbelt.Payload{Network: ir.NetworkNone}
	env := seatbeltEnv([]string{"A=1", "CODEX_SANDBOX=x"}, pl, "/w")
	got := strings.Join(env, " ")
	if got != "A=1 CODEX_SANDBOX=seatbelt CODEX_SANDBOX_NETWORK_DISABLED=1 PWD=/w" {
		t.Fatalf("env = %s", got)
	}
}

func TestProfileWrittenOutsideWritableRoots(t *testing.T) {
	home := t.TempDir()
	pol := &ir.Policy{Rules: []ir.Rule{{Path: ir.VarHome, Access: ir.Write}}}
	out, diags := seatbelt.Lower(pol, backends.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	pl, _ := seatbelt.Decode(out.Payload)
	env := ir.Env{Bindings: ir.Bindings{ir.VarHome: home}}
	b, err := seatbelt.Bind(pl, env)
	if err != nil {
		t.Fatal(err)
	}
	name, cleanup, err := writeProfile(pl, b, env)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if seatbelt.MayWrite(pl, b, env, name) {
		t.Errorf("profile %s is writable under the policy", name)
	}
	fi, err := os.Stat(name)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("profile mode %v, %v", fi.Mode(), err)
	}
	if d, _ := os.Stat(filepath.Dir(name)); d.Mode().Perm()&0o077 != 0 {
		t.Errorf("profile dir mode %v", d.Mode())
	}
}

// TestProxyStartFailsClosed: a proxy network whose port another program
// holds refuses the launch (POL211) before sandbox-exec starts.
func TestProxyStartFailsClosed(t *testing.T) {
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	pol := &ir.Policy{Rules: []ir.Rule{{Path: ir.VarHome, Access: ir.Read}},
		Network: ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: port}}}
	out, diags := seatbelt.Lower(pol, backends.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	marker := filepath.Join(t.TempDir(), "ran")
	code, err := Run(&Launch{Payload: out.Payload, Env: ir.Env{Bindings: ir.Bindings{ir.VarHome: t.TempDir()}},
		Argv: []string{"/usr/bin/touch", marker}, Stdout: io.Discard, Stderr: io.Discard})
	var f *diag.Diagnostic
	if !errors.As(err, &f) || f.Code != diag.MacProxyStart || code != 0 {
		t.Fatalf("Run = %d, %v; want a POL211 failure", code, err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran without its proxy")
	}
}
