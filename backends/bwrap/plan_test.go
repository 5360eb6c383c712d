package bwrap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/backends"
	"polc/diag"
	"polc/ir"
)

func seedPolicy() *ir.Policy {
	ws := ir.VarWorkspaceRoot
	return &ir.Policy{
		Profile:        "workspace",
		Minimal:        &ir.Origin{Kind: ir.OriginConfig, Key: ":minimal"},
		WorkspaceRoots: []string{ws},
		Rules: []ir.Rule{
			{Path: ws, Access: ir.Write, Origin: ir.Origin{Kind: ir.OriginConfig}},
			{Path: ws + "/.git", Access: ir.Read, SkipIfMissing: true, Origin: ir.Origin{Kind: ir.OriginProtected}},
			{Path: ws + "/.codex", Access: ir.Read, Origin: ir.Origin{Kind: ir.OriginProtected}},
		},
		Globs: []ir.Glob{{Pattern: ws + "/**/*.env", Base: ws, MaxDepth: 3}},
	}
}

func mkTree(t *testing.T, files ...string) string {
	t.Helper()
	root, _ := filepath.EvalSymlinks(t.TempDir())
	for _, f := range files {
		full := filepath.Join(root, f)
		if strings.HasSuffix(f, "/") {
			os.MkdirAll(full, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func plan(t *testing.T, p *ir.Policy, proj string) *HostPlan {
	t.Helper()
	art, diags := Lower(p, backends.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	hp, err := PlanHost(art, ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: proj}}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return hp
}

func argIndex(args []string, seq ...string) int {
outer:
	for i := range args {
		for j, s := range seq {
			if i+j >= len(args) || args[i+j] != s {
				continue outer
			}
		}
		return i
	}
	return -1
}

func TestSeedPlan(t *testing.T) {
	root := mkTree(t, "proj/.env", "proj/a.txt", "proj/sub/x.env", "proj/sub/deep/deeper/z.env", "proj/.git/config",
		"proj/.git/hooks/deep/h.env")
	proj := filepath.Join(root, "proj")
	hp := plan(t, seedPolicy(), proj)
	args := hp.Args
	for _, seq := range [][]string{
		{"--perms", "0111", "--tmpfs", "/"},
		{"--ro-bind", "/usr", "/usr"},
		{"--bind", proj, proj},
		{"--ro-bind", proj + "/.git", proj + "/.git"},
		{"--perms", "0555", "--tmpfs", proj + "/.codex"},
		{"--remount-ro", proj + "/.codex"},
		{"--remount-ro", "/"},
		{"--proc", "/proc"},
	} {
		if argIndex(args, seq...) < 0 {
			t.Errorf("missing %v in %v", seq, args)
		}
	}
	if argIndex(args, "--bind", proj, proj) > argIndex(args, "--ro-bind", proj+"/.git", proj+"/.git") {
		t.Error("protected .git must be mounted after the writable root")
	}
	if argIndex(args, "--proc", "/proc") > argIndex(args, "--remount-ro", "/") {
		t.Error("/proc must be mounted before / turns read-only")
	}
	if len(hp.Synthetic) != 1 || hp.Synthetic[0] != proj+"/.codex" {
		t.Errorf("synthetic mount points = %v, want the missing .codex", hp.Synthetic)
	}
	var masks []string
	for _, m := range hp.Masks {
		masks = append(masks, strings.TrimPrefix(m.Path, proj))
	}
	// deeper/z.env lies beyond the cap (depth 4 > 3) in the writable
	// project, where the sandbox could have moved it: masked. The
	// read-only .git keeps the cap: nothing in the sandbox can move a
	// file there, and hooks/deep/h.env stays as the cap leaves it.
	if strings.Join(masks, " ") != "/.env /sub/x.env /sub/deep/deeper/z.env" {
		t.Errorf("masks = %v, want .env, sub/x.env and the writable deeper/z.env (not .git/hooks/deep/h.env)", masks)
	}
}

func TestDenyDirKeepsCarveOutsReachable(t *testing.T) {
	root := mkTree(t, "proj/a.txt", "proj/build/cache.bin", "proj/build/x/out/app")
	proj := filepath.Join(root, "proj")
	ws := ir.VarWorkspaceRoot
	p := &ir.Policy{Rules: []ir.Rule{
		{Path: "/", Access: ir.Read},
		{Path: ws, Access: ir.Write},
		{Path: ws + "/build", Access: ir.Deny},
		{Path: ws + "/build/x/out", Access: ir.Read},
	}}
	hp := plan(t, p, proj)
	mask := argIndex(hp.Args, "--perms", "0111", "--tmpfs", proj+"/build")
	dir := argIndex(hp.Args, "--perms", "0111", "--dir", proj+"/build/x")
	bind := argIndex(hp.Args, "--ro-bind", proj+"/build/x/out", proj+"/build/x/out")
	ro := argIndex(hp.Args, "--remount-ro", proj+"/build")
	if mask < 0 || dir < mask || bind < dir || ro < bind {
		t.Fatalf("want traverse-only mask, then traverse-only dir, then bind, then remount: %v", hp.Args)
	}
}

func TestSymlinkCrossingWritableFailsClosed(t *testing.T) {
	root := mkTree(t, "proj/a.txt", "elsewhere/")
	proj := filepath.Join(root, "proj")
	if err := os.Symlink(filepath.Join(root, "elsewhere"), filepath.Join(proj, ".agents")); err != nil {
		t.Fatal(err)
	}
	ws := ir.VarWorkspaceRoot
	p := &ir.Policy{Rules: []ir.Rule{
		{Path: ws, Access: ir.Write},
		{Path: ws + "/.agents", Access: ir.Read, Origin: ir.Origin{Kind: ir.OriginProtected}},
	}}
	art, _ := Lower(p, backends.Options{})
	_, err := PlanHost(art, ir.Env{Bindings: ir.Bindings{ws: proj}}, PlanOptions{})
	var pe *diag.Diagnostic
	if !errors.As(err, &pe) || pe.Code != diag.LinuxSymlinkMask || !strings.Contains(pe.Message, proj+"/.agents") {
		t.Fatalf("want a %s refusal naming the link, got %v", diag.LinuxSymlinkMask, err)
	}
}

func TestSymlinkedWritableRootBindsTarget(t *testing.T) {
	root := mkTree(t, "real/a.txt")
	link := filepath.Join(root, "link")
	os.Symlink(filepath.Join(root, "real"), link)
	p := &ir.Policy{Rules: []ir.Rule{{Path: ir.VarWorkspaceRoot, Access: ir.Write}}}
	hp := plan(t, p, link)
	real := filepath.Join(root, "real")
	if argIndex(hp.Args, "--bind", real, real) < 0 {
		t.Fatalf("want the real target bound: %v", hp.Args)
	}
}

func TestMandatoryDenyHidesDeeperRules(t *testing.T) {
	root := mkTree(t, "proj/secret/inner/x")
	proj := filepath.Join(root, "proj")
	ws := ir.VarWorkspaceRoot
	p := &ir.Policy{Rules: []ir.Rule{
		{Path: ws, Access: ir.Write},
		{Path: ws + "/secret", Access: ir.Deny, Mandatory: true},
		{Path: ws + "/secret/inner", Access: ir.Write},
	}}
	hp := plan(t, p, proj)
	if argIndex(hp.Args, "--bind", proj+"/secret/inner", proj+"/secret/inner") >= 0 {
		t.Fatalf("a rule under a mandatory deny must not be mounted: %v", hp.Args)
	}
	if argIndex(hp.Args, "--perms", "0000", "--tmpfs", proj+"/secret") < 0 {
		t.Fatalf("want a closed mask: %v", hp.Args)
	}
}

func TestLowerNetworkAndDecode(t *testing.T) {
	p := seedPolicy()
	art, _ := Lower(p, backends.Options{})
	if art.Network != netNone || art.Env["CODEX_SANDBOX_NETWORK_DISABLED"] != "1" || argIndex(DirectNamespaceArgs(art), "--unshare-net") < 0 {
		t.Fatalf("network off must unshare net and set the reference's variable: %+v", art)
	}
	p.Network.Mode = ir.NetworkFull
	art, _ = Lower(p, backends.Options{})
	if argIndex(DirectNamespaceArgs(art), "--unshare-net") >= 0 || art.Seccomp.AllowSocketFamilies != nil {
		t.Fatal("network on: no net namespace, no socket-family allowlist")
	}
	p.Network.Mode = ir.NetworkProxy
	p.Network.Proxy = &ir.Proxy{SOCKS5: true, HTTPPort: 8080}
	art, diags := Lower(p, backends.Options{})
	if art.Network != netProxy || len(diags) != 0 || argIndex(DirectNamespaceArgs(art), "--unshare-net") < 0 ||
		*art.Proxy != (ProxyRoute{HTTPPort: 8080, SOCKSPort: ir.DefaultSOCKSPort}) || !art.Seccomp.UnixSocketpairOnly ||
		art.Env["HTTPS_PROXY"] != "http://127.0.0.1:8080" || art.Env["ALL_PROXY"] != "socks5h://127.0.0.1:8081" {
		t.Fatalf("proxy mode: own network namespace, the bridge's ports, a filter without host Unix sockets: %+v %v", art, diags)
	}
	b, _ := art.Encode()
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := back.Encode()
	if string(b) != string(b2) {
		t.Fatal("encode/decode is not stable")
	}
	for _, tamper := range []struct{ from, to string }{
		{`"net"`, `"uts"`},
		{`"format": "polc.linux.bwrap/v1"`, `"format": "other"`},
		{`"access": "write"`, `"access": "all"`},
		{`"root": "tmpfs"`, `"root": "bind"`},
		{`"ptrace"`, `"nosuchcall"`},
		{`"unix_socketpair_only": true`, `"unix_socketpair_only": false`},
		{`"http_port": 8080`, `"http_port": 8081`},
		{`"network": "proxy"`, `"network": "full"`},
	} {
		bad := strings.Replace(string(b), tamper.from, tamper.to, 1)
		if bad == string(b) {
			t.Fatalf("tamper %q not applied", tamper.from)
		}
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode accepted %s -> %s", tamper.from, tamper.to)
		}
	}
}

func TestUnboundVariableIsRefused(t *testing.T) {
	art, _ := Lower(seedPolicy(), backends.Options{})
	_, err := PlanHost(art, ir.Env{}, PlanOptions{})
	var pe *diag.Diagnostic
	if !errors.As(err, &pe) || pe.Code != diag.LinuxUnboundVariable {
		t.Fatalf("want %s, got %v", diag.LinuxUnboundVariable, err)
	}
}

// BenchmarkPlanHostSeed is the launch-time binding of the seed profile
// (exact mounts plus a cold glob expansion) that every polc exec pays.
func BenchmarkPlanHostSeed(b *testing.B) {
	root, _ := filepath.EvalSymlinks(b.TempDir())
	proj := filepath.Join(root, "proj")
	for _, f := range []string{".env", "a.txt", "sub/x.env", "sub/deep/y.env", ".git/HEAD"} {
		os.MkdirAll(filepath.Dir(filepath.Join(proj, f)), 0o755)
		os.WriteFile(filepath.Join(proj, f), nil, 0o644)
	}
	art, _ := Lower(seedPolicy(), backends.Options{})
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: proj}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := PlanHost(art, env, PlanOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestProcKnobsReadOnly: every plan with a fresh /proc covers the
// kernel's global knobs read-only right after mounting it (a later
// --proc would uncover them), and unshares the UTS namespace, whatever
// the root and the number of masks.
func TestProcKnobsReadOnly(t *testing.T) {
	proj := mkTree(t, "a.env", "b/c.env")
	hp := plan(t, seedPolicy(), proj)
	i := argIndex(hp.Args, "--proc", "/proc")
	if i < 0 {
		t.Fatalf("no --proc in %q", hp.Args)
	}
	if j := argIndex(hp.Args, ProcCoverArgs...); j != i+2 {
		t.Fatalf("proc covers at %d, want right after --proc (%d): %q", j, i+2, hp.Args)
	}
	if argIndex(ProcCoverArgs, "--ro-bind", "/proc/sys", "/proc/sys") != 0 {
		t.Fatalf("/proc/sys must be bound with --ro-bind (fail closed), got %q", ProcCoverArgs)
	}
	for _, stage := range []bool{false, true} {
		args, _ := hp.LaunchArgs(stage, 7)
		if argIndex(args, "--unshare-uts") < 0 {
			t.Errorf("no --unshare-uts in %q", args)
		}
	}
	// An artifact that does not unshare uts is refused.
	art, _ := Lower(seedPolicy(), backends.Options{})
	art.Namespaces = []string{nsUser, nsPID, nsIPC, nsNet}
	payload, _ := art.Encode()
	if _, err := Decode(payload); err == nil || !strings.Contains(err.Error(), "uts") {
		t.Errorf("artifact without the uts namespace: want a refusal, got %v", err)
	}
}

// TestUnixSocketLowering: with the network off the filter keeps AF_UNIX
// to the command's own peers; one allowed socket cannot be enforced
// exactly (it would allow all: POL079, an error unless the user accepts
// it, then a warning, and the artifact names the socket); allowing all
// is exact. An artifact whose filter allows connect with the network off
// must name the sockets, or it is refused.
func TestUnixSocketLowering(t *testing.T) {
	p := seedPolicy()
	art, diags := Lower(p, backends.Options{})
	if diags.HasErrors() || !art.Seccomp.UnixPeersOnly || art.UnixSockets != nil {
		t.Fatalf("network off: %+v %v", art.Seccomp, diags)
	}
	p.Network.UnixSockets = []ir.UnixSocket{{Path: "/run/a.sock", Origin: ir.Origin{Pos: diag.Pos{File: "c.toml", Line: 3}}}}
	if _, diags := Lower(p, backends.Options{}); !diags.HasErrors() || diags[0].Code != diag.LinuxUnixSocketWidened || diags[0].Pos.Line != 3 {
		t.Fatalf("one socket: want POL079 at line 3, got %v", diags)
	}
	art, diags = Lower(p, backends.Options{AllowUnenforceable: true})
	if diags.HasErrors() || len(diags) != 1 || diags[0].Severity != diag.Warning || art.Seccomp.UnixPeersOnly || len(art.UnixSockets) != 1 {
		t.Fatalf("one socket, --allow-unenforceable: %+v %v", art, diags)
	}
	p.Network.UnixSockets = nil
	p.Network.AllUnixSockets = &ir.Origin{}
	art, diags = Lower(p, backends.Options{})
	if diags.HasErrors() || art.Seccomp.UnixPeersOnly || len(art.UnixSockets) != 1 || art.UnixSockets[0] != AllUnixSockets {
		t.Fatalf("all sockets: %+v %v", art, diags)
	}
	payload, _ := art.Encode()
	if _, err := Decode(payload); err != nil {
		t.Fatal(err)
	}
	art.UnixSockets = nil
	payload, _ = art.Encode()
	if _, err := Decode(payload); err == nil {
		t.Error("filter allowing connect with no socket named: want a refusal")
	}
	p.Network = ir.Network{Mode: ir.NetworkFull, UnixSockets: []ir.UnixSocket{{Path: "/run/a.sock"}}}
	if art, diags := Lower(p, backends.Options{}); diags.HasErrors() || art.Seccomp.UnixPeersOnly {
		t.Fatalf("network on: %+v %v", art.Seccomp, diags)
	}
}
