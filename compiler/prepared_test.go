package compiler_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"polc/compiler"
	"polc/internal/conformance"
)

// sameResult fails unless two compiles agree on everything but timings.
func sameResult(t *testing.T, what string, got, want *compiler.Result) {
	t.Helper()
	if !reflect.DeepEqual(got.Diags, want.Diags) {
		t.Errorf("%s: diagnostics differ:\n%v\nwant\n%v", what, got.Diags, want.Diags)
	}
	if !reflect.DeepEqual(got.Policy, want.Policy) {
		t.Errorf("%s: policies differ", what)
	}
	if !reflect.DeepEqual(got.Env, want.Env) || !reflect.DeepEqual(got.Expansion, want.Expansion) {
		t.Errorf("%s: env or expansion differ", what)
	}
	if len(got.Timings) != len(want.Timings) {
		t.Errorf("%s: %d timings, want %d", what, len(got.Timings), len(want.Timings))
	}
}

// TestPreparedCompilesAsCompile: a prepared config compiled under each
// of its profiles and under each requirement set (the case's, none, and
// an unreadable file) gives what Compile gives for the same options, on
// every golden case (broken configs, trust, project layers, requirements
// of every kind), in any order and more than once.
func TestPreparedCompilesAsCompile(t *testing.T) {
	files, _ := filepath.Glob("../golden/testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden cases")
	}
	compared := 0
	for _, f := range files {
		in, err := conformance.ReadSections(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			root, _, opts := conformance.GoldenWorld(t, in)
			missing := filepath.Join(root, "no-such-requirements.toml")
			sets := [][]string{opts.RequirementFiles, nil, {missing}}
			profiles := append([]string{"", opts.Profile}, compiler.ProfileNames(opts)...)
			prep := compiler.Prepare(opts)
			// The same config through a shared host cache (requirement
			// files read once for every compile).
			cachedOpts := opts
			cachedOpts.Host = compiler.NewHostCache()
			cached := compiler.Prepare(cachedOpts)
			// The same config with its top layer's file read by the
			// caller (as rollout does).
			top := filepath.Join(opts.CodexHome, "config.toml")
			if n := len(opts.ConfigFiles); n > 0 {
				top = opts.ConfigFiles[n-1]
			}
			preread := prep
			if data, err := os.ReadFile(top); err == nil {
				preread = compiler.PrepareRead(opts, top, data)
			}
			plainNames := opts
			plainNames.RequirementFiles = nil
			if got, want := prep.ProfileNames(), compiler.ProfileNames(plainNames); !reflect.DeepEqual(got, want) {
				t.Errorf("ProfileNames %v, want %v", got, want)
			}
			for round := 0; round < 2; round++ {
				for _, reqs := range sets {
					for _, name := range profiles {
						o := opts
						o.Profile, o.RequirementFiles = name, reqs
						what := "-P " + name + " --requirements " + strings.Join(reqs, ",")
						want := compiler.Compile(o)
						sameResult(t, what, prep.Compile(name, reqs), want)
						sameResult(t, what+" (host cache)", cached.Compile(name, reqs), want)
						sameResult(t, what+" (read by the caller)", preread.Compile(name, reqs), want)
						compared++
					}
				}
			}
		})
	}
	if compared == 0 {
		t.Fatal("nothing compared")
	}
}

// TestPreparedUnreadableProject: a project directory that cannot be
// used stops every compile of the prepared config, as it stops Compile.
func TestPreparedUnreadableProject(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := compiler.Options{Dir: file, CodexHome: dir, Home: dir, Tmpdir: dir, SystemDir: dir}
	want := compiler.Compile(opts)
	if !want.Diags.HasErrors() {
		t.Fatal("want the project directory refused")
	}
	prep := compiler.Prepare(opts)
	sameResult(t, "unreadable project", prep.Compile("", nil), want)
	if got := prep.ProfileNames(); len(got) != 3 {
		t.Errorf("ProfileNames of an unusable project: %v", got)
	}
}
