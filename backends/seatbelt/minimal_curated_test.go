package seatbelt

import (
	"strings"
	"testing"

	"polc/backends"
	"polc/ir"
)

// :minimal reads only Codex's curated /System/Library subpaths (its
// restricted_read_only_platform_defaults.sbpl), not the whole tree: a
// framework is readable, OpenSSL's config is not, and the evaluator's
// reason names the curated list either way (polc explain --target macos).
func TestMinimalCuratedSystemLibrary(t *testing.T) {
	pol := &ir.Policy{Profile: "min", Minimal: &ir.Origin{Kind: ir.OriginConfig, Key: ":minimal"}, WorkspaceRoots: []string{ir.VarWorkspaceRoot},
		Network: ir.Network{Mode: ir.NetworkNone}}
	paths := []string{
		"/System/Library/Frameworks/Foundation.framework/Foundation",
		"/System/Library/PrivateFrameworks/X.framework/X",
		"/System/Library/SubFrameworks/Y.framework/Y",
		"/System/Library/CoreServices/SystemVersion.plist",
		"/System/Library/CoreServices/.SystemVersionPlatform.plist",
		"/System/iOSSupport/System/Library/Frameworks/UIKit.framework/UIKit",
		"/System/Library/OpenSSL/openssl.cnf",
		"/System/Library/CoreServices/Finder.app/Contents/Info.plist",
		"/System/Library/Extensions/AGX.kext/Info.plist",
		"/System/iOSSupport/usr/lib/x.dylib",
	}
	validate(t, pol, ir.Env{}, paths)

	out, diags := Lower(pol, backends.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	ev, err := NewEvaluator(out.Payload, ir.Env{})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		v := ev.Decide(p, ir.OpRead)
		wantAllowed := i < 6
		if v.Allowed != wantAllowed {
			t.Errorf("read %s: allowed %v, want %v (%s)", p, v.Allowed, wantAllowed, v.Reason)
		}
		if wantAllowed && !strings.Contains(v.Reason, "curated macOS platform defaults") {
			t.Errorf("read %s: reason does not name the curated list: %s", p, v.Reason)
		}
		if !wantAllowed && strings.HasPrefix(p, "/System/Library/") && !strings.Contains(v.Reason, "curated subpaths of /System/Library") {
			t.Errorf("read %s: reason does not name the curated list: %s", p, v.Reason)
		}
	}
	if !strings.Contains(string(out.Files["sb"]), "curated platform defaults") {
		t.Error("the profile text does not say the :minimal roots are Codex's curated list")
	}
}
