package syntax

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"polc/diag"
)

func parseOK(t *testing.T, src string) *Tab {
	t.Helper()
	tab, d := Parse("c.toml", []byte(src))
	if d.HasErrors() {
		t.Fatalf("parse %q: %v", src, d.Err())
	}
	return tab
}

func TestPositions(t *testing.T) {
	tab := parseOK(t, "a = 1\n[permissions.dev.filesystem]\n\":root\" = \"read\"\n  x = { \"é\" = \"w\", k = [1, 2] }\n")
	v := tab.Lookup("permissions", "dev", "filesystem", ":root")
	if v == nil || v.Str != "read" {
		t.Fatalf("lookup: %+v", v)
	}
	if got := v.KeyPos.String(); got != "c.toml:3:1" {
		t.Errorf("key pos %s", got)
	}
	if got := v.Pos.String(); got != "c.toml:3:11" {
		t.Errorf("value pos %s", got)
	}
	x := tab.Lookup("permissions", "dev", "filesystem", "x")
	if got := x.Tab.Get("é").Pos.String(); got != "c.toml:4:15" {
		t.Errorf("value after a multibyte key: %s (columns count characters)", got)
	}
	if k := x.Tab.Get("k"); k.Kind != Array || len(k.Arr) != 2 || k.Arr[1].Int != 2 {
		t.Errorf("array: %+v", k)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		src  string
		code diag.Code
		pos  string
	}{
		{"a = 1\na = 2\n", diag.DuplicateKey, "c.toml:2:1"},
		{"[t]\nx=1\n[t]\n", diag.DuplicateKey, "c.toml:3:2"},
		{"t = { x = 1 }\n[t]\n", diag.DuplicateKey, "c.toml:2:2"},
		{"a.b = 1\n[a.b]\n", diag.DuplicateKey, "c.toml:2:4"},
		{"[t.u]\n[t]\nu.v = 1\n", diag.DuplicateKey, "c.toml:3:1"},
		{"a = [1\n", diag.SyntaxError, "c.toml:1:7"},
		{"a = \"x\x00\"\n", diag.BinaryInput, "c.toml:1:7"},
		{"a = \"\xff\"\n", diag.BinaryInput, "c.toml:1:6"},
		{"a = 99999999999999999999\n", diag.SyntaxError, "c.toml:1:5"},
		{"[[t]]\nx=1\n[t]\n", diag.DuplicateKey, "c.toml:3:2"},
	} {
		_, d := Parse("c.toml", []byte(c.src))
		if len(d) == 0 {
			t.Errorf("%q: no diagnostic", c.src)
			continue
		}
		if d[0].Code != c.code || d[0].Pos.String() != c.pos {
			t.Errorf("%q: got %s, want %s at %s", c.src, d[0], c.code, c.pos)
		}
		if d[0].Fix == "" {
			t.Errorf("%q: diagnostic without a fix", c.src)
		}
	}
}

func TestTooLarge(t *testing.T) {
	_, d := Parse("big.toml", []byte(strings.Repeat("#", MaxFileSize+1)))
	if len(d) != 1 || d[0].Code != diag.FileTooLarge {
		t.Fatalf("got %v", d)
	}
	// Every error names its file and a line, the file-level ones too.
	if d[0].Pos.Line != 1 || !strings.HasPrefix(d[0].String(), "big.toml:1:1: ") {
		t.Errorf("too-large error without big.toml:1:1: %s", d[0])
	}
}

func TestIntegerOutOfRange(t *testing.T) {
	_, d := Parse("c.toml", []byte("x = 99999999999999999999\n"))
	if len(d) != 1 || d[0].Code != diag.SyntaxError || !strings.Contains(d[0].Message, "does not fit in 64 bits") || d[0].Pos.Line != 1 {
		t.Fatalf("got %v", d)
	}
}

func TestValidTables(t *testing.T) {
	tab := parseOK(t, "[a.b.c]\nx = 1\n[a]\ny = 2\n[a.b]\nz = 3\n[[arr]]\nn = 1\n[[arr]]\nn = 2\n[arr.sub]\nq = 1\n")
	if tab.Lookup("a", "b", "c", "x").Int != 1 || tab.Lookup("a", "y").Int != 2 || tab.Lookup("a", "b", "z").Int != 3 {
		t.Error("implicit tables may be defined later")
	}
	arr := tab.Get("arr")
	if len(arr.Arr) != 2 || arr.Arr[1].Tab.Lookup("sub", "q").Int != 1 {
		t.Errorf("array of tables: %+v", arr)
	}
}

