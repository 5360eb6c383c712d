package sbpl

import (
	"strings"
	"testing"
)

const sample = `(version 1)
; a comment
(deny default)
(allow process-exec)
(allow sysctl-read (sysctl-name "hw.ncpu") (sysctl-name-prefix "kern.proc.pid."))
(allow file-write-data (require-all (path "/dev/null") (vnode-type CHARACTER-DEVICE)))
(allow file-read*
  (require-all (subpath (param "ROOT")) (require-not (subpath (param "SECRET"))))
  (literal "/etc/hosts"))
(allow file-write* (require-all (subpath (param "ROOT"))
  (require-not (regex (string-append "^" (regex-quote (param "ROOT")) "/(.*/)?[^/]*\\.env(/.*)?$")))))
(deny file-write* (regex #"^/w/my\-app/\.git(/.*)?$"))
(allow network-outbound (remote ip "localhost:3128"))
`

func compileSample(t *testing.T) *Program {
	t.Helper()
	p, err := Parse("sample.sb", sample)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(p, Env{
		Params: map[string]string{"ROOT": "/w/my-app", "SECRET": "/w/my-app/secret"},
		VnodeType: func(p string) string {
			if p == "/dev/null" {
				return "CHARACTER-DEVICE"
			}
			return "REGULAR-FILE"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func TestEval(t *testing.T) {
	prog := compileSample(t)
	for _, c := range []struct {
		op, path string
		want     bool
	}{
		{"file-read-data", "/w/my-app/a.txt", true},
		{"file-read-data", "/w/my-app", true},
		{"file-read-data", "/w/my-app-other/a.txt", false},
		{"file-read-data", "/w/my-app/secret", false},
		{"file-read-data", "/w/my-app/secret/x", false},
		{"file-read-metadata", "/etc/hosts", true},
		{"file-read-data", "/etc/passwd", false},
		{"file-write-create", "/w/my-app/new", true},
		{"file-write-data", "/w/my-app/sub/.env", false},
		{"file-write-data", "/w/my-app/.env/inner", false},
		{"file-write-data", "/w/my-app/.git/config", false},
		{"file-write-data", "/dev/null", true},
		{"file-write-unlink", "/dev/null", false},
		{"process-exec", "/bin/ls", true},
	} {
		if got := prog.Eval(Request{Op: c.op, Path: c.path}); got.Allowed != c.want {
			t.Errorf("%s %s = %v, want %v", c.op, c.path, got.Allowed, c.want)
		}
	}
	for _, c := range []struct {
		host string
		port int
		want bool
	}{{"127.0.0.1", 3128, true}, {"::1", 3128, true}, {"127.0.0.1", 80, false}, {"10.0.0.1", 3128, false}} {
		if got := prog.Eval(Request{Op: "network-outbound", Host: c.host, Port: c.port}); got.Allowed != c.want {
			t.Errorf("net %s:%d = %v, want %v", c.host, c.port, got.Allowed, c.want)
		}
	}
}

// TestLastMatchWins pins the precedence model the package states.
func TestLastMatchWins(t *testing.T) {
	p, err := Parse("p.sb", `(version 1)(deny default)(allow file-read* (subpath "/a"))(deny file-read-data (subpath "/a/b"))(allow file-read* (literal "/a/b/c"))`)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(p, Env{})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"/a/x": true, "/a/b/x": false, "/a/b/c": true, "/z": false} {
		if got := prog.Eval(Request{Op: "file-read-data", Path: path}); got.Allowed != want {
			t.Errorf("%s = %v, want %v", path, got.Allowed, want)
		}
	}
	if got := prog.Eval(Request{Op: "file-read-metadata", Path: "/a/b/x"}); !got.Allowed {
		t.Errorf("a deny of file-read-data must not cover file-read-metadata")
	}
}

func TestRejects(t *testing.T) {
	for _, src := range []string{
		`(version 1)(allow file-read* (subpath (param "MISSING")))`,
		`(version 1)(allow file-read* (frobnicate "/x"))`,
		`(version 1)(import "system.sb")`,
		`(version 2)`,
		`(allow file-read*)`,
		`(version 1)(allow file-read* (regex "a("))`,
		`(version 1)(allow network-outbound (remote ip "10.0.0.1:80"))`,
		`(version 1)(allow "file-read*")`,
	} {
		p, err := Parse("x.sb", src)
		if err != nil {
			continue
		}
		if _, err := Compile(p, Env{}); err == nil {
			t.Errorf("Compile(%s) accepted it", src)
		}
	}
	long := `(version 1)(allow file-read* (literal "/` + strings.Repeat("a", 1100) + `"))`
	if _, err := Parse("long.sb", long); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("a string over 1 KiB was accepted: %v", err)
	}
	if _, err := Parse("bad.sb", `(version 1`); err == nil {
		t.Errorf("unbalanced parenthesis accepted")
	}
}

func TestFormatRoundTrip(t *testing.T) {
	p, err := Parse("sample.sb", sample)
	if err != nil {
		t.Fatal(err)
	}
	out := formatProfile(p)
	q, err := Parse("again.sb", out)
	if err != nil {
		t.Fatalf("Format output does not parse: %v\n%s", err, out)
	}
	if again := formatProfile(q); again != out {
		t.Errorf("Format not stable:\n%s\n---\n%s", out, again)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add(`(version 1)(allow file-read* (regex #"^/a\"b$"))`)
	f.Add(`("a\\" #t 12 sym)`)
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Parse("fuzz.sb", src)
		if err != nil {
			return
		}
		out := formatProfile(p)
		q, err := Parse("fuzz2.sb", out)
		if err != nil {
			t.Fatalf("Format output does not parse: %v\n%q", err, out)
		}
		if again := formatProfile(q); again != out {
			t.Fatalf("round trip differs:\n%q\n%q", out, again)
		}
		_, _ = Compile(p, Env{Params: map[string]string{}})
	})
}

// formatProfile prints a profile back as SBPL, one top-level form a line:
// Parse of it gives the same tree (the fuzz target checks it).
func formatProfile(p *Profile) string {
	var b strings.Builder
	for _, n := range p.Forms {
		b.WriteString(n.String())
		b.WriteByte('\n')
	}
	return b.String()
}
