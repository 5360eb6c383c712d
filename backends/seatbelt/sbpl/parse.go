// Package sbpl reads Seatbelt profiles (SBPL, the Scheme dialect of
// sandbox-exec) and interprets the part of them polc emits and relies on:
// file-read*, file-write* and network-outbound decisions for a path or an
// address. macOS cannot run on the build machines, so this interpreter is
// what the macOS backend's output is checked with.
//
// # Precedence model
//
// For one operation, the rules whose operation list covers it are taken in
// the order written; the last one whose filter matches decides. When none
// matches, the (allow|deny default) rule decides, and without one the
// operation is denied. An operation list entry ending in "*" covers every
// operation with that prefix (file-read* covers file-read-data and
// file-read-metadata); a rule with several filters matches when any does.
//
// Evidence: Apple's system profiles, Chromium's Mac sandbox and Codex all
// start from (deny default), add allows, and put the denies they need to
// win after the allows ("so no broader allowance can reopen them", Codex
// seatbelt.rs); the reference notes also record counter-evidence (a
// specific deny on file-write-unlink not overridden by a later broad
// allow; a require-all allow beating a plain subpath deny). polc's own
// profiles therefore do not depend on the model for file access: their
// file rules are all allows under (deny default), so the decision is the
// union of the allows under every model in which a matching allow with no
// matching deny allows. Where the model matters (profiles written by
// others), the interpreter states it.
//
// # Scheme the interpreter evaluates
//
// Filter arguments may be string literals, (param "K") (the -D value),
// (string-append ...) and (regex-quote S). Public profiles use exactly
// these forms to anchor a regex at a parameter, e.g. (regex
// (string-append "^" (regex-quote (param "HOME")) "/\\.ssh(/.*)?$")).
// regex-quote is modelled as escaping every regex metacharacter; regex
// syntax is read as Go's RE2 with (?s), which agrees with SBPL's on the
// subset polc emits (bracket classes, (…)?, .*, |, escaped punctuation).
// Forms outside this subset make Compile fail: what the interpreter
// cannot read, it does not judge.
package sbpl

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Profile is a parsed SBPL file: a list of top-level forms.
type Profile struct {
	Forms []*Node `parser:"@@*"`
}

// Node is one s-expression: a list, or an atom.
type Node struct {
	Pos   lexer.Position
	List  *List   `parser:"(  @@"`
	Regex *string `parser:" | @Regex"`
	Str   *string `parser:" | @String"`
	Bool  *string `parser:" | @Bool"`
	Num   *string `parser:" | @Number"`
	Sym   *string `parser:" | @Symbol )"`
}

// List is a parenthesised list of nodes.
type List struct {
	Items []*Node `parser:"'(' @@* ')'"`
}

// The lexer and parser are built on first use: polc exec starts on every
// sandboxed command and never parses SBPL, so it should not pay for them.
var parser = sync.OnceValue(func() *participle.Parser[Profile] {
	sbplLexer := lexer.MustSimple([]lexer.SimpleRule{
		{Name: "Comment", Pattern: `;[^\n]*`},
		{Name: "Whitespace", Pattern: `[ \t\r\n]+`},
		{Name: "Regex", Pattern: `#"(\\.|[^"\\])*"`},
		{Name: "String", Pattern: `"(\\.|[^"\\])*"`},
		{Name: "Bool", Pattern: `#[tf]`},
		{Name: "Paren", Pattern: `[()]`},
		{Name: "Number", Pattern: `-?[0-9]+`},
		{Name: "Symbol", Pattern: `[^\s()";#]+`},
	})
	return participle.MustBuild[Profile](
		participle.Lexer(sbplLexer),
		participle.Elide("Comment", "Whitespace"),
		participle.UseLookahead(1),
	)
})

// MaxStringLen is the longest string literal sandbox-exec reads ("Error
// reading string" beyond about 1025 bytes).
const MaxStringLen = 1024

// Parse reads SBPL text. name is used in error positions.
func Parse(name, text string) (*Profile, error) {
	p, err := parser().ParseString(name, text)
	if err != nil {
		return nil, err
	}
	var walkErr error
	walk(p.Forms, func(n *Node) {
		if walkErr != nil {
			return
		}
		switch {
		case n.Str != nil:
			s, err := unquoteString(*n.Str)
			if err != nil {
				walkErr = fmt.Errorf("%s: %v", n.Pos, err)
				return
			}
			n.Str = &s
		case n.Regex != nil:
			s := unquoteRegex(*n.Regex)
			n.Regex = &s
		}
		if s := n.text(); len(s) > MaxStringLen {
			walkErr = fmt.Errorf("%s: string of %d bytes; sandbox-exec reads at most %d", n.Pos, len(s), MaxStringLen)
		}
	})
	if walkErr != nil {
		return nil, walkErr
	}
	return p, nil
}

func walk(nodes []*Node, f func(*Node)) {
	for _, n := range nodes {
		f(n)
		if n.List != nil {
			walk(n.List.Items, f)
		}
	}
}

// text is the value of a string or regex atom ("" otherwise).
func (n *Node) text() string {
	switch {
	case n.Str != nil:
		return *n.Str
	case n.Regex != nil:
		return *n.Regex
	}
	return ""
}

// head is the symbol a list starts with ("" when it does not).
func (n *Node) head() string {
	if n.List == nil || len(n.List.Items) == 0 || n.List.Items[0].Sym == nil {
		return ""
	}
	return *n.List.Items[0].Sym
}

// args are a list's items after its head.
func (n *Node) args() []*Node {
	if n.List == nil || len(n.List.Items) == 0 {
		return nil
	}
	return n.List.Items[1:]
}

// unquoteString reads a "..." literal: \\ \" \n \t escapes, as in Scheme.
func unquoteString(q string) (string, error) {
	body := q[1 : len(q)-1]
	if !strings.Contains(body, `\`) {
		return body, nil
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		switch body[i] {
		case '\\', '"':
			b.WriteByte(body[i])
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		default:
			return "", fmt.Errorf("unknown escape \\%c in string", body[i])
		}
	}
	return b.String(), nil
}

// unquoteRegex reads a #"..." literal: only \" is an escape; every other
// backslash belongs to the regex.
func unquoteRegex(q string) string {
	return strings.ReplaceAll(q[2:len(q)-1], `\"`, `"`)
}

// QuoteString writes s as an SBPL "..." literal.
func QuoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func format(b *strings.Builder, n *Node) {
	switch {
	case n.List != nil:
		b.WriteByte('(')
		for i, it := range n.List.Items {
			if i > 0 {
				b.WriteByte(' ')
			}
			format(b, it)
		}
		b.WriteByte(')')
	case n.Str != nil:
		b.WriteString(QuoteString(*n.Str))
	case n.Regex != nil:
		b.WriteString(`#"` + strings.ReplaceAll(*n.Regex, `"`, `\"`) + `"`)
	case n.Bool != nil:
		b.WriteString(*n.Bool)
	case n.Num != nil:
		b.WriteString(*n.Num)
	case n.Sym != nil:
		b.WriteString(*n.Sym)
	}
}

// String is the node printed as SBPL.
func (n *Node) String() string {
	var b strings.Builder
	format(&b, n)
	return b.String()
}

// number is a numeric atom's value.
func (n *Node) number() (int, bool) {
	if n.Num == nil {
		return 0, false
	}
	v, err := strconv.Atoi(*n.Num)
	return v, err == nil
}
