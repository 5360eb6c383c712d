// Package diag holds polc's diagnostics: a stable code, a severity, the
// position in the TOML that caused it, a message and a one-line fix.
// Every stage reports through it, so text, JSON and SARIF output agree.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Severity orders diagnostics; errors fail a command, warnings do not
// (unless --strict promotes them).
type Severity int

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// MarshalText makes Severity print as its name in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the name written by MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = Error
	case "warning":
		*s = Warning
	case "info":
		*s = Info
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}

// Pos is a place in an input file. Line and Col are 1-based; zero means
// unknown (the diagnostic is about the file, or about no file at all).
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String renders file:line:col, dropping the parts that are unknown.
func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// IsZero reports whether the position names no file.
func (p Pos) IsZero() bool { return p.File == "" }

// Diagnostic is one finding.
type Diagnostic struct {
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	Pos      Pos      `json:"pos"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
	// Related points at other places involved (the requirement that
	// caused a refusal, the rule that shadows another).
	Related []Pos `json:"related,omitempty"`
}

// String is the go-vet style one-line form: file:line:col: severity: message [CODE].
func (d Diagnostic) String() string {
	var b strings.Builder
	if s := d.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s: %s [%s]", d.Severity, d.Message, d.Code)
	if d.Fix != "" {
		b.WriteString("\n\tfix: ")
		b.WriteString(d.Fix)
	}
	return b.String()
}

// Error lets a single diagnostic travel as an error.
func (d Diagnostic) Error() string { return d.String() }

// List accumulates diagnostics; stages append and go on, so one run
// reports every problem it can find.
type List []Diagnostic

// Add appends a diagnostic built from its parts.
func (l *List) Add(code Code, pos Pos, msg, fix string) {
	*l = append(*l, Diagnostic{Code: code, Severity: code.Severity(), Pos: pos, Message: msg, Fix: fix})
}

// Addf is Add with a formatted message.
func (l *List) Addf(code Code, pos Pos, fix, format string, args ...any) {
	l.Add(code, pos, fmt.Sprintf(format, args...), fix)
}

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	for _, d := range l {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns the error diagnostics only.
func (l List) Errors() List {
	var out List
	for _, d := range l {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Sort orders diagnostics by file, line, column, then code, so that output
// is stable whatever order the passes ran in.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		return a.Code < b.Code
	})
}

// Err returns the list as an error when it holds an error, else nil.
func (l List) Err() error {
	if !l.HasErrors() {
		return nil
	}
	return ErrorList(l.Errors())
}

// ErrorList is a List used as an error value.
type ErrorList List

func (e ErrorList) Error() string {
	parts := make([]string, len(e))
	for i, d := range e {
		parts[i] = d.String()
	}
	return strings.Join(parts, "\n")
}
