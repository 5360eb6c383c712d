package lowering

import (
	"testing"

	"polc/backends"
	"polc/diag"
	"polc/ir"
)

func TestEveryPlatformHasItsBackend(t *testing.T) {
	if len(all) != len(ir.Platforms) {
		t.Fatalf("%d backends for %d platforms", len(all), len(ir.Platforms))
	}
	for i, p := range ir.Platforms {
		if got := all[i].Platform(); got != p {
			t.Errorf("backend %d is for %s, want %s (ir.Platforms order)", i, got, p)
		}
		if Backend(p).Platform() != p {
			t.Errorf("Backend(%s) answers for %s", p, Backend(p).Platform())
		}
	}
}

func TestLowerAll(t *testing.T) {
	ws := ir.VarWorkspaceRoot
	ok := &ir.Policy{Profile: "ws", WorkspaceRoots: []string{ws}, Minimal: &ir.Origin{Kind: ir.OriginBuiltin, Key: ":minimal"},
		Rules: []ir.Rule{{Path: ws, Access: ir.Write, Origin: ir.Origin{Kind: ir.OriginBuiltin, Key: ":workspace_roots"}}}}
	rs := LowerAll(ok, []ir.Platform{ir.Windows, ir.Linux, ir.Windows, ir.MacOS}, backends.Options{})
	if len(rs) != 3 || rs[0].Platform != ir.Windows || rs[1].Platform != ir.Linux || rs[2].Platform != ir.MacOS {
		t.Fatalf("want windows, linux, macos once each, got %+v", rs)
	}
	for _, r := range rs {
		if r.Output == nil || r.Refusal() != nil || r.Output.Platform != r.Platform || len(r.Output.Payload) == 0 {
			t.Errorf("%s: output %v, refusal %v", r.Platform, r.Output, r.Refusal())
		}
	}
	// Without :minimal no Windows process starts: Windows refuses, with
	// the error that says why; Linux lowers it.
	ok.Minimal = nil
	rs = LowerAll(ok, []ir.Platform{ir.Linux, ir.Windows}, backends.Options{})
	if rs[0].Output == nil || rs[0].Refusal() != nil {
		t.Errorf("linux: output %v, refusal %v", rs[0].Output, rs[0].Refusal())
	}
	if d := rs[1].Refusal(); d == nil || d.Severity != diag.Error || d.Code != diag.WindowsSystemRootsHide {
		t.Errorf("windows: refusal %v, want POL092", d)
	}
}
