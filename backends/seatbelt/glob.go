package seatbelt

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The glob dialect is doublestar's (what ir.Decide matches with): * ? [..]
// [!..] [^..] {a,b} and \-escapes, with ** a whole path component. The
// regex dialect is the one Codex ships to Seatbelt: ^...$ anchored, [^/]
// for "one component", (.*/)? for "zero or more directories", and the
// regex_lite escape set for literal characters.

// maxBraceExpansions bounds {a,b} expansion: each alternative becomes one
// branch of the regex.
const maxBraceExpansions = 64

// regexMeta is the set regex_lite::escape escapes (and so does the SBPL
// regex-quote the interpreter models). Go's regexp.QuoteMeta escapes a
// different set: it leaves - # & ~ alone.
const regexMeta = `\.+*?()|[]{}^$#&-~`

// QuoteRegex escapes s so that it matches itself in an SBPL regex.
func QuoteRegex(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(regexMeta, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// starRegex is what * becomes: any run of characters within one name.
const starRegex = "[^/]*"

// errGlob is returned for patterns doublestar rejects or Seatbelt cannot
// express.
var errGlob = errors.New("malformed glob")

// GlobRegexBranches translates the part of a deny glob below its base
// directory (rel, without the leading slash) into SBPL regex bodies: one
// fragment per {a,b} alternative (deduplicated), without the directory
// suffix, each meant to follow "^" + quote(base + "/"). None means the
// glob matches nothing.
func GlobRegexBranches(rel string) ([]string, error) {
	alts, err := expandBraces(rel)
	if err != nil {
		return nil, err
	}
	var branches []string
	seen := map[string]bool{}
	for _, a := range alts {
		r, ok, err := translate(a, true)
		if err != nil {
			return nil, err
		}
		if !ok || seen[r] {
			continue
		}
		seen[r] = true
		branches = append(branches, r)
	}
	return branches, nil
}

// expandBraces rewrites a pattern into brace-free alternatives, exactly as
// doublestar matches {a,b}: by substituting each alternative in place.
func expandBraces(p string) ([]string, error) {
	out := []string{}
	var rec func(p string) error
	rec = func(p string) error {
		open := indexOpenBrace(p)
		if open < 0 {
			if strings.ContainsRune(p, '}') && unescapedIndex(p, '}') >= 0 {
				return fmt.Errorf("%w: unmatched }", errGlob)
			}
			if len(out) >= maxBraceExpansions {
				return fmt.Errorf("%w: more than %d {a,b} alternatives", errGlob, maxBraceExpansions)
			}
			out = append(out, p)
			return nil
		}
		close := matchedClose(p[open+1:])
		if close < 0 {
			return fmt.Errorf("%w: unclosed {", errGlob)
		}
		close += open + 1
		inner := p[open+1 : close]
		if strings.Contains(inner, "**") {
			// doublestar does not treat {..} as plain substitution where
			// a name may end (its zero-length check skips braces after a
			// /): refuse rather than guess.
			return fmt.Errorf("%w: ** inside {...} is not supported; write one pattern per alternative", errGlob)
		}
		for _, alt := range splitAlts(inner) {
			if err := rec(p[:open] + alt + p[close+1:]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := rec(p); err != nil {
		return nil, err
	}
	return out, nil
}

// indexOpenBrace finds the first { outside a character class and not
// escaped.
func indexOpenBrace(p string) int {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			i = skipClass(p, i)
		case '{':
			return i
		}
	}
	return -1
}

// unescapedIndex is the index of the first unescaped c outside classes.
func unescapedIndex(p string, c byte) int {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			i = skipClass(p, i)
		case c:
			return i
		}
	}
	return -1
}

// skipClass returns the index of the ] closing the class opened at i, or
// len(p) when it never closes (the caller's loop then ends).
func skipClass(p string, i int) int {
	for i++; i < len(p); i++ {
		if p[i] == '\\' {
			i++
		} else if p[i] == ']' {
			return i
		}
	}
	return len(p)
}

// matchedClose mirrors doublestar's indexMatchedClosingAlt.
func matchedClose(s string) int {
	depth := 1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			i = skipClass(s, i)
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitAlts splits the inside of {...} on its top-level commas.
func splitAlts(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			i = skipClass(s, i)
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// zeroLengthTail reports whether doublestar lets a name end where this
// pattern tail starts, for the tails a plain translation would not let
// match the empty string (isZeroLengthPattern).
func zeroLengthTail(rest string) bool {
	return rest == "/**" || rest == "/**/" || rest == "**/"
}

// translate turns one brace-free pattern into a regex fragment; sos says
// whether p starts a path component. ok is false when the pattern can
// match nothing.
func translate(p string, sos bool) (string, bool, error) {
	var b strings.Builder
	for i := 0; i < len(p); {
		rest := p[i:]
		if i > 0 && zeroLengthTail(rest) && !(rest == "**/" && sos) {
			// doublestar lets the name end here: make the tail optional.
			r, ok, err := translate(rest, sos)
			if err != nil || !ok {
				return "", ok, err
			}
			head := b.String()
			if strings.HasSuffix(head, starRegex) {
				// doublestar only reaches the tail with the name spent
				// after a star that consumed something ("a*/**" does not
				// match "a" but matches "ab").
				head = strings.TrimSuffix(head, starRegex)
				return head + "([^/]+(" + r + ")?|" + r + ")", true, nil
			}
			return head + "(" + r + ")?", true, nil
		}
		c := p[i]
		switch c {
		case '\\':
			if i+1 >= len(p) {
				return "", false, fmt.Errorf("%w: trailing backslash", errGlob)
			}
			r, n := utf8.DecodeRuneInString(p[i+1:])
			b.WriteString(QuoteRegex(string(r)))
			sos = r == '/'
			i += 1 + n
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				i += 2
				if sos && i == len(p) {
					b.WriteString(".*")
					sos = false
					continue
				}
				if sos && p[i] == '/' {
					b.WriteString("(.*/)?")
					i++
					sos = true
					continue
				}
				// doublestar reads a ** inside a name as *, with
				// backtracking quirks no regex reproduces: refuse it.
				return "", false, fmt.Errorf("%w: ** must be a whole path component (write * to match within one name)", errGlob)
			} else {
				i++
			}
			b.WriteString(starRegex)
			sos = false
		case '?':
			b.WriteString("[^/]")
			sos = false
			i++
		case '[':
			cls, n, ok, err := translateClass(p[i:])
			if err != nil {
				return "", false, err
			}
			if !ok {
				return "", false, nil
			}
			b.WriteString(cls)
			sos = false
			i += n
		default:
			r, n := utf8.DecodeRuneInString(p[i:])
			if r == utf8.RuneError && n == 1 {
				return "", false, fmt.Errorf("%w: not UTF-8", errGlob)
			}
			if r < 0x20 || r == 0x7f {
				return "", false, fmt.Errorf("%w: control character %q", errGlob, r)
			}
			b.WriteString(QuoteRegex(p[i : i+n]))
			sos = r == '/'
			i += n
		}
	}
	return b.String(), true, nil
}

// translateClass translates the [...] at the start of p. n is the number
// of bytes consumed; ok is false for a class that matches nothing.
func translateClass(p string) (cls string, n int, ok bool, err error) {
	i := 1
	if i >= len(p) {
		return "", 0, false, fmt.Errorf("%w: unclosed [", errGlob)
	}
	negate := p[i] == '!' || p[i] == '^'
	if negate {
		i++
	}
	if i >= len(p) || p[i] == ']' {
		return "", 0, false, fmt.Errorf("%w: empty or unclosed character class", errGlob)
	}
	type rng struct{ lo, hi rune }
	var items []rng
	last, haveLast := rune(0), false
	closed := false
	for i < len(p) {
		if p[i] == ']' {
			closed = true
			i++
			break
		}
		r, sz := utf8.DecodeRuneInString(p[i:])
		i += sz
		if haveLast && r == '-' && i < len(p) && p[i] != ']' {
			if p[i] == '\\' {
				i++
				if i >= len(p) {
					return "", 0, false, fmt.Errorf("%w: unclosed [", errGlob)
				}
			}
			hi, hsz := utf8.DecodeRuneInString(p[i:])
			i += hsz
			items = items[:len(items)-1]
			items = append(items, rng{last, hi})
			haveLast = false
			continue
		}
		if r == '\\' {
			if i >= len(p) {
				return "", 0, false, fmt.Errorf("%w: unclosed [", errGlob)
			}
			r, sz = utf8.DecodeRuneInString(p[i:])
			i += sz
		}
		items = append(items, rng{r, r})
		last, haveLast = r, true
	}
	if !closed {
		return "", 0, false, fmt.Errorf("%w: unclosed [", errGlob)
	}
	var b strings.Builder
	b.WriteByte('[')
	if negate {
		b.WriteByte('^')
	}
	valid := 0
	for _, it := range items {
		if it.lo > 0x7e || it.hi > 0x7e || it.lo < 0x20 || it.hi < 0x20 {
			return "", 0, false, fmt.Errorf("%w: only printable ASCII is supported in a character class on macOS", errGlob)
		}
		if it.lo > it.hi {
			continue // doublestar: an inverted range matches nothing
		}
		valid++
		b.WriteString(classChar(it.lo))
		if it.hi != it.lo {
			b.WriteByte('-')
			b.WriteString(classChar(it.hi))
		}
	}
	b.WriteByte(']')
	switch {
	case valid == 0 && negate:
		return ".", i, true, nil
	case valid == 0:
		return "", i, false, nil
	}
	return b.String(), i, true, nil
}

// classChar escapes a character inside a regex bracket expression.
func classChar(r rune) string {
	switch r {
	case '\\', ']', '[', '^', '-':
		return `\` + string(r)
	}
	return string(r)
}
