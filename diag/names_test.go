package diag_test

import (
	"bytes"
	"strings"
	"testing"

	"polc/diag"
	"polc/ir"
)

// TestWorkspaceRootName: the SARIF writer recognizes machine-independent
// positions by ir's name for the project (diag cannot import ir).
func TestWorkspaceRootName(t *testing.T) {
	d := diag.List{{Code: diag.DeadRule, Severity: diag.Warning, Pos: diag.Pos{File: ir.VarWorkspaceRoot + "/.codex/config.toml", Line: 1}}}
	var b bytes.Buffer
	if err := (diag.Printer{Format: diag.SARIF}).Write(&b, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"uriBaseId": "%SRCROOT%"`) {
		t.Errorf("%s is not read as the project:\n%s", ir.VarWorkspaceRoot, b.String())
	}
}
