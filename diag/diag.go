// Package diag holds polc's diagnostics: a stable code, a severity, the
// position in the TOML that caused it, a message and a one-line fix.
// Every stage reports through it, a *Diagnostic is the error every
// refusal returns, and one Printer writes them as text, JSON or SARIF, so
// that every command's output agrees.
package diag

import (
	"errors"
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

// Diagnostic is one finding, and polc's one coded error: every refusal
// polc returns is a *Diagnostic (or an ErrorList of them), so that
// errors.As(err, &d) recovers its code, position and fix wherever it
// was made.
type Diagnostic struct {
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	Pos      Pos      `json:"pos"`
	// End is where the text Pos points at ends (the column after its last
	// character, as SARIF's endColumn and go/analysis's End); nil when
	// only the start is known. Its File is left empty: it is in Pos's.
	End     *Pos   `json:"end,omitempty"`
	Message string `json:"message"`
	// Fix is one line of prose saying what to change, "" when nothing
	// needs to. A fix never suggests removing a deny or a protection: a
	// diagnostic about a redundant rule suggests removing only the rule
	// that grants nothing.
	Fix string `json:"fix,omitempty"`
	// Platform is the backend that reported it ("linux", "macos",
	// "windows"), "" for the compiler's own diagnostics.
	Platform string `json:"platform,omitempty"`
	// Profile is the permission profile it concerns, when a command
	// checked several (polc check --all); "" otherwise.
	Profile string `json:"profile,omitempty"`
	// Related points at other places involved (the requirement that
	// caused a refusal, the rule that shadows another), each with what it
	// is (as go/analysis's RelatedInformation).
	Related []Related `json:"related,omitempty"`

	// cause is the error a refusal was made from (Errorf with %w), for
	// errors.Is and errors.As.
	cause error
}

// Related is another place a diagnostic involves, with what it is there.
// In JSON its position's fields sit beside the message.
type Related struct {
	Pos
	Message string `json:"message,omitempty"`
}

// Rel is a related place with its message.
func Rel(pos Pos, msg string) Related { return Related{Pos: pos, Message: msg} }

// New returns a diagnostic with code's default severity.
func New(code Code, pos Pos, msg, fix string) *Diagnostic {
	return &Diagnostic{Code: code, Severity: code.Severity(), Pos: pos, Message: msg, Fix: fix}
}

// Errorf returns a diagnostic with no position as an error: a refusal
// made where no input line is at fault (a launch, an artifact, the
// host). The format is fmt.Errorf's; an error wrapped with %w stays
// reachable through errors.Is and errors.As.
func Errorf(code Code, format string, args ...any) *Diagnostic {
	err := fmt.Errorf(format, args...)
	d := New(code, Pos{}, err.Error(), "")
	if _, ok := err.(interface{ Unwrap() error }); ok {
		d.cause = err
	} else if _, ok := err.(interface{ Unwrap() []error }); ok {
		d.cause = err
	}
	return d
}

// At sets the diagnostic's position and returns it.
func (d *Diagnostic) At(pos Pos) *Diagnostic {
	d.Pos = pos
	return d
}

// WithFix sets the diagnostic's fix and returns it.
func (d *Diagnostic) WithFix(fix string) *Diagnostic {
	d.Fix = fix
	return d
}

// subject is the message with the profile and platform it concerns.
func (d *Diagnostic) subject() string {
	msg := d.Message
	if d.Platform != "" {
		msg = d.Platform + ": " + msg
	}
	if d.Profile != "" {
		msg = "profile " + d.Profile + ": " + msg
	}
	return msg
}

// String is the report form the text writer prints, as go vet prints a
// finding: file:line:col: severity: message [CODE], then the fix and
// each related place on indented lines of their own.
func (d Diagnostic) String() string {
	var b strings.Builder
	if s := d.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s: %s [%s]", d.Severity, d.subject(), d.Code)
	if d.Fix != "" {
		b.WriteString("\n\tfix: ")
		b.WriteString(d.Fix)
	}
	for _, r := range d.Related {
		if r.IsZero() {
			continue
		}
		b.WriteString("\n\t")
		b.WriteString(r.Pos.String())
		if r.Message != "" {
			b.WriteString(": ")
			b.WriteString(r.Message)
		}
	}
	return b.String()
}

// Error is the one-line form a command prints when it stops on the
// diagnostic: file:line:col: message [CODE]; fix: FIX.
func (d *Diagnostic) Error() string {
	var b strings.Builder
	if s := d.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s [%s]", d.subject(), d.Code)
	if d.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(d.Fix)
	}
	return b.String()
}

// Unwrap returns the error the diagnostic was made from, if any.
func (d *Diagnostic) Unwrap() error {
	if d.cause == nil {
		return nil
	}
	if u, ok := d.cause.(interface{ Unwrap() error }); ok {
		return u.Unwrap()
	}
	return d.cause
}

// AsDiagnostic finds the first diagnostic in err's chain.
func AsDiagnostic(err error) (*Diagnostic, bool) {
	var d *Diagnostic
	if errors.As(err, &d) {
		return d, true
	}
	return nil, false
}

// CodeOf returns the code of the first diagnostic in err's chain, "" when
// it holds none.
func CodeOf(err error) Code {
	if d, ok := AsDiagnostic(err); ok {
		return d.Code
	}
	return ""
}

// MessageOf is err's message without position, code and fix when err is
// a diagnostic (for a caller that puts it into a diagnostic of its own),
// else err's text.
func MessageOf(err error) string {
	if d, ok := AsDiagnostic(err); ok {
		return d.Message
	}
	return err.Error()
}

// InFile names file as the position of the diagnostic in err's chain
// when it has none, and returns the error with that position (a copy:
// the original is left as it was).
func InFile(err error, file string) error {
	d, ok := AsDiagnostic(err)
	if !ok || !d.Pos.IsZero() {
		return err
	}
	c := *d
	c.Pos = Pos{File: file}
	return &c
}

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

// Unwrap lets errors.As find each diagnostic of the list.
func (e ErrorList) Unwrap() []error {
	out := make([]error, len(e))
	for i := range e {
		out[i] = &e[i]
	}
	return out
}

// Line is the diagnostic on one line, for a command that stops on it or
// warns once: file:line:col: severity: message [CODE]; fix: FIX.
func (d Diagnostic) Line() string {
	line := d.Severity.String() + ": " + d.subject() + " [" + string(d.Code) + "]"
	if s := d.Pos.String(); s != "" {
		line = s + ": " + line
	}
	if d.Fix != "" {
		line += "; fix: " + d.Fix
	}
	return line
}
