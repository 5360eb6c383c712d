package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"polc/compiler"
)

// ReadSections reads a txtar file's sections by name (a golden case:
// config.toml, requirements.toml, tree, args, and the recorded outputs).
func ReadSections(file string) (map[string]string, error) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		return nil, err
	}
	in := map[string]string{}
	for _, f := range ar.Files {
		in[f.Name] = string(f.Data)
	}
	return in, nil
}

// GoldenWorld builds a golden case's world from its input sections under
// TempRoot, and returns the world's root with the compile options its
// args section selects (-P, -c, --config, --requirements, --strict,
// --exec, --no-expand, --hostname; files relative to the root).
func GoldenWorld(t testing.TB, in map[string]string) (string, *World, compiler.Options) {
	t.Helper()
	c := &Case{Config: in["config.toml"], Requirements: in["requirements.toml"]}
	_, c.HasReq = in["requirements.toml"]
	c.Tree = lines(in["tree"])
	root := TempRoot(t)
	w, err := c.Build(root)
	if err != nil {
		t.Fatal(err)
	}
	system := filepath.Join(root, "etc-codex")
	if err := os.MkdirAll(system, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := compiler.Options{Dir: w.Proj, CodexHome: w.CodexHome, Home: w.Home, Tmpdir: w.Tmp, SystemDir: system}
	if w.RequirementsFile != "" {
		opts.RequirementFiles = []string{w.RequirementsFile}
	}
	f := strings.Fields(in["args"])
	for i := 0; i < len(f); i++ {
		next := func() string {
			if i+1 >= len(f) {
				t.Fatalf("args: %s needs a value", f[i])
			}
			i++
			return f[i]
		}
		switch f[i] {
		case "-P":
			opts.Profile = next()
		case "-c":
			opts.Overrides = append(opts.Overrides, next())
		case "--config":
			opts.ConfigFiles = append(opts.ConfigFiles, filepath.Join(root, next()))
		case "--requirements":
			opts.RequirementFiles = append(opts.RequirementFiles, filepath.Join(root, next()))
		case "--hostname":
			opts.Hostname = next()
		case "--strict":
			opts.Strict = true
		case "--exec":
			opts.ForExec = true
		case "--no-expand":
			opts.NoExpand = true
		default:
			t.Fatalf("args: unknown %q", f[i])
		}
	}
	return root, w, opts
}
