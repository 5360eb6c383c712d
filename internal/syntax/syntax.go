// Package syntax reads TOML into a tree that remembers, for every key and
// value, the file, line and column it was written at. The compiler needs
// those positions for every diagnostic, and the decoding libraries drop
// them; so this package drives go-toml's low-level parser and builds the
// tree itself, enforcing TOML's table rules (duplicate keys, redefined
// tables) on the way.
//
// Parse never panics on any input: size, encoding and NUL checks come
// first, and every parser error becomes a diagnostic with a position.
package syntax

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2/unstable"

	"polc/diag"
)

// MaxFileSize caps an input file: config files are small, and a huge one
// is a mistake or an attack on the parser.
const MaxFileSize = 4 << 20

// Kind is a value's TOML type.
type Kind int

// Value kinds.
const (
	String Kind = iota + 1
	Bool
	Integer
	Float
	Datetime
	Array
	Table
)

var kindNames = map[Kind]string{String: "string", Bool: "boolean", Integer: "integer", Float: "float",
	Datetime: "datetime", Array: "array", Table: "table"}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Value is one TOML value with its position. Exactly the field matching
// Kind is meaningful.
type Value struct {
	Kind  Kind
	Str   string // String, and Datetime as written
	Bool  bool
	Int   int64
	Float float64
	Arr   []*Value
	Tab   *Tab
	// Pos is where the value starts; KeyPos where its key was written
	// (the last key part of a dotted key, or the table header).
	Pos, KeyPos diag.Pos
	// Origin is free for the compiler: the profile that contributed the
	// value after an extends merge, or a built-in's name.
	Origin string
	// Raw and KeyRaw are the byte spans of a string value's token (quotes
	// included) and of its key's last part, for tools that edit the file
	// in place (polc fmt). Zero when unknown.
	Raw, KeyRaw Span
}

// Span is a byte range of the input.
type Span struct{ Off, Len int }

// tableState tracks how a table came to exist, for TOML's redefinition rules.
type tableState int

const (
	implicit  tableState = iota // created as the parent of a [a.b] header
	dotted                      // created by a dotted key a.b = 1
	explicit                    // created by a [header]
	inline                      // an inline table { ... }: closed
	arrayElem                   // an element of [[array]]
)

// Tab is a table: keys in the order they were first written.
type Tab struct {
	keys  []string
	m     map[string]*Value
	state tableState
	// staticArray marks values that are static arrays (not [[tables]]).
	staticArray map[string]bool
}

// NewTab returns an empty table.
func NewTab() *Tab { return &Tab{m: map[string]*Value{}} }

// Keys returns the keys in the order they were first written.
func (t *Tab) Keys() []string {
	if t == nil {
		return nil
	}
	return t.keys
}

// Get returns the value of key, or nil.
func (t *Tab) Get(key string) *Value {
	if t == nil {
		return nil
	}
	return t.m[key]
}

// Len is the number of keys.
func (t *Tab) Len() int {
	if t == nil {
		return 0
	}
	return len(t.keys)
}

// Set adds or replaces a key, keeping its first position in key order.
func (t *Tab) Set(key string, v *Value) {
	if _, ok := t.m[key]; !ok {
		t.keys = append(t.keys, key)
	}
	t.m[key] = v
}

// Delete removes a key.
func (t *Tab) Delete(key string) {
	if _, ok := t.m[key]; !ok {
		return
	}
	delete(t.m, key)
	for i, k := range t.keys {
		if k == key {
			t.keys = append(t.keys[:i:i], t.keys[i+1:]...)
			break
		}
	}
}

// Lookup follows a dotted path of keys through nested tables.
func (t *Tab) Lookup(path ...string) *Value {
	var v *Value
	cur := t
	for _, k := range path {
		if cur == nil {
			return nil
		}
		v = cur.Get(k)
		if v == nil {
			return nil
		}
		cur = v.Tab
	}
	return v
}

// TableValue wraps a table as a value.
func TableValue(t *Tab, pos diag.Pos) *Value {
	return &Value{Kind: Table, Tab: t, Pos: pos, KeyPos: pos}
}

