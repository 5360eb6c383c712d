package artifact

import (
	"fmt"

	"polc/diag"
)

// errf is a refusal or failure about file ("" when none): a
// *diag.Diagnostic whose one-line text (file: message [CODE]) the CLI
// prints as is. diag.CodeOf, diag.MessageOf and diag.InFile read it back.
func errf(code diag.Code, file, format string, args ...any) *diag.Diagnostic {
	d := diag.New(code, diag.Pos{}, fmt.Sprintf(format, args...), "")
	if file != "" {
		d.Pos = diag.Pos{File: file}
	}
	return d
}

// CodeOrDefault returns the code of the diagnostic err carries, or def
// for an error that carries none.
func CodeOrDefault(err error, def diag.Code) diag.Code {
	if c := diag.CodeOf(err); c != "" {
		return c
	}
	return def
}
