package compiler

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"polc/ir"
)

// dig follows keys (and list indexes as "0", "1") through decoded JSON.
func dig(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, k := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := int(k[0] - '0')
			if i >= len(x) {
				t.Fatalf("index %s out of range at %v", k, path)
			}
			v = x[i]
		default:
			t.Fatalf("cannot follow %q in %v", k, path)
		}
	}
	return v
}

func strs(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	sort.Strings(out)
	return out
}

// TestSchemaMatchesCompiler: the schema's enumerations are the values the
// compiler accepts, so editors flag exactly what polc check flags.
func TestSchemaMatchesCompiler(t *testing.T) {
	raw, err := json.Marshal(Schema())
	if err != nil {
		t.Fatal(err)
	}
	var s any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	var modes []string
	for m := range legacyModes {
		modes = append(modes, m)
	}
	sort.Strings(modes)
	if got := strs(dig(t, s, "properties", "sandbox_mode", "enum")); strings.Join(got, ",") != strings.Join(modes, ",") {
		t.Errorf("sandbox_mode enum %v, compiler accepts %v", got, modes)
	}
	pols := append([]string(nil), approvalPolicies...)
	sort.Strings(pols)
	if got := strs(dig(t, s, "properties", "approval_policy", "oneOf", "0", "enum")); strings.Join(got, ",") != strings.Join(pols, ",") {
		t.Errorf("approval_policy enum %v, compiler accepts %v", got, pols)
	}
	access := strs(dig(t, s, "properties", "permissions", "additionalProperties", "properties", "filesystem", "additionalProperties", "oneOf", "0", "enum"))
	for _, a := range access {
		if _, ok := ir.ParseAccess(a); !ok {
			t.Errorf("schema allows access %q, the compiler does not", a)
		}
	}
	if strings.Join(access, ",") != "deny,none,read,write" {
		t.Errorf("access enum %v", access)
	}
	desc := dig(t, s, "properties", "permissions", "additionalProperties", "properties", "filesystem", "description").(string)
	for k := range specials {
		if !strings.Contains(desc, k) {
			t.Errorf("filesystem description does not name the special %s", k)
		}
	}
}
