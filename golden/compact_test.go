package golden_test

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// compactJSON renders a JSON document for review: an object's keys one
// per line ("key: value"), a scalar or short value inline, an array one
// element a line ("- value"), each element in compact JSON whatever its
// size, and a larger object as an indented block. A rule, a mount, a
// mask or an ACL step is then one line, so a golden's diff shows which
// ones changed; full indented JSON would spread each over a dozen.
// A payload that is not JSON is returned as it is.
func compactJSON(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(b)
	}
	var out strings.Builder
	writeValue(&out, "", v)
	return out.String()
}

// inlineWidth is the longest object rendered inline as a key's value.
const inlineWidth = 100

func writeValue(out *strings.Builder, indent string, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			val := x[k]
			out.WriteString(indent + k + ":")
			switch y := val.(type) {
			case []any:
				if len(y) == 0 {
					out.WriteString(" []\n")
					continue
				}
				out.WriteString("\n")
				for _, e := range y {
					out.WriteString(indent + "- " + compact(e) + "\n")
				}
			case map[string]any:
				if c := compact(y); len(c) <= inlineWidth {
					out.WriteString(" " + c + "\n")
					continue
				}
				out.WriteString("\n")
				writeValue(out, indent+"  ", y)
			default:
				out.WriteString(" " + compact(y) + "\n")
			}
		}
	default:
		out.WriteString(indent + compact(v) + "\n")
	}
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}