// StringValue makes a string value at pos.
func StringValue(s string, pos diag.Pos) *Value {
	return &Value{Kind: String, Str: s, Pos: pos, KeyPos: pos}
}

// Describe is a short form of the value for messages.
func (v *Value) Describe() string {
	switch v.Kind {
	case String:
		return strconv.Quote(v.Str)
	case Bool:
		return strconv.FormatBool(v.Bool)
	case Integer:
		return strconv.FormatInt(v.Int, 10)
	case Float:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case Datetime:
		return v.Str
	case Array:
		return "an array"
	case Table:
		return "a table"
	}
	return "a value"
}

// Clone deep-copies a value.
func (v *Value) Clone() *Value {
	if v == nil {
		return nil
	}
	c := *v
	if v.Arr != nil {
		c.Arr = make([]*Value, len(v.Arr))
		for i, e := range v.Arr {
			c.Arr[i] = e.Clone()
		}
	}
	if v.Tab != nil {
		c.Tab = v.Tab.Clone()
	}
	return &c
}

// Clone deep-copies a table.
func (t *Tab) Clone() *Tab {
	if t == nil {
		return nil
	}
	c := &Tab{keys: append([]string(nil), t.keys...), m: make(map[string]*Value, len(t.m)), state: t.state}
	for k, v := range t.m {
		c.m[k] = v.Clone()
	}
	return c
}

// SetPositions points v and everything below it at pos (values built
// from a command-line string, whose own offsets mean nothing to a user).
func (v *Value) SetPositions(pos diag.Pos) {
	if v == nil {
		return
	}
	v.Pos, v.KeyPos = pos, pos
	for _, e := range v.Arr {
		e.SetPositions(pos)
	}
	if v.Tab != nil {
		for _, k := range v.Tab.keys {
			v.Tab.m[k].SetPositions(pos)
		}
	}
}

// SetOrigin marks v and everything below it as contributed by origin.
func (v *Value) SetOrigin(origin string) {
	if v == nil {
		return
	}
	v.Origin = origin
	for _, e := range v.Arr {
		e.SetOrigin(origin)
	}
	if v.Tab != nil {
		for _, k := range v.Tab.keys {
			v.Tab.m[k].SetOrigin(origin)
		}
	}
}

// Merge overlays src onto dst the way Codex merges config layers
// (codex-rs/config/src/merge.rs): tables merge key by key, recursively;
// any other value, or a type mismatch, takes the overlay's value; an
// empty overlay table replaces (clears) the base table it targets.
func Merge(dst, src *Tab) {
	for _, k := range src.keys {
		sv := src.m[k]
		dv := dst.m[k]
		if dv != nil && dv.Kind == Table && sv.Kind == Table && sv.Tab.Len() > 0 {
			Merge(dv.Tab, sv.Tab)
			continue
		}
		dst.Set(k, sv.Clone())
	}
}

// MergeInherit overlays a child profile onto its parent (extends): as
// Merge, except that an empty overlay table adds nothing, so a child's
// empty [permissions.C.filesystem] keeps the parent's entries, as the
// reference resolves profiles.
func MergeInherit(dst, src *Tab) {
	for _, k := range src.keys {
		sv := src.m[k]
		dv := dst.m[k]
		if dv != nil && dv.Kind == Table && sv.Kind == Table {
			MergeInherit(dv.Tab, sv.Tab)
			continue
		}
		dst.Set(k, sv.Clone())
	}
}

