package bwrap

import (
	"path/filepath"
	"testing"

	"polc/backends"
	"polc/ir"
)

// TestMaskHostDirs: WSL2's interop directories are hidden where a wider
// rule shows them (":root" read), left alone where a rule of their own
// grants them, and not touched where the sandbox does not show them.
func TestMaskHostDirs(t *testing.T) {
	root := mkTree(t, "run/WSL/2_interop", "mnt/wslg/PulseServer", "proj/a")
	wsl := filepath.Join(root, "run/WSL")
	wslg := filepath.Join(root, "mnt/wslg")
	cfg := ir.Origin{Kind: ir.OriginConfig}
	lower := func(rules ...ir.Rule) *HostPlan {
		t.Helper()
		art, diags := Lower(&ir.Policy{Profile: "p", Rules: rules}, backends.Options{})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		hp, err := PlanHost(art, ir.Env{}, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		hp.MaskHostDirs([]string{wsl, wslg}, "WSL2 interop")
		return hp
	}

	hp := lower(ir.Rule{Path: "/", Access: ir.Read, Origin: cfg})
	if len(hp.Masks) != 2 || !hp.Masks[0].Dir || hp.Masks[0].Path != wsl || hp.Masks[1].Path != wslg {
		t.Fatalf(":root read: masks %+v, want %s and %s as directories", hp.Masks, wsl, wslg)
	}
	if hp.Readable(filepath.Join(wsl, "2_interop")) || len(hp.Guards) != 2 {
		t.Errorf(":root read: the interop socket is still visible (guards %v)", hp.Guards)
	}

	hp = lower(ir.Rule{Path: "/", Access: ir.Read, Origin: cfg}, ir.Rule{Path: wsl, Access: ir.Read, Origin: cfg})
	if len(hp.Masks) != 1 || hp.Masks[0].Path != wslg {
		t.Errorf("a rule naming %s: masks %+v, want only %s", wsl, hp.Masks, wslg)
	}

	hp = lower(ir.Rule{Path: filepath.Join(root, "proj"), Access: ir.Write, Origin: cfg})
	if len(hp.Masks) != 0 {
		t.Errorf("a sandbox that does not show them: masks %+v, want none", hp.Masks)
	}
}
