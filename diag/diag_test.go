package diag

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

// TestErrorsAsRecoversEverything: a diagnostic returned as an error,
// wrapped by callers and gathered in an ErrorList, still gives back its
// code, position and fix through errors.As.
func TestErrorsAsRecoversEverything(t *testing.T) {
	d := New(RelativePath, Pos{File: "/p/.codex/config.toml", Line: 3, Col: 5}, `path "x" must be absolute`, `write "/x" or "~/x"`)
	for name, err := range map[string]error{
		"bare":    d,
		"wrapped": fmt.Errorf("compiling: %w", d),
		"list":    List{*New(BadAccess, Pos{}, "first", ""), *New(UnknownKey, Pos{}, "a warning", ""), *d}.Err(),
		"joined":  errors.Join(errors.New("other"), d),
	} {
		var got *Diagnostic
		if !errors.As(err, &got) {
			t.Errorf("%s: errors.As found no diagnostic in %v", name, err)
			continue
		}
		if name == "list" {
			// The list's first diagnostic is found first.
			if got.Code != BadAccess {
				t.Errorf("list: got %s first", got.Code)
			}
			continue
		}
		if got.Code != RelativePath || got.Pos.Line != 3 || got.Pos.Col != 5 || got.Fix != d.Fix {
			t.Errorf("%s: recovered %+v", name, got)
		}
		if CodeOf(err) != RelativePath {
			t.Errorf("%s: CodeOf = %q", name, CodeOf(err))
		}
	}
	if CodeOf(errors.New("plain")) != "" || MessageOf(errors.New("plain")) != "plain" {
		t.Error("a plain error has no code and keeps its text")
	}
}

// TestErrorfWraps: Errorf's %w keeps the cause reachable, and the
// one-line form is what the CLI prints: message [CODE]; fix: FIX.
func TestErrorfWraps(t *testing.T) {
	d := Errorf(ArtifactMalformed, "reading %s: %w", "a.json", fs.ErrNotExist)
	if !errors.Is(d, fs.ErrNotExist) {
		t.Error("errors.Is lost the wrapped cause")
	}
	if got, want := d.Error(), "reading a.json: file does not exist [POL100]"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	d.WithFix("rebuild it").At(Pos{File: "a.json"})
	if got, want := d.Error(), "a.json: reading a.json: file does not exist [POL100]; fix: rebuild it"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := Errorf(ArtifactMalformed, "plain %d", 1); got.Unwrap() != nil {
		t.Errorf("a message without %%w wraps %v", got.Unwrap())
	}
	if err := InFile(Errorf(ArtifactStale, "stale"), "x.json"); err.Error() != "x.json: stale [POL107]" {
		t.Errorf("InFile: %v", err)
	}
	if err := InFile(Errorf(ArtifactStale, "stale").At(Pos{File: "y.json"}), "x.json"); err.Error() != "y.json: stale [POL107]" {
		t.Errorf("InFile replaced a file: %v", err)
	}
}

// TestForms: the report form names the severity, the platform and
// profile, and each related place with its message; Error and Line stay
// on one line.
func TestForms(t *testing.T) {
	d := Diagnostic{Code: DeadRule, Severity: Warning, Pos: Pos{File: "c.toml", Line: 4, Col: 1},
		Message: "read rule /a has no effect", Fix: "remove this read rule", Platform: "linux", Profile: "dev",
		Related: []Related{Rel(Pos{File: "r.toml", Line: 2, Col: 3}, "the deny rule that wins"), Rel(Pos{}, "dropped: no place")}}
	want := "c.toml:4:1: warning: profile dev: linux: read rule /a has no effect [POL031]\n" +
		"\tfix: remove this read rule\n" +
		"\tr.toml:2:3: the deny rule that wins"
	if got := d.String(); got != want {
		t.Errorf("String():\n%s\nwant:\n%s", got, want)
	}
	if got := d.Line(); got != "c.toml:4:1: warning: profile dev: linux: read rule /a has no effect [POL031]; fix: remove this read rule" {
		t.Errorf("Line() = %q", got)
	}
	if strings.Contains(d.Error(), "\n") || strings.Contains(d.Error(), "warning") {
		t.Errorf("Error() = %q: one line, no severity", d.Error())
	}
}

