package seatbelt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"polc/backends"
	"polc/compiler"
	"polc/conformance"
	"polc/ir"
)

// TestGoldenCasesAgreeWithDecide runs every case of the project's golden
// suite (golden/testdata) through the compiler and this backend, and
// checks the interpreter against ir.Decide on every path of the case's
// world, its explain probes, and a few system paths. Cases that do not
// compile (diagnostic cases) are skipped; the golden driver pins their
// output.
func TestGoldenCasesAgreeWithDecide(t *testing.T) {
	files, _ := filepath.Glob("../../golden/testdata/*.txtar")
	if len(files) == 0 {
		t.Skip("no golden cases")
	}
	compiled := 0
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in := map[string]string{}
		for _, s := range ar.Files {
			in[s.Name] = string(s.Data)
		}
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			c := &conformance.Case{Config: in["config.toml"], Requirements: in["requirements.toml"]}
			_, c.HasReq = in["requirements.toml"]
			for _, l := range strings.Split(in["tree"], "\n") {
				if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
					c.Tree = append(c.Tree, l)
				}
			}
			root := conformance.TempRoot(t)
			w, err := c.Build(root)
			if err != nil {
				t.Fatal(err)
			}
			system := filepath.Join(root, "etc-codex")
			os.MkdirAll(system, 0o755)
			opts := compiler.Options{Dir: w.Proj, CodexHome: w.CodexHome, Home: w.Home, Tmpdir: w.Tmp, SystemDir: system}
			if w.RequirementsFile != "" {
				opts.RequirementFiles = []string{w.RequirementsFile}
			}
			args := append(strings.Fields(in["args"]), "")
			for i := 0; i+1 < len(args); i++ {
				switch args[i] {
				case "--strict":
					opts.Strict = true
				case "--exec":
					opts.ForExec = true
				case "--no-expand":
					opts.NoExpand = true
				case "-P":
					opts.Profile = args[i+1]
				case "-c":
					opts.Overrides = append(opts.Overrides, args[i+1])
				case "--config":
					opts.ConfigFiles = append(opts.ConfigFiles, filepath.Join(root, args[i+1]))
				case "--requirements":
					opts.RequirementFiles = append(opts.RequirementFiles, filepath.Join(root, args[i+1]))
				}
			}
			res := compiler.Compile(opts)
			if res.Policy == nil {
				t.Skip("does not compile (a diagnostics case)")
			}
			if _, diags := Lower(res.Policy, backends.Options{}); diags.HasErrors() {
				t.Fatalf("Lower: %v", diags.Err())
			}
			if !strings.Contains(in["macos.sb"], "(version 1)") {
				t.Errorf("golden case has no macos.sb section")
			}
			paths := append(walkAll(t, root), "/usr/bin/env", "/etc/hosts", "/tmp/polc-x", root+"/etc-codex/x")
			for _, l := range strings.Split(in["explain"], "\n") {
				if _, p, ok := strings.Cut(strings.TrimSpace(l), " "); ok {
					paths = append(paths, w.HostPath(strings.TrimSpace(p)))
				}
			}
			validate(t, res.Policy, res.Env, paths)
			compiled++
		})
	}
	if compiled == 0 {
		t.Fatal("no golden case compiled")
	}
	_ = ir.OpRead
}
