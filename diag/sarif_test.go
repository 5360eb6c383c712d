package diag

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestSARIFIsValid21: the SARIF log holds to the 2.1.0 schema where
// code-scanning uploads reject it: every artifactLocation.uri is a valid
// URI reference (project paths with spaces or non-ASCII letters
// included), files in the project are relative to %SRCROOT% (declared in
// originalUriBaseIds), a fix object is never emitted without its
// required artifactChanges, and ruleIndex points at the result's rule.
func TestSARIFIsValid21(t *testing.T) {
	root := "/srv/my proj/ünï"
	list := List{
		{Code: "POL020", Severity: Error, Pos: Pos{File: root + "/.codex/config.toml", Line: 2, Col: 10},
			Message: `unknown access value "reed"`, Fix: `use "read"`,
			Related: []Related{Rel(Pos{File: "/etc/codex/requirements.toml", Line: 1}, "the requirement")}},
		{Code: "POL062", Severity: Info, Pos: Pos{File: "${WORKSPACE_ROOT}/sub dir/.codex/config.toml", Line: 1, Col: 1}, Message: "m"},
		{Code: "POL062", Severity: Info, Pos: Pos{File: "/home/a b/.codex/config.toml", Line: 4}, Message: "m"},
	}
	raw, err := json.Marshal(sarifLog(list, root, "test"))
	if err != nil {
		t.Fatal(err)
	}
	var log map[string]any
	if err := json.Unmarshal(raw, &log); err != nil {
		t.Fatal(err)
	}
	if log["version"] != "2.1.0" || log["$schema"] == nil {
		t.Fatalf("version/$schema: %v %v", log["version"], log["$schema"])
	}
	run := log["runs"].([]any)[0].(map[string]any)
	rules := run["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)
	bases, _ := run["originalUriBaseIds"].(map[string]any)
	var uris []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if al, ok := v["artifactLocation"].(map[string]any); ok {
				uris = append(uris, al)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	results := run["results"].([]any)
	for i, r := range results {
		r := r.(map[string]any)
		if fixes, ok := r["fixes"]; ok {
			for _, f := range fixes.([]any) {
				if _, ok := f.(map[string]any)["artifactChanges"]; !ok {
					t.Errorf("result %d: a fix without its required artifactChanges", i)
				}
			}
		}
		idx := int(r["ruleIndex"].(float64))
		if idx >= len(rules) || rules[idx].(map[string]any)["id"] != r["ruleId"] {
			t.Errorf("result %d: ruleIndex %d does not name %v", i, idx, r["ruleId"])
		}
		walk(r)
	}
	if !strings.Contains(results[0].(map[string]any)["message"].(map[string]any)["text"].(string), `use "read"`) {
		t.Error("the fix is lost from the result")
	}
	if len(uris) != 4 {
		t.Fatalf("%d artifact locations, want 4", len(uris))
	}
	for _, al := range uris {
		u := al["uri"].(string)
		if strings.ContainsAny(u, " ${}") || strings.ContainsFunc(u, func(r rune) bool { return r > 0x7e }) {
			t.Errorf("uri %q is not a valid URI reference", u)
		}
		if _, err := url.Parse(u); err != nil {
			t.Errorf("uri %q: %v", u, err)
		}
		if b, ok := al["uriBaseId"].(string); ok {
			if bases[b] == nil {
				t.Errorf("uriBaseId %q is not declared in originalUriBaseIds", b)
			}
			if strings.HasPrefix(u, "/") || strings.Contains(u, ":") {
				t.Errorf("uri %q with a base id must be relative", u)
			}
		}
	}
	first := results[0].(map[string]any)["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["artifactLocation"].(map[string]any)
	if u := first["uri"]; u != ".codex/config.toml" || first["uriBaseId"] != srcRoot {
		t.Errorf("project file: %v, want .codex/config.toml under %s", first, srcRoot)
	}
	base := bases[srcRoot].(map[string]any)["uri"].(string)
	if pu, err := url.Parse(base); err != nil || pu.Scheme != "file" || pu.Path != root+"/" {
		t.Errorf("%s = %q, want the file URI of %s/", srcRoot, base, root)
	}
}