// Parse reads one TOML document. file names it in diagnostics. The
// returned table is nil only when the input cannot be read at all; on a
// syntax error the diagnostics say where and the table holds what was
// read before the error.
func Parse(file string, data []byte) (*Tab, diag.List) {
	var diags diag.List
	if len(data) > MaxFileSize {
		// Line 1: the file as a whole is at fault, and every error names
		// a line (callers may have read only the limit plus one byte, so
		// the size is not stated).
		diags.Addf(diag.FileTooLarge, diag.Pos{File: file, Line: 1, Col: 1}, "split the file or remove the generated content",
			"%s is larger than the %d-byte limit for a config file", file, MaxFileSize)
		return nil, diags
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		diags.Add(diag.BinaryInput, posAt(file, data, i), "the file contains a NUL byte: it is binary, not TOML text",
			"point polc at the TOML config file, or restore it from version control")
		return nil, diags
	}
	if !utf8.Valid(data) {
		i := firstInvalidUTF8(data)
		diags.Add(diag.BinaryInput, posAt(file, data, i), "the file is not valid UTF-8 text",
			"save the file as UTF-8 (TOML requires it)")
		return nil, diags
	}
	b := &builder{file: file, data: data, root: NewTab()}
	b.root.state = explicit
	b.cur = b.root
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		b.expression(&p, p.Expression())
	}
	if err := p.Error(); err != nil {
		pos := diag.Pos{File: file, Line: 1, Col: 1}
		msg := err.Error()
		var perr *unstable.ParserError
		if errors.As(err, &perr) {
			pos = b.posOfSlice(perr.Highlight)
			msg = perr.Message
		}
		b.diags.Add(diag.SyntaxError, pos, "TOML syntax error: "+msg, "fix the TOML syntax at this position")
	}
	return b.root, b.diags
}

func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// posAt converts a byte offset into a 1-based line and column (columns
// count characters, so a message points at the right place in an editor).
func posAt(file string, data []byte, off int) diag.Pos {
	if off < 0 {
		off = 0
	}
	if off > len(data) {
		off = len(data)
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	col := 1 + utf8.RuneCount(data[start:off])
	return diag.Pos{File: file, Line: line, Col: col}
}

type builder struct {
	file  string
	data  []byte
	root  *Tab
	cur   *Tab // the table the current section's key/values go into
	diags diag.List
	lines []int // offsets where lines start, built on first use
}

// pos converts an offset with a line index, so that a large file with
// many values is not rescanned from the start for each one.
func (b *builder) pos(r unstable.Range) diag.Pos { return b.posOff(int(r.Offset)) }

func (b *builder) posOff(off int) diag.Pos {
	if b.lines == nil {
		b.lines = []int{0}
		for i, c := range b.data {
			if c == '\n' {
				b.lines = append(b.lines, i+1)
			}
		}
	}
	off = max(0, min(off, len(b.data)))
	// The last line start at or before off.
	line := sort.SearchInts(b.lines, off+1) - 1
	start := b.lines[line]
	return diag.Pos{File: b.file, Line: line + 1, Col: 1 + utf8.RuneCount(b.data[start:off])}
}

func span(r unstable.Range) Span { return Span{Off: int(r.Offset), Len: int(r.Length)} }

// posOfSlice finds where a subslice of the input starts.
func (b *builder) posOfSlice(s []byte) diag.Pos {
	if s == nil {
		return posAt(b.file, b.data, len(b.data))
	}
	off := cap(b.data) - cap(s)
	if off < 0 || off > len(b.data) {
		off = len(b.data)
	}
	return b.posOff(off)
}

type keyPart struct {
	name string
	pos  diag.Pos
	raw  Span
}

func (b *builder) keyParts(it unstable.Iterator) []keyPart {
	var parts []keyPart
	for it.Next() {
		n := it.Node()
		parts = append(parts, keyPart{name: string(n.Data), pos: b.pos(n.Raw), raw: span(n.Raw)})
	}
	return parts
}

func dottedName(parts []keyPart) string {
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = quoteKey(p.name)
	}
	return strings.Join(names, ".")
}

// quoteKey writes a key as TOML would need it.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return strconv.Quote(k)
		}
	}
	return k
}

// QuoteKey is quoteKey for other packages' messages.
func QuoteKey(k string) string { return quoteKey(k) }

func (b *builder) expression(p *unstable.Parser, n *unstable.Node) {
	switch n.Kind {
	case unstable.Table:
		parts := b.keyParts(n.Key())
		b.cur = b.header(parts, false)
	case unstable.ArrayTable:
		parts := b.keyParts(n.Key())
		b.cur = b.header(parts, true)
	case unstable.KeyValue:
		if b.cur == nil {
			return // inside a table that failed to open: already reported
		}
		b.keyValue(b.cur, n)
	}
}

