package diag_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"polc/artifact"
	"polc/backends/seatbelt"
	"polc/diag"
	"polc/firewall"
	"polc/hostprobe"
	"polc/ir"
)

// TestOneCodedErrorShape: the refusals of each package that used to
// have an error shape of its own (an artifact error, a Seatbelt error
// with the code pasted into its text, a domain rule error, the
// firewall's, the host probe's findings) are *diag.Diagnostic, and
// errors.As recovers code, position and fix from them, wrapped or not.
func TestOneCodedErrorShape(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "a.json")
	if err := os.WriteFile(bad, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, artErr := artifact.Load(bad)
	_, macErr := seatbelt.Decode([]byte("{"))
	limited := &firewall.Spec{Network: ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{Methods: ir.MethodsLimited}}}
	f := &hostprobe.Finding{Code: diag.HostWSL1, Cause: "this is WSL1", Fix: "convert it to WSL2"}
	for _, c := range []struct {
		name    string
		err     error
		code    diag.Code
		file    string
		withFix bool
	}{
		{"artifact", artErr, diag.ArtifactMalformed, bad, false},
		{"seatbelt", macErr, diag.MacBadArtifact, "", false},
		{"domain rule", ir.ValidateDomainRule(ir.DomainRule{Pattern: "*", Action: ir.DomainDeny}), diag.NetGlobalDeny, "", false},
		{"firewall", limited.CheckMode(false), diag.FirewallLimitedMode, "", true},
		{"host finding", f.Diagnostic(), diag.HostWSL1, "", true},
	} {
		for _, err := range []error{c.err, errors.Join(errors.New("context"), c.err)} {
			var d *diag.Diagnostic
			if !errors.As(err, &d) {
				t.Errorf("%s: %T %v is no diagnostic", c.name, err, err)
				continue
			}
			if d.Code != c.code || d.Pos.File != c.file || (d.Fix != "") != c.withFix {
				t.Errorf("%s: recovered %+v, want code %s, file %q, fix %v", c.name, d, c.code, c.file, c.withFix)
			}
		}
	}
	if got, want := f.String(), "this is WSL1 [POL130]; fix: convert it to WSL2"; got != want {
		t.Errorf("finding line %q, want %q", got, want)
	}
}
