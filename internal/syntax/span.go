package syntax

import (
	"bytes"
	"unicode/utf8"

	"polc/diag"
)

// TokenEnd finds where the TOML token that starts at pos ends in data (a
// bare or quoted key, a string, a number or boolean, a table header or a
// one-line inline array or table), so that a diagnostic located at a key
// or a value can span it. It returns the line and column after the
// token's last character (columns count characters, as Pos does; the
// file is left out), and false when pos is not in data or the token does
// not end on its line.
func TokenEnd(data []byte, pos diag.Pos) (diag.Pos, bool) {
	if pos.Line < 1 || pos.Col < 1 {
		return diag.Pos{}, false
	}
	off := 0
	for l := 1; l < pos.Line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return diag.Pos{}, false
		}
		off += i + 1
	}
	line := data[off:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	start := 0
	for c := 1; c < pos.Col; c++ {
		if start >= len(line) {
			return diag.Pos{}, false
		}
		_, n := utf8.DecodeRune(line[start:])
		start += n
	}
	n := tokenLen(line[start:])
	if n == 0 {
		return diag.Pos{}, false
	}
	return diag.Pos{Line: pos.Line, Col: pos.Col + utf8.RuneCount(line[start:start+n])}, true
}

// tokenLen is the byte length of the token at the start of s, 0 when
// there is none or it does not end within s.
func tokenLen(s []byte) int {
	if len(s) == 0 {
		return 0
	}
	switch s[0] {
	case '"':
		if bytes.HasPrefix(s, []byte(`"""`)) {
			return 0
		}
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return 0
	case '\'':
		if bytes.HasPrefix(s, []byte(`'''`)) {
			return 0
		}
		if i := bytes.IndexByte(s[1:], '\''); i >= 0 {
			return i + 2
		}
		return 0
	case '[', '{':
		depth := 0
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '"', '\'':
				n := tokenLen(s[i:])
				if n == 0 {
					return 0
				}
				i += n - 1
			case '[', '{':
				depth++
			case ']', '}':
				depth--
				if depth == 0 {
					return i + 1
				}
			case '#':
				return 0
			}
		}
		return 0
	}
	i := 0
	for i < len(s) && isBare(s[i]) {
		i++
	}
	return i
}

// isBare reports whether c may appear in a bare key, a number, a
// boolean or a date.
func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '+' || c == '.' || c == ':'
}
