package compiler

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"polc/diag"
)

// keyLoops maps each loop of polc's parsers over a table's keys (the
// function, and the expression it ranges over) to the table of the
// description it reads. A loop that compares its key with string
// literals must be listed here, and every literal must be a key the
// description gives that table.
var keyLoops = map[string]struct {
	kind  inputKind
	table string
}{
	"readTop t.Keys()":                     {configFile, ""},
	"readTop v.Tab.Keys()":                 {configFile, "auto_review"},
	"checkSWW t.Keys()":                    {configFile, "sandbox_workspace_write"},
	"warnLegacyIgnored t.Keys()":           {configFile, "sandbox_workspace_write"},
	"checkProjects pv.Tab.Keys()":          {configFile, "projects.*"},
	"parseApproval v.Tab.Keys()":           {configFile, "approval_policy"},
	"parseApproval g.Tab.Keys()":           {configFile, "approval_policy.granular"},
	"profileTables t.Keys()":               {requirementsFile, "permissions"},
	"compileBody t.Keys()":                 {configFile, "permissions.*"},
	"compileWorkspaceRoots t.Keys()":       {configFile, "permissions.*.workspace_roots"},
	"compileFilesystem sortedKeys(t)":      {configFile, "permissions.*.filesystem"},
	"compileFSKey sortedKeys(v.Tab)":       {configFile, "permissions.*.filesystem.*"},
	"Format fs.Keys()":                     {configFile, "permissions.*.filesystem"},
	"compileNetwork t.Keys()":              {configFile, "permissions.*.network"},
	"readRequirementFile t.Keys()":         {requirementsFile, ""},
	"readRequirementFile v.Tab.Keys()":     {requirementsFile, "permissions"},
	"readReservedFilesystem v.Tab.Keys()":  {requirementsFile, "permissions.filesystem"},
	"readRemoteSandboxConfig e.Tab.Keys()": {requirementsFile, "remote_sandbox_config[]"},
	"readNetworkRequirements t.Keys()":     {requirementsFile, "experimental_network"},
}

// TestParsersReadOnlyDescribedKeys fails when a parser in this package
// reads a key that codexkeys.json does not give its table: every loop
// over a table's keys that compares the key with a literal is mapped to
// its table above, and every literal passed to Get names a key the
// description has somewhere (or a filesystem special).
func TestParsersReadOnlyDescribedKeys(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	anyKey := map[string]bool{}
	for _, tabs := range []map[string]*keyTable{codexKeys().Config, codexKeys().Requirements} {
		for path, tab := range tabs {
			for _, k := range append(append(append([]string(nil), tab.Keys...), tab.Ignored...), tab.Reserved...) {
				anyKey[k] = true
			}
			for _, part := range strings.Split(strings.TrimSuffix(path, "[]"), ".") {
				anyKey[part] = true
			}
		}
	}
	loops := 0
	seenLoops := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		text := func(n ast.Node) string {
			return string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					// t.Get("key")
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Get" && len(n.Args) == 1 {
						if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							k, _ := strconv.Unquote(lit.Value)
							if _, special := specials[k]; !special && !anyKey[k] {
								t.Errorf("%s: %s reads the key %q, which codexkeys.json does not describe", fset.Position(n.Pos()), fn.Name.Name, k)
							}
						}
					}
				case *ast.RangeStmt:
					call, ok := n.X.(*ast.CallExpr)
					if !ok {
						return true
					}
					isKeys := false
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Keys" {
						isKeys = true
					}
					if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "sortedKeys" {
						isKeys = true
					}
					key, ok := n.Value.(*ast.Ident)
					if !isKeys || !ok {
						return true
					}
					lits := literalsComparedWith(n.Body, key.Name)
					if len(lits) == 0 {
						return true // a table of names or paths
					}
					loops++
					where := fn.Name.Name + " " + text(n.X)
					m, listed := keyLoops[where]
					if !listed {
						t.Errorf("%s: %s compares keys with %v: add %q to keyLoops with the table it reads, and the keys to codexkeys.json", fset.Position(n.Pos()), fn.Name.Name, lits, where)
						return true
					}
					tab := keysOf(m.kind, m.table)
					if tab == nil {
						t.Errorf("%s: codexkeys.json has no table %q", where, m.table)
						return true
					}
					seenLoops[where] = true
					for _, l := range lits {
						// A table of names or paths compares them with
						// specials ("." and ":project_roots"): entries.
						entry := tab.Entries != "" && !isFieldName(l)
						if !knownKey(m.kind, m.table, l) && !contains(tab.Reserved, l) && !entry {
							t.Errorf("%s: %s reads the key %q, which codexkeys.json does not give the table %q", fset.Position(n.Pos()), fn.Name.Name, l, m.table)
						}
					}
				}
				return true
			})
		}
	}
	for where := range keyLoops {
		if !seenLoops[where] {
			t.Errorf("keyLoops lists %q, which no longer exists: remove it", where)
		}
	}
	if loops < 8 {
		t.Errorf("found only %d key loops: the scan no longer sees the parsers", loops)
	}
	for _, k := range granularKeys {
		if !knownKey(configFile, "approval_policy.granular", k) {
			t.Errorf("granularKeys has %q, which codexkeys.json does not give approval_policy.granular", k)
		}
	}
	for _, k := range networkKeys {
		if !knownKey(configFile, "permissions.*.network", k) {
			t.Errorf("networkKeys has %q, which codexkeys.json does not give permissions.*.network", k)
		}
	}
}

