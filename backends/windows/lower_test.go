package windows

import (
	"encoding/json"
	"strings"
	"testing"

	"polc/diag"
	"polc/internal/canonjson"
	"polc/internal/globwalk"
	"polc/ir"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Src\App\`:               "c:/src/app",
		`\\?\C:\Src\App`:            "c:/src/app",
		`\??\C:\x`:                  "c:/x",
		`\\?\UNC\Server\Share\Dir`:  "//server/share/dir",
		`\\Server\Share`:            "//server/share",
		`C:\`:                       "c:",
		"C:/Windows/../Windows/Sys": "c:/windows/sys",
		"/var/tmp/X":                "/var/tmp/x",
		"/":                         "/",
	} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
	if !underKey("c:/src/app/x", "c:") || !underKey("c:", "/") || !underKey("//server/share/d", "/") || underKey("c:/srcx", "c:/src") {
		t.Error("underKey: drive, universal root or component boundary wrong")
	}
	if IsWindowsPath("/tmp") || !IsWindowsPath(`C:\x`) || !IsWindowsPath(`\\srv\share`) {
		t.Error("IsWindowsPath")
	}
}

func TestPortComplement(t *testing.T) {
	for _, c := range []struct {
		ports []int
		want  string
	}{
		{nil, "*"},
		{[]int{8080}, "1-8079,8081-65535"},
		{[]int{8080, 1081, 8080, 0}, "1-1080,1082-8079,8081-65535"},
		{[]int{1, 65535}, "2-65534"},
	} {
		if got := PortComplement(c.ports); got != c.want {
			t.Errorf("PortComplement(%v) = %s, want %s", c.ports, got, c.want)
		}
	}
}

func hasDiag(l diag.List, code diag.Code, sev diag.Severity) bool {
	for _, d := range l {
		if d.Code == code && d.Severity == sev {
			return true
		}
	}
	return false
}

func TestNoMinimalRefusedUnlessAllowed(t *testing.T) {
	pol := &ir.Policy{Profile: "bare", Rules: []ir.Rule{{Path: ir.VarWorkspaceRoot, Access: ir.Write,
		Origin: ir.Origin{Kind: ir.OriginConfig, Pos: diag.Pos{File: "config.toml", Line: 4, Col: 1}}}}}
	plan, diags := Lower(pol, LowerOptions{})
	if !hasDiag(diags, diag.WindowsSystemRootsHide, diag.Error) || !plan.Modes[Elevated].Refused {
		t.Fatalf("a profile without :minimal must be refused on Windows: %v", diags)
	}
	plan, diags = Lower(pol, LowerOptions{AllowUnenforceable: true})
	if diags.HasErrors() || !hasDiag(diags, diag.WindowsSystemRootsHide, diag.Warning) || !plan.Modes[Elevated].AllowUnenforceable {
		t.Fatalf("AllowUnenforceable must downgrade the refusal and record it: %v", diags)
	}
}

func TestUnelevatedPreferredOnlyWhenItEnforcesEverything(t *testing.T) {
	pol := &ir.Policy{Profile: "rw", Network: ir.Network{Mode: ir.NetworkFull}, Rules: []ir.Rule{
		{Path: "/", Access: ir.Read}, {Path: ir.VarWorkspaceRoot, Access: ir.Write}}}
	plan, diags := Lower(pol, LowerOptions{})
	if diags.HasErrors() || plan.PreferredMode != Unelevated || plan.Modes[Unelevated].Refused {
		t.Fatalf("full read + network: want unelevated, got %s (%v)", plan.PreferredMode, diags)
	}
	pol.Network.Mode = ir.NetworkNone
	plan, diags = Lower(pol, LowerOptions{})
	if plan.PreferredMode != Elevated || !plan.Modes[Unelevated].Refused || diags.HasErrors() || !hasDiag(diags, diag.WindowsUnelevatedGaps, diag.Info) {
		t.Fatalf("network off: unelevated must refuse and elevated be preferred: %s %v", plan.PreferredMode, diags)
	}
	pol.Network.Mode = ir.NetworkFull
	pol.Rules = append(pol.Rules, ir.Rule{Path: ir.VarHome + "/.ssh", Access: ir.Deny})
	plan, _ = Lower(pol, LowerOptions{})
	g := plan.Modes[Unelevated].Gaps
	if plan.PreferredMode != Elevated || len(g) == 0 || g[0].Op != "read" || !g[0].Refuses {
		t.Fatalf("a deny-read rule cannot be enforced unelevated: %+v", g)
	}
}

func TestSystemDirectoryRules(t *testing.T) {
	pol := &ir.Policy{Profile: "sys", Minimal: &ir.Origin{Kind: ir.OriginConfig}, Rules: []ir.Rule{
		{Path: "C:/Windows/System32/config", Access: ir.Deny},
		{Path: "C:/Program Files/Tool", Access: ir.Write},
	}}
	plan, diags := Lower(pol, LowerOptions{})
	if !hasDiag(diags, diag.WindowsSystemACE, diag.Error) || !hasDiag(diags, diag.WindowsSystemWrite, diag.Warning) {
		t.Fatalf("deny inside a system dir must refuse, write inside one warn: %v", diags)
	}
	if !plan.Modes[Elevated].Refused {
		t.Fatal("elevated mode must refuse")
	}
}

func TestCaseCollisionWarned(t *testing.T) {
	pol := &ir.Policy{Minimal: &ir.Origin{}, Rules: []ir.Rule{
		{Path: ir.VarWorkspaceRoot + "/Docs", Access: ir.Write},
		{Path: ir.VarWorkspaceRoot + "/docs", Access: ir.Deny},
	}}
	plan, diags := Lower(pol, LowerOptions{})
	if !hasDiag(diags, diag.WindowsCaseCollision, diag.Warning) {
		t.Fatalf("want a case-collision warning: %v", diags)
	}
	for _, s := range plan.Modes[Elevated].Steps {
		if s.Op == OpACLAllow && strings.EqualFold(s.Path, ir.VarWorkspaceRoot+"/docs") {
			t.Fatalf("the deny must win on the one Windows path, got %+v", s)
		}
	}
}

// TestWindowsPathsEvaluated runs the evaluator on Windows-style host
// paths (a fake host: Windows cannot run here): case, separators and the
// \\?\ prefix do not matter, a carve-out below a denied directory stays
// reachable, a glob match is denied whatever the exact rules say.
func TestWindowsPathsEvaluated(t *testing.T) {
	ws := ir.VarWorkspaceRoot
	pol := &ir.Policy{Profile: "w", Minimal: &ir.Origin{}, Rules: []ir.Rule{
		{Path: ws, Access: ir.Write},
		{Path: ws + "/.git", Access: ir.Read, SkipIfMissing: true, Origin: ir.Origin{Kind: ir.OriginProtected}},
		{Path: ws + "/build", Access: ir.Deny},
		{Path: ws + "/build/out", Access: ir.Write},
		{Path: ws + "/secrets", Access: ir.Read},
	}, Globs: []ir.Glob{{Pattern: ws + "/**/*.pem", Base: ws}}}
	plan, diags := Lower(pol, LowerOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	existing := map[string]bool{"c:/src/app": true, "c:/src/app/.git": true, "c:/src/app/build/out": true, "c:/src/app/secrets/k.pem": true}
	env := ir.Env{Bindings: ir.Bindings{ws: `C:\src\app`},
		Resolve: func(p string) string { return p },
		Exists:  func(p string) bool { return existing[Key(p)] }}
	expand := func([]BoundGlob, []globwalk.Region) ([]GlobHit, error) {
		return []GlobHit{{Path: `C:\src\app\secrets\k.pem`, Glob: 0}}, nil
	}
	ev, err := NewEvaluator(plan, Elevated, env, expand)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path  string
		op    ir.Op
		allow bool
	}{
		{`C:\src\app\main.go`, ir.OpWrite, true},
		{`c:/SRC/APP/main.go`, ir.OpWrite, true},
		{`\\?\C:\src\app\.GIT\config`, ir.OpWrite, false},
		{`C:\src\app\.git\config`, ir.OpRead, true},
		{`C:\src\app\build\x.o`, ir.OpRead, false},
		{`C:\src\app\build\out\x.o`, ir.OpWrite, true},
		{`C:\src\app\Build\Out\x.o`, ir.OpRead, true},
		{`C:\src\app\secrets\a.txt`, ir.OpRead, true},
		{`C:\src\app\secrets\a.txt`, ir.OpWrite, false},
		{`C:\src\app\secrets\k.pem`, ir.OpRead, false},
		{`C:\Users\dev\.ssh\id_rsa`, ir.OpRead, false},
		{`C:\Windows\System32\cmd.exe`, ir.OpRead, true},
		{`C:\Windows\System32\cmd.exe`, ir.OpWrite, false},
		{`D:\data\x`, ir.OpRead, false},
	} {
		got := ev.Decide(c.path, c.op)
		if got.Allowed != c.allow {
			t.Errorf("%s %s = %v, want %v (%s)", c.op, c.path, got.Allowed, c.allow, got.Reason)
		}
	}
	// The same answers as ir.Decide on the slash form of each path.
	d, err := ir.NewDecider(pol, ir.Env{Bindings: ir.Bindings{ws: "C:/src/app"}, Platform: "windows",
		Resolve: func(p string) string { return p }, Exists: func(p string) bool { return existing[Key(p)] }})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"C:/src/app/main.go", "C:/src/app/.git/config", "C:/src/app/build/x.o", "C:/src/app/build/out/x.o",
		"C:/src/app/secrets/a.txt", "C:/src/app/secrets/k.pem", "C:/Users/dev/x", "C:/Windows/x"} {
		for _, op := range []ir.Op{ir.OpRead, ir.OpWrite} {
			if got, want := ev.Decide(p, op), d.Decide(p, op); got.Allowed != want.AllowedWithinCap {
				t.Errorf("%s %s: windows %v, ir %v (%s | %s)", op, p, got.Allowed, want.AllowedWithinCap, got.Reason, want.Reason())
			}
		}
	}
}

func TestNetworkModes(t *testing.T) {
	base := func(mode ir.NetworkMode, ports ...int) *Plan {
		n := ir.Network{Mode: mode}
		if len(ports) > 0 {
			n.Proxy = &ir.Proxy{HTTPPort: ports[0]}
		}
		pol := &ir.Policy{Minimal: &ir.Origin{}, Rules: []ir.Rule{{Path: "/", Access: ir.Read}}, Network: n}
		plan, _ := Lower(pol, LowerOptions{})
		return plan
	}
	env := ir.Env{Bindings: ir.Bindings{}}
	for _, c := range []struct {
		plan *Plan
		mode string
		host string
		port int
		want bool
	}{
		{base(ir.NetworkNone), Elevated, "127.0.0.1", 8080, false},
		{base(ir.NetworkNone), Elevated, "::1", 8080, false},
		{base(ir.NetworkNone), Elevated, "10.0.0.1", 443, false},
		{base(ir.NetworkNone), Unelevated, "10.0.0.1", 443, true}, // advisory only: a refusing gap
		{base(ir.NetworkProxy, 3128), Elevated, "127.0.0.1", 3128, true},
		{base(ir.NetworkProxy, 3128), Elevated, "127.0.0.1", 3129, false},
		{base(ir.NetworkProxy, 3128), Elevated, "8.8.8.8", 3128, false},
		{base(ir.NetworkFull), Elevated, "8.8.8.8", 443, true},
	} {
		ev, err := NewEvaluator(c.plan, c.mode, env, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.Network(c.host, c.port); got.Allowed != c.want {
			t.Errorf("%s %s %s:%d = %v, want %v (%s)", c.plan.Network.Mode, c.mode, c.host, c.port, got.Allowed, c.want, got.Reason)
		}
	}
	if !base(ir.NetworkNone).Modes[Unelevated].Refused {
		t.Error("unelevated mode must refuse network off")
	}
}

func TestDecodeRejectsBadPlans(t *testing.T) {
	plan, _ := Lower(seedPolicy(), LowerOptions{})
	good, err := canonjson.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(good); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	mutate := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	steps := func(m map[string]any) []any {
		return m["modes"].(map[string]any)["elevated"].(map[string]any)["steps"].([]any)
	}
	for name, bad := range map[string][]byte{
		"format":     mutate(func(m map[string]any) { m["format"] = "other/v9" }),
		"unknown":    mutate(func(m map[string]any) { m["extra"] = 1 }),
		"mode":       mutate(func(m map[string]any) { m["modes"].(map[string]any)["sneaky"] = map[string]any{} }),
		"op":         mutate(func(m map[string]any) { steps(m)[0].(map[string]any)["op"] = "acl.everything" }),
		"mask":       mutate(func(m map[string]any) { steps(m)[5].(map[string]any)["mask"] = "0xZZ" }),
		"truncated":  good[:len(good)/2],
		"preference": mutate(func(m map[string]any) { m["preferred_mode"] = "none" }),
	} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("%s: tampered plan accepted", name)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, _ := Lower(seedPolicy(), LowerOptions{})
	b, _ := Lower(seedPolicy(), LowerOptions{})
	ja, _ := canonjson.Marshal(a)
	jb, _ := canonjson.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("two lowerings of one policy differ")
	}
}

func TestPlanPathsNormalised(t *testing.T) {
	pol := &ir.Policy{Minimal: &ir.Origin{}, Rules: []ir.Rule{
		{Path: `\\?\C:\Src\App\`, Access: ir.Write},
		{Path: `C:\Src\App\.git`, Access: ir.Read},
		{Path: ir.VarHome + "/x", Access: ir.Deny},
	}}
	plan, _ := Lower(pol, LowerOptions{})
	var paths []string
	for _, s := range plan.Modes[Elevated].Steps {
		if s.Op == OpACLAllow || s.Op == OpACLDeny {
			paths = append(paths, s.Path+" "+s.SID)
		}
	}
	want := []string{
		"${HOME}/x grp:sandbox", "${HOME}/x cap:C:/Src/App",
		"C:/Src/App grp:sandbox", "C:/Src/App cap:C:/Src/App",
		"C:/Src/App/.git grp:sandbox", "C:/Src/App/.git cap:C:/Src/App",
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Fatalf("plan paths:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
}