func TestMerge(t *testing.T) {
	base := parseOK(t, "[p.fs]\na = \"read\"\nb = \"write\"\n[q]\nx = 1\n")
	over := parseOK(t, "[p.fs]\nb = \"deny\"\nc = \"read\"\n[q]\n")
	Merge(base, over)
	fs := base.Lookup("p", "fs").Tab
	if fs.Get("a").Str != "read" || fs.Get("b").Str != "deny" || fs.Get("c").Str != "read" {
		t.Errorf("recursive merge: %v", fs.Keys())
	}
	if base.Lookup("q").Tab.Len() != 0 {
		t.Error("an empty overlay table must clear the base table")
	}
	if got := fs.Get("b").Pos.Line; got != 2 {
		t.Errorf("merged value keeps the overlay's position, got line %d", got)
	}
}

func TestParseValue(t *testing.T) {
	if v, ok := ParseValue("-c", `":workspace"`); !ok || v.Str != ":workspace" {
		t.Errorf("string: %+v", v)
	}
	if v, ok := ParseValue("-c", `{ enabled = true }`); !ok || !v.Tab.Get("enabled").Bool {
		t.Errorf("table: %+v", v)
	}
	if _, ok := ParseValue("-c", `workspace`); ok {
		t.Error("a bare word is not TOML (the caller falls back to a string)")
	}
}

// FuzzParse: any input gives a tree or diagnostics with positions, never
// a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"default_permissions = \"workspace\"\n[permissions.workspace.filesystem]\n\":minimal\" = \"read\"\n\":project_roots\" = { \".\" = \"write\", \"**/*.env\" = \"none\" }\nglob_scan_max_depth = 3\n",
		"a = [1, 2, { x = 1 }]\n[[t]]\n[t.u]\n",
		"a.b.c = 1\n[a]\n",
		"x = 0x1F\ny = 1e3\nz = 1979-05-27T07:32:00Z\nw = '''\nlit'''\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, d := Parse("f.toml", data)
		for _, x := range d {
			if x.Pos.File != "f.toml" || x.Pos.Line < 1 || x.Code == "" || x.Message == "" {
				t.Fatalf("diagnostic without a position or code: %+v", x)
			}
		}
		if tab == nil && !d.HasErrors() {
			t.Fatal("no tree and no error")
		}
		if tab != nil {
			c := tab.Clone()
			Merge(c, tab)
		}
	})
}

// BenchmarkParseLarge parses a file near the size cap with many values:
// positions must not cost a rescan per value.
func BenchmarkParseLarge(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[permissions.p.filesystem]\n")
	for i := 0; sb.Len() < MaxFileSize-100; i++ {
		sb.WriteString("\"/data/dir")
		sb.WriteString(strings.Repeat("x", 8))
		sb.WriteString(string(rune('a'+i%26)) + "/" + strconv.Itoa(i) + "\" = \"read\"\n")
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, d := Parse("big.toml", data); d.HasErrors() {
			b.Fatal(d.Err())
		}
	}
}

// TestDuplicateKeySpanAndFirst: a duplicate key spans the key it
// repeats (End, for editors and SARIF) and points at the first
// definition; its fix keeps every deny.
func TestDuplicateKeySpanAndFirst(t *testing.T) {
	_, diags := Parse("c.toml", []byte("[p]\n\"/etc\" = \"deny\"\n\"/etc\" = \"read\"\n"))
	if len(diags) != 1 {
		t.Fatalf("diags: %v", diags)
	}
	d := diags[0]
	if d.Code != diag.DuplicateKey || d.Pos.String() != "c.toml:3:1" || d.End == nil || d.End.Line != 3 || d.End.Col != 7 {
		t.Errorf("position %v, end %v", d.Pos, d.End)
	}
	if len(d.Related) != 1 || d.Related[0].Pos.String() != "c.toml:2:1" || d.Related[0].Message != "the first definition" {
		t.Errorf("related %v", d.Related)
	}
	if !strings.Contains(d.Fix, "no protection is lost") {
		t.Errorf("fix %q", d.Fix)
	}
}

// TestTokenEnd: the end of the key or value a position points at.
func TestTokenEnd(t *testing.T) {
	src := []byte("[permissions.dev.filesystem]\n\":root\" = \"réad\"\n'~/x' = { \"a]\" = \"deny\" }\ndepth = 12 # c\ns = \"\"\"\nx\"\"\"\n")
	for _, c := range []struct {
		line, col int
		want      string
	}{
		{1, 1, "1:29"},  // the table header
		{1, 2, "1:28"},  // its key
		{2, 1, "2:8"},   // a quoted key
		{2, 11, "2:17"}, // a string with a non-ASCII letter: columns count characters
		{3, 1, "3:6"},   // a literal key
		{3, 9, "3:26"},  // an inline table with a bracket in a key
		{4, 9, "4:11"},  // a number
		{5, 5, ""},      // a multi-line string does not end on its line
		{9, 1, ""},      // past the end
	} {
		got, ok := TokenEnd(src, diag.Pos{File: "c.toml", Line: c.line, Col: c.col})
		s := ""
		if ok {
			s = fmt.Sprintf("%d:%d", got.Line, got.Col)
		}
		if s != c.want {
			t.Errorf("%d:%d: end %q, want %q", c.line, c.col, s, c.want)
		}
	}
}
