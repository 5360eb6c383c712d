package diag

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Format is an output format of diagnostics.
type Format string

// The formats every command that reports diagnostics accepts.
const (
	Text  Format = "text"
	JSON  Format = "json"
	SARIF Format = "sarif"
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Text, JSON, SARIF:
		return f, nil
	}
	return "", fmt.Errorf("unknown --format %q: use text, json or sarif", s)
}

// Machine reports whether the format is for programs (JSON, SARIF): such
// output goes to stdout, where text diagnostics go to stderr.
func (f Format) Machine() bool { return f == JSON || f == SARIF }

// Printer writes diagnostics in one format. Every polc command prints its
// diagnostics through a Printer, so that they read the same everywhere.
type Printer struct {
	Format Format
	// Base is the directory text output names files relative to: the
	// project directory polc works in (-C, default the working
	// directory), as a Go tool run with -C DIR names files relative to
	// DIR. Files outside it keep their absolute path; "" keeps every path
	// as it is. JSON keeps absolute paths; SARIF names project files
	// relative to Root.
	Base string
	// Root is the project, SARIF's %SRCROOT% ("" when unknown).
	Root string
	// Version is polc's version, for SARIF's tool driver.
	Version string
}

// Write prints the list. Text output is one diagnostic after another
// (Diagnostic.String); JSON is the list as an array (empty, not null,
// when there is none); SARIF is a 2.1.0 log.
func (p Printer) Write(w io.Writer, l List) error {
	switch p.Format {
	case JSON:
		if l == nil {
			l = List{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(l)
	case SARIF:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sarifLog(l, p.Root, p.Version))
	}
	var b strings.Builder
	for _, d := range l {
		b.WriteString(p.Relative(d).String())
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Relative returns d with its files named relative to p.Base when they
// lie below it.
func (p Printer) Relative(d Diagnostic) Diagnostic {
	d.Pos.File = p.Path(d.Pos.File)
	if len(d.Related) > 0 {
		related := make([]Related, len(d.Related))
		for i, r := range d.Related {
			r.File = p.Path(r.File)
			related[i] = r
		}
		d.Related = related
	}
	return d
}

// Path is file as text output names it: relative to Base when it lies
// strictly below it, else unchanged (an absolute path, a symbolic one
// such as ${CODEX_HOME}/config.toml, or a flag such as -P).
func (p Printer) Path(file string) string {
	if p.Base == "" || !filepath.IsAbs(file) || !filepath.IsAbs(p.Base) {
		return file
	}
	base, f := filepath.Clean(p.Base), filepath.Clean(file)
	if f == base || !strings.HasPrefix(f, strings.TrimSuffix(base, string(filepath.Separator))+string(filepath.Separator)) {
		return file
	}
	rel, err := filepath.Rel(base, f)
	if err != nil {
		return file
	}
	return rel
}

// Counts is the tally text output ends with: "1 error, 2 warnings, 0 notes".
func (l List) Counts() string {
	var errs, warns, infos int
	for _, d := range l {
		switch d.Severity {
		case Error:
			errs++
		case Warning:
			warns++
		default:
			infos++
		}
	}
	return Plural(errs, "error") + ", " + Plural(warns, "warning") + ", " + Plural(infos, "note")
}

// Plural is "1 error", "2 errors".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
