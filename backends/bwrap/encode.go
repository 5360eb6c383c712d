package bwrap

import (
	"sort"
	"strconv"
	"unicode/utf8"
)

// The artifact's canonical JSON, written directly. It is byte for byte
// what canonjson.Marshal makes of an Artifact (keys sorted, two-space
// indent, no HTML escaping, invalid UTF-8 as U+FFFD, a final newline;
// TestEncodeIsCanonjson fills every field and compares), without the
// reflection and the decode and re-encode canonjson goes through:
// polc exec lowers on every launch, in a fresh process where
// encoding/json's caches are cold (0.3-0.4 ms here).

type jsonWriter struct {
	b     []byte
	depth int
}

// jsonField is an object member; a nil write omits it (omitempty).
type jsonField struct {
	key   string
	write func(w *jsonWriter)
}

func (w *jsonWriter) newline() {
	w.b = append(w.b, '\n')
	for i := 0; i < w.depth; i++ {
		w.b = append(w.b, ' ', ' ')
	}
}

func (w *jsonWriter) object(fields []jsonField) {
	kept := fields[:0]
	for _, f := range fields {
		if f.write != nil {
			kept = append(kept, f)
		}
	}
	if len(kept) == 0 {
		w.b = append(w.b, '{', '}')
		return
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].key < kept[j].key })
	w.b = append(w.b, '{')
	w.depth++
	for i, f := range kept {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.newline()
		w.str(f.key)
		w.b = append(w.b, ':', ' ')
		f.write(w)
	}
	w.depth--
	w.newline()
	w.b = append(w.b, '}')
}

// array writes n items, or null when isNil (a nil Go slice).
func (w *jsonWriter) array(isNil bool, n int, item func(i int)) {
	if isNil {
		w.b = append(w.b, "null"...)
		return
	}
	if n == 0 {
		w.b = append(w.b, '[', ']')
		return
	}
	w.b = append(w.b, '[')
	w.depth++
	for i := 0; i < n; i++ {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.newline()
		item(i)
	}
	w.depth--
	w.newline()
	w.b = append(w.b, ']')
}

func (w *jsonWriter) boolean(v bool)  { w.b = strconv.AppendBool(w.b, v) }
func (w *jsonWriter) integer(v int64) { w.b = strconv.AppendInt(w.b, v, 10) }

const hexDigits = "0123456789abcdef"

// str is encoding/json's string form without HTML escaping; an invalid
// byte becomes U+FFFD itself (canonjson decodes json.Marshal's \ufffd).
func (w *jsonWriter) str(s string) {
	b := append(w.b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\' || c == '"':
				b = append(b, '\\', c)
			case c >= 0x20:
				b = append(b, c)
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = utf8.AppendRune(b, utf8.RuneError)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	w.b = append(b, '"')
}

func strField(key, v string) jsonField {
	return jsonField{key, func(w *jsonWriter) { w.str(v) }}
}

func boolField(key string, v bool) jsonField {
	return jsonField{key, func(w *jsonWriter) { w.boolean(v) }}
}

// omit returns f, or an omitted field when empty is set.
func omit(empty bool, f jsonField) jsonField {
	if empty {
		f.write = nil
	}
	return f
}

func strsField(key string, v []string, omitEmpty bool) jsonField {
	return omit(omitEmpty && len(v) == 0, jsonField{key, func(w *jsonWriter) {
		w.array(v == nil, len(v), func(i int) { w.str(v[i]) })
	}})
}

func ints[T int | uint32](key string, v []T, omitEmpty bool) jsonField {
	return omit(omitEmpty && len(v) == 0, jsonField{key, func(w *jsonWriter) {
		w.array(v == nil, len(v), func(i int) { w.integer(int64(v[i])) })
	}})
}

func (m Mount) write(w *jsonWriter) {
	w.object([]jsonField{
		strField("path", m.Path),
		strField("access", m.Access),
		omit(!m.Mandatory, boolField("mandatory", m.Mandatory)),
		omit(!m.SkipIfMissing, boolField("skip_if_missing", m.SkipIfMissing)),
		omit(!m.Protected, boolField("protected", m.Protected)),
		omit(!m.Minimal, boolField("minimal", m.Minimal)),
		omit(m.Origin == "", strField("origin", m.Origin)),
	})
}

func (g GlobMask) write(w *jsonWriter) {
	w.object([]jsonField{
		strField("pattern", g.Pattern),
		strField("base", g.Base),
		omit(g.MaxDepth == 0, jsonField{"max_depth", func(w *jsonWriter) { w.integer(int64(g.MaxDepth)) }}),
		omit(!g.Mandatory, boolField("mandatory", g.Mandatory)),
		omit(g.Origin == "", strField("origin", g.Origin)),
	})
}

func (a *Artifact) write(w *jsonWriter) {
	s := a.Seccomp
	w.object([]jsonField{
		strField("format", a.Format),
		strField("profile", a.Profile),
		omit(!a.Unrestricted, boolField("unrestricted", a.Unrestricted)),
		strField("root", a.Root),
		{"mounts", func(w *jsonWriter) {
			w.array(a.Mounts == nil, len(a.Mounts), func(i int) { a.Mounts[i].write(w) })
		}},
		omit(len(a.Globs) == 0, jsonField{"globs", func(w *jsonWriter) {
			w.array(false, len(a.Globs), func(i int) { a.Globs[i].write(w) })
		}}),
		strsField("namespaces", a.Namespaces, false),
		strField("network", a.Network),
		omit(a.Proxy == nil, jsonField{"proxy", func(w *jsonWriter) {
			w.object([]jsonField{
				{"http_port", func(w *jsonWriter) { w.integer(int64(a.Proxy.HTTPPort)) }},
				omit(a.Proxy.SOCKSPort == 0, jsonField{"socks_port", func(w *jsonWriter) { w.integer(int64(a.Proxy.SOCKSPort)) }}),
			})
		}}),
		boolField("proc", a.Proc),
		boolField("dev", a.Dev),
		boolField("die_with_parent", a.DieWithParent),
		boolField("new_session", a.NewSession),
		{"seccomp", func(w *jsonWriter) {
			w.object([]jsonField{
				strsField("deny", s.Deny, false),
				ints("allow_socket_families", s.AllowSocketFamilies, true),
				ints("deny_socket_families", s.DenySocketFamilies, true),
				ints("deny_ioctls", s.DenyIoctls, true),
				omit(!s.UnixPeersOnly, boolField("unix_peers_only", s.UnixPeersOnly)),
				omit(!s.UnixSocketpairOnly, boolField("unix_socketpair_only", s.UnixSocketpairOnly)),
			})
		}},
		strsField("unix_sockets", a.UnixSockets, true),
		omit(len(a.Env) == 0, jsonField{"env", func(w *jsonWriter) {
			var fs []jsonField
			for k, v := range a.Env {
				fs = append(fs, strField(k, v))
			}
			w.object(fs)
		}}),
	})
}

// encodeCanonical is Encode's body.
func (a *Artifact) encodeCanonical() []byte {
	w := jsonWriter{b: make([]byte, 0, 4096)}
	a.write(&w)
	return append(w.b, '\n')
}