// TestJSONShape: related places keep the position's fields beside their
// message, End and the platform are left out when unknown.
func TestJSONShape(t *testing.T) {
	d := Diagnostic{Code: DeadRule, Severity: Warning, Pos: Pos{File: "c.toml", Line: 1, Col: 2}, Message: "m",
		Related: []Related{Rel(Pos{File: "r.toml", Line: 2}, "why")}}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"code":"POL031","severity":"warning","pos":{"file":"c.toml","line":1,"col":2},"message":"m","related":[{"file":"r.toml","line":2,"message":"why"}]}`; got != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", got, want)
	}
	d.End, d.Platform, d.Profile = &Pos{Line: 1, Col: 9}, "macos", "p"
	b, _ = json.Marshal(d)
	var back Diagnostic
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.End == nil || *back.End != *d.End || back.Platform != "macos" || back.Profile != "p" || back.Related[0].Message != "why" || back.Related[0].Line != 2 {
		t.Errorf("round trip: %+v", back)
	}
}

// TestPrinterPaths: text output names files below the project relative
// to it; the project itself, files outside it, symbolic files and flags
// keep their names. JSON keeps absolute paths.
func TestPrinterPaths(t *testing.T) {
	p := Printer{Format: Text, Base: "/src/proj"}
	for in, want := range map[string]string{
		"/src/proj/.codex/config.toml": ".codex/config.toml",
		"/src/proj":                    "/src/proj",
		"/src/project/config.toml":     "/src/project/config.toml",
		"/etc/codex/requirements.toml": "/etc/codex/requirements.toml",
		"${CODEX_HOME}/config.toml":    "${CODEX_HOME}/config.toml",
		"-P":                           "-P",
		"":                             "",
	} {
		if got := p.Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (Printer{Base: "/"}).Path("/etc/x"); got != "etc/x" {
		t.Errorf("base /: %q", got)
	}
	l := List{{Code: DeadRule, Severity: Warning, Pos: Pos{File: "/src/proj/a.toml", Line: 1}, Message: "m",
		Related: []Related{Rel(Pos{File: "/src/proj/b.toml", Line: 2}, "r")}}}
	var text, js bytes.Buffer
	if err := p.Write(&text, l); err != nil {
		t.Fatal(err)
	}
	if got := text.String(); got != "a.toml:1: warning: m [POL031]\n\tb.toml:2: r\n" {
		t.Errorf("text: %q", got)
	}
	if l[0].Pos.File != "/src/proj/a.toml" || l[0].Related[0].File != "/src/proj/b.toml" {
		t.Error("writing text changed the caller's list")
	}
	if err := (Printer{Format: JSON, Base: "/src/proj"}).Write(&js, l); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"file": "/src/proj/a.toml"`) {
		t.Errorf("JSON must keep absolute paths:\n%s", js.String())
	}
	js.Reset()
	if err := (Printer{Format: JSON}).Write(&js, nil); err != nil || js.String() != "[]\n" {
		t.Errorf("no diagnostics: %q %v", js.String(), err)
	}
}

func TestFormatsAndCounts(t *testing.T) {
	for _, s := range []string{"text", "json", "sarif"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("xml accepted")
	}
	if Text.Machine() || !JSON.Machine() || !SARIF.Machine() {
		t.Error("Machine: text is for people, JSON and SARIF for programs")
	}
	l := List{{Severity: Error}, {Severity: Warning}, {Severity: Warning}}
	if got := l.Counts(); got != "1 error, 2 warnings, 0 notes" {
		t.Errorf("Counts = %q", got)
	}
}

// TestSARIFEndAndRelatedMessages: End becomes the region's end, a related
// place carries its message, and the platform and profile travel in the
// result.
func TestSARIFEndAndRelatedMessages(t *testing.T) {
	l := List{{Code: DeadRule, Severity: Warning, Pos: Pos{File: "/p/c.toml", Line: 2, Col: 1}, End: &Pos{Line: 2, Col: 9},
		Message: "m", Platform: "windows", Profile: "dev", Related: []Related{Rel(Pos{File: "/p/r.toml", Line: 1}, "the rule that wins")}}}
	log := sarifLog(l, "/p", "v")
	r := log.Runs[0].Results[0]
	reg := r.Locations[0].PhysicalLocation.Region
	if reg.EndLine != 2 || reg.EndColumn != 9 {
		t.Errorf("region %+v", reg)
	}
	if r.Related[0].Message == nil || r.Related[0].Message.Text != "the rule that wins" {
		t.Errorf("related %+v", r.Related[0])
	}
	if r.Message.Text != "profile dev: windows: m" || r.Properties == nil || r.Properties.Platform != "windows" || r.Properties.Profile != "dev" {
		t.Errorf("result %+v %+v", r.Message, r.Properties)
	}
}
