// Package canonjson encodes values as polc's canonical JSON: object keys
// sorted, two-space indentation, no HTML escaping, one trailing newline.
// Artifacts are committed and reviewed as diffs, so the same value must
// always give the same bytes, and the bytes must read well.
package canonjson

import (
	"bytes"
	"encoding/json"
)

// Marshal encodes v canonically. Struct field order does not matter: the
// value is re-encoded through a generic tree, whose maps encode sorted.
func Marshal(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Canonicalize(raw)
}

// Canonicalize re-encodes JSON text canonically. Numbers keep their
// literal text.
func Canonicalize(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tree); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