// header opens [a.b] or [[a.b]] and returns the table its key/values go to.
func (b *builder) header(parts []keyPart, array bool) *Tab {
	t := b.root
	for i, part := range parts {
		last := i == len(parts)-1
		v := t.m[part.name]
		if v == nil {
			if last && array {
				elem := &Tab{m: map[string]*Value{}, state: arrayElem}
				t.Set(part.name, &Value{Kind: Array, Arr: []*Value{TableValue(elem, part.pos)}, Pos: part.pos, KeyPos: part.pos})
				return elem
			}
			nt := &Tab{m: map[string]*Value{}, state: implicit}
			if last {
				nt.state = explicit
			}
			tv := TableValue(nt, part.pos)
			tv.KeyRaw = part.raw
			t.Set(part.name, tv)
			t = nt
			continue
		}
		switch {
		case v.Kind == Array && !t.isStatic(part.name):
			if last && array {
				elem := &Tab{m: map[string]*Value{}, state: arrayElem}
				v.Arr = append(v.Arr, TableValue(elem, part.pos))
				return elem
			}
			if last {
				b.redefined(parts, part, v)
				return nil
			}
			t = v.Arr[len(v.Arr)-1].Tab
		case v.Kind == Table:
			tab := v.Tab
			if tab.state == inline {
				b.redefined(parts, part, v)
				return nil
			}
			if last {
				if array || tab.state != implicit {
					b.redefined(parts, part, v)
					return nil
				}
				tab.state = explicit
				v.KeyPos, v.Pos, v.KeyRaw = part.pos, part.pos, part.raw
			}
			t = tab
		default:
			b.redefined(parts, part, v)
			return nil
		}
	}
	return t
}

func (t *Tab) isStatic(k string) bool { return t.staticArray != nil && t.staticArray[k] }

func (b *builder) redefined(parts []keyPart, part keyPart, prev *Value) {
	b.duplicate(part, part.pos, prev,
		fmt.Sprintf("%s is already defined at line %d", dottedName(parts), prev.KeyPos.Line),
		"merge the two tables into one that keeps every entry of both")
}

// duplicate reports a key defined twice (POL002) at the second
// definition, spanning its key, with the first as the related place.
// The fix never drops an entry: either definition may be the deny.
func (b *builder) duplicate(part keyPart, pos diag.Pos, prev *Value, msg, fix string) {
	d := diag.New(diag.DuplicateKey, pos, msg, fix)
	if part.raw.Len > 0 {
		end := b.posOff(part.raw.Off + part.raw.Len)
		end.File = "" // End is a line and column in Pos's file
		d.End = &end
	}
	if !prev.KeyPos.IsZero() {
		d.Related = []diag.Related{diag.Rel(prev.KeyPos, "the first definition")}
	}
	b.diags = append(b.diags, *d)
}

// keyValue adds key = value to t, creating tables for a dotted key.
func (b *builder) keyValue(t *Tab, n *unstable.Node) {
	parts := b.keyParts(n.Key())
	for i, part := range parts[:len(parts)-1] {
		v := t.m[part.name]
		if v == nil {
			nt := &Tab{m: map[string]*Value{}, state: dotted}
			t.Set(part.name, TableValue(nt, part.pos))
			t = nt
			continue
		}
		if v.Kind != Table || v.Tab.state != dotted {
			b.diags.Add(diag.DuplicateKey, part.pos,
				fmt.Sprintf("%s is already defined at line %d; a dotted key cannot add to it", dottedName(parts[:i+1]), v.KeyPos.Line),
				"write the key inside that table instead")
			return
		}
		t = v.Tab
	}
	last := parts[len(parts)-1]
	if prev := t.m[last.name]; prev != nil {
		b.duplicate(last, last.pos, prev,
			fmt.Sprintf("duplicate key %s (first defined at line %d)", dottedName(parts), prev.KeyPos.Line),
			"keep one definition; where the two differ, keep the stricter one (a deny over a grant), so that no protection is lost")
		return
	}
	v := b.value(n.Value())
	if v == nil {
		return
	}
	v.KeyPos, v.KeyRaw = last.pos, last.raw
	if v.Kind == Array && len(v.Arr) == 0 {
		v.Pos = last.pos // an empty array has no element to point at
	}
	t.Set(last.name, v)
	if v.Kind == Array {
		if t.staticArray == nil {
			t.staticArray = map[string]bool{}
		}
		t.staticArray[last.name] = true
	}
}