// isFieldName reports whether s is spelt like a field (lower case,
// digits and underscores), not like a path or a special.
func isFieldName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return s != ""
}

// literalsComparedWith lists the string literals a block compares the
// identifier name with: switch cases on it, and == or != against it.
func literalsComparedWith(body ast.Node, name string) []string {
	seen := map[string]bool{}
	isName := func(e ast.Expr) bool { id, ok := e.(*ast.Ident); return ok && id.Name == name }
	add := func(e ast.Expr) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, _ := strconv.Unquote(lit.Value)
			seen[s] = true
		}
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SwitchStmt:
			if n.Tag != nil && isName(n.Tag) {
				for _, c := range n.Body.List {
					for _, e := range c.(*ast.CaseClause).List {
						add(e)
					}
				}
			}
		case *ast.BinaryExpr:
			if n.Op == token.EQL || n.Op == token.NEQ {
				if isName(n.X) {
					add(n.Y)
				} else if isName(n.Y) {
					add(n.X)
				}
			}
		}
		return true
	})
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// TestCodexKeysDescription: the description names its reference version,
// holds the keys real configs use that polc once called unknown, and
// leaves out keys the reference does not read.
func TestCodexKeysDescription(t *testing.T) {
	if !strings.Contains(ReferenceVersion(), "0.169.0") {
		t.Errorf("reference version %q", ReferenceVersion())
	}
	for _, k := range []string{"allow_login_shell", "suppress_unstable_features_warning", "plan_mode_reasoning_effort", "default_permissions", "permissions", "model"} {
		if !knownKey(configFile, "", k) {
			t.Errorf("config key %s missing", k)
		}
	}
	for _, k := range []string{"allow_managed_hooks_only", "allow_remote_control", "allow_appshots", "allowed_permission_profiles", "experimental_network", "feature_requirements"} {
		if !knownKey(requirementsFile, "", k) {
			t.Errorf("requirements key %s missing", k)
		}
	}
	// Read by neither file (the reference's strict mode calls them unknown).
	for _, k := range []string{"experimental_network", "sandbox", "rules", "sandbox_permissions"} {
		if knownKey(configFile, "", k) {
			t.Errorf("config key %s should be unknown", k)
		}
	}
	if knownKey(configFile, "auto_review", "required_on_models") || !knownKey(requirementsFile, "auto_review", "required_on_models") {
		t.Error("required_on_models belongs to the requirements' auto_review, not the config's")
	}
}

// TestUnknownKeysFromDescription: the false alarms are gone, a
// typo still gets POL004 with the nearest key, in every described table.
func TestUnknownKeysFromDescription(t *testing.T) {
	dir := t.TempDir()
	cfg := `allow_login_shell = false
suppress_unstable_features_warning = true
plan_mode_reasoning_effort = "high"
alow_login_shell = true
[features]
use_legacy_landlok = false
[projects."/tmp/x"]
trust_levl = "trusted"
`
	req := `allow_managed_hooks_only = true
allow_remote_control = false
allow_appshots = false
allow_remote_contrl = true
`
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "requirements.toml"), []byte(req), 0o644); err != nil {
		t.Fatal(err)
	}
	res := Compile(Options{Dir: dir, CodexHome: dir, Home: dir, SystemDir: filepath.Join(dir, "none"),
		RequirementFiles: []string{filepath.Join(dir, "requirements.toml")}, NoExpand: true})
	var got []string
	for _, d := range res.Diags {
		if d.Code == diag.UnknownKey {
			got = append(got, d.Message)
		}
	}
	want := []string{
		"unknown key allow_remote_contrl; did you mean allow_remote_control?",
		"unknown key alow_login_shell; did you mean allow_login_shell?",
		"unknown key features.use_legacy_landlok; did you mean use_legacy_landlock?",
		`unknown key projects."/tmp/x".trust_levl; did you mean trust_level?`,
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("POL004 messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
