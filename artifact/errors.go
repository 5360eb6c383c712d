package artifact

import (
	"errors"
	"fmt"

	"polc/diag"
)

// Error is a refusal or failure with a stable diagnostic code. Its message
// is one line, so the CLI can print it as is and exit.
type Error struct {
	Code diag.Code
	// File is the artifact or key file concerned, "" when none.
	File string
	Msg  string
}

func (e *Error) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s: %s [%s]", e.File, e.Msg, e.Code)
	}
	return fmt.Sprintf("%s [%s]", e.Msg, e.Code)
}

func errf(code diag.Code, file, format string, args ...any) *Error {
	return &Error{Code: code, File: file, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the diagnostic code of an artifact error, "" for others.
func CodeOf(err error) diag.Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// WithFile sets the file name of an artifact error that has none.
func WithFile(err error, file string) error {
	var e *Error
	if errors.As(err, &e) && e.File == "" {
		c := *e
		c.File = file
		return &c
	}
	return err
}

// Message is the error's text without file and code, for callers that
// put it in a diagnostic of their own.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}