// value converts a value node; nil after reporting an error.
func (b *builder) value(n *unstable.Node) *Value {
	pos := b.pos(n.Raw)
	switch n.Kind {
	case unstable.String:
		return &Value{Kind: String, Str: string(n.Data), Pos: pos, Raw: span(n.Raw)}
	case unstable.Bool:
		return &Value{Kind: Bool, Bool: string(n.Data) == "true", Pos: pos}
	case unstable.Integer:
		i, err := parseInt(string(n.Data))
		if err != nil {
			msg := fmt.Sprintf("integer %s is not a valid integer", n.Data)
			if errors.Is(err, strconv.ErrRange) {
				msg = fmt.Sprintf("integer %s does not fit in 64 bits", n.Data)
			}
			b.diags.Add(diag.SyntaxError, pos, msg, "write an integer that fits in 64 bits")
			return nil
		}
		return &Value{Kind: Integer, Int: i, Pos: pos}
	case unstable.Float:
		f, err := parseFloat(string(n.Data))
		if err != nil {
			b.diags.Add(diag.SyntaxError, pos, fmt.Sprintf("float %s: %v", n.Data, err), "write a valid float")
			return nil
		}
		return &Value{Kind: Float, Float: f, Pos: pos}
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		return &Value{Kind: Datetime, Str: string(n.Data), Pos: pos}
	case unstable.Array:
		v := &Value{Kind: Array, Pos: pos}
		it := n.Children()
		first := true
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			e := b.value(c)
			if e == nil {
				return nil
			}
			e.KeyPos = e.Pos
			if first {
				// Arrays carry no range of their own: point at the first element.
				v.Pos, first = e.Pos, false
			}
			v.Arr = append(v.Arr, e)
		}
		return v
	case unstable.InlineTable:
		t := &Tab{m: map[string]*Value{}, state: inline}
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind != unstable.KeyValue {
				continue
			}
			// Dotted keys inside an inline table build sub-tables that
			// are closed with it.
			b.keyValue(t, c)
		}
		closeInline(t)
		return &Value{Kind: Table, Tab: t, Pos: pos}
	}
	b.diags.Add(diag.SyntaxError, pos, fmt.Sprintf("unsupported TOML value kind %s", n.Kind), "write a string, number, boolean, array or table")
	return nil
}

func closeInline(t *Tab) {
	t.state = inline
	for _, k := range t.keys {
		if v := t.m[k]; v.Kind == Table {
			closeInline(v.Tab)
		}
	}
}

func parseInt(s string) (int64, error) {
	s = strings.ReplaceAll(s, "_", "")
	s = strings.TrimPrefix(s, "+")
	// strconv base 0 understands 0x, 0o and 0b, but also a leading 0 as
	// octal; TOML forbids leading zeros and the parser has rejected them.
	return strconv.ParseInt(s, 0, 64)
}

func parseFloat(s string) (float64, error) {
	s = strings.ReplaceAll(s, "_", "")
	switch strings.TrimLeft(s, "+-") {
	case "inf":
		if strings.HasPrefix(s, "-") {
			return math.Inf(-1), nil
		}
		return math.Inf(1), nil
	case "nan":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// ParseValue reads a lone TOML value (the right-hand side of -c key=value).
func ParseValue(file, text string) (*Value, bool) {
	t, diags := Parse(file, []byte("v = "+text))
	if diags.HasErrors() || t == nil {
		return nil, false
	}
	v := t.Get("v")
	return v, v != nil
}
