package diag

import "testing"

// TestCodesAreUnique: every code is declared once (the table panics
// otherwise), and every declared code can be looked up.
func TestCodesAreUnique(t *testing.T) {
	codes := Codes()
	if len(codes) != len(declared) {
		t.Fatalf("%d codes declared, %d in the table", len(declared), len(codes))
	}
	for _, info := range declared {
		if info.Code.Title() != info.Title || info.Code.Severity() != info.Severity {
			t.Errorf("%s: looked up as %q/%v, declared %q/%v", info.Code, info.Code.Title(), info.Code.Severity(), info.Title, info.Severity)
		}
	}
}
