package rollout

import (
	"os"
	"path/filepath"
	"polc/ir"
	"runtime/debug"
	"strings"
	"testing"

	"polc/backends"
	"polc/compiler"
	"polc/diag"
	"polc/lowering"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Discovery lists one level: a corpus directory's *.toml files and the
// directories that are entries; it does not walk into deeper trees, and
// a directory with nothing to check is reported, not skipped silently.
func TestDiscoverOneLevel(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"corpus/a.toml":                    "",
		"corpus/home/config.toml":          "",
		"corpus/proj/.codex/config.toml":   "",
		"corpus/team/deeper/config.toml":   "",
		"corpus/notes.txt":                 "",
		"single/config.toml":               "",
		"empty/README.md":                  "",
		"corpus/both/config.toml":          "",
		"corpus/both/.codex/config.toml":   "",
		"corpus/nothing/.codex/other.toml": "",
	})
	got := discover([]string{filepath.Join(root, "corpus"), filepath.Join(root, "single"), filepath.Join(root, "empty"), filepath.Join(root, "absent")})
	var lines []string
	for _, e := range got {
		rel, _ := filepath.Rel(root, e.path)
		kind := ""
		switch {
		case e.problem != nil:
			kind = string(e.problem.Code)
		case e.configFile != "":
			kind = "file"
		default:
			if e.codexHome != "" {
				kind += "home"
			}
			if e.dir != "" {
				kind += "+project"
			}
		}
		lines = append(lines, rel+" "+kind)
	}
	want := "corpus/a.toml file|corpus/both home+project|corpus/home home|corpus/proj +project|single home|empty POL185|absent POL184"
	if g := strings.Join(lines, "|"); g != want {
		t.Errorf("discover:\n got %s\nwant %s", g, want)
	}
}

// Two users with the same config bytes are checked once; each report
// names its own file.
func TestDuplicateConfigsNameTheirOwnFile(t *testing.T) {
	root := t.TempDir()
	cfg := "default_permissions = \":danger-full-access\"\n"
	writeFiles(t, root, map[string]string{
		"new.toml":             "allowed_permission_profiles = { \":read-only\" = true, \":workspace\" = true }\n",
		"corpus/a.toml":        cfg,
		"corpus/b.toml":        cfg,
		"corpus/c/config.toml": cfg,
	})
	rep, d, err := Run([]string{filepath.Join(root, "corpus")}, Options{Requirements: []string{filepath.Join(root, "new.toml")}, Platforms: []ir.Platform{ir.Linux}})
	if err != nil || d.HasErrors() {
		t.Fatal(err, d)
	}
	if len(rep.Configs) != 3 {
		t.Fatalf("%d configs", len(rep.Configs))
	}
	for _, c := range rep.Configs {
		if c.Status != Refused || len(c.Profiles) != 1 || len(c.Profiles[0].Refusals) != 1 {
			t.Fatalf("%s: %+v", c.Path, c)
		}
		f := c.Profiles[0].Refusals[0]
		want := c.Path
		if !strings.HasSuffix(want, ".toml") {
			want = filepath.Join(c.Path, "config.toml")
		}
		if f.Config.File != want || f.Config.Line != 1 || f.Config.Col != 23 {
			t.Errorf("%s: refusal located at %v, want %s:1:23", c.Path, f.Config, want)
		}
	}
}

// Statuses order: a profile's status is its worst platform's.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		effects []string
		want    Status
	}{
		{nil, Unchanged},
		{[]string{""}, Changed},
		{[]string{"wider", ""}, Widened},
		{[]string{"wider", "narrower"}, Narrowed},
		{[]string{"mixed"}, Narrowed},
	} {
		var cs []Change
		for _, e := range tc.effects {
			cs = append(cs, Change{Effect: e})
		}
		if got := classify(cs); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.effects, got, tc.want)
		}
	}
	if !Refused.AtLeast(Narrowed) || Widened.AtLeast(Narrowed) || !Error.AtLeast(Refused) {
		t.Error("status order")
	}
}

// A refusal's two sides: the position in a requirements file is the
// requirement's, the other the config's.
func TestRefusalSides(t *testing.T) {
	r := &runner{reqFiles: map[string]bool{"new.toml": true}}
	d := diag.Diagnostic{Code: "POL163", Pos: diag.Pos{File: "new.toml", Line: 2, Col: 1},
		Related: []diag.Related{diag.Rel(diag.Pos{File: "u/config.toml", Line: 1, Col: 23}, "")}, Message: "m"}
	f := r.refusal(d, &entry{configFile: "u/config.toml"})
	if f.Requirement.String() != "new.toml:2:1" || f.Config.String() != "u/config.toml:1:23" {
		t.Errorf("%+v", f)
	}
	// Only the requirement known: the config side is the config file.
	d.Related = nil
	if f := r.refusal(d, &entry{configFile: "u/config.toml"}); f.Config.String() != "u/config.toml" {
		t.Errorf("%+v", f)
	}
}

// A backend's Check says exactly what its Lower says: the rollout asks
// Check to skip encoding payloads, and must not see another verdict.
func TestCheckAgreesWithLower(t *testing.T) {
	corpus, _, newReq := benchCorpus(t, 3)
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"sockets.toml": "default_permissions = \"s\"\n[permissions.s]\nextends = \":workspace\"\n[permissions.s.network]\nunix_sockets = { \"/run/x.sock\" = \"allow\" }\n",
		"full.toml":    "default_permissions = \":danger-full-access\"\n",
	})
	r, err := newRunner(Options{Requirements: []string{newReq}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	entries := discover([]string{corpus, filepath.Join(root, "sockets.toml"), filepath.Join(root, "full.toml")})
	checked := 0
	for _, e := range entries {
		for _, name := range []string{"", "review", "ci"} {
			res := compiler.Compile(r.options(e, name, r.opts.Requirements)).Policy
			if res == nil {
				continue
			}
			for _, pl := range ir.Platforms {
				b := lowering.Backend(pl)
				_, lowered := b.Lower(res, backends.Options{})
				got := b.Check(res, backends.Options{})
				if len(got) != len(lowered) {
					t.Fatalf("%s %s %s: Check %v, Lower %v", e.path, name, pl, got, lowered)
				}
				for i := range got {
					if got[i].String() != lowered[i].String() {
						t.Errorf("%s %s %s: Check %v, Lower %v", e.path, name, pl, got[i], lowered[i])
					}
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no policy was checked")
	}
}

// TestBatchGC: the run's collector setting is restored afterwards, and
// GOGC in the environment is left alone.
func TestBatchGC(t *testing.T) {
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	restore := BatchGC()
	if got := debug.SetGCPercent(batchGCPercent); got != batchGCPercent {
		t.Errorf("during the run the GC percent is %d, want %d", got, batchGCPercent)
	}
	restore()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("after the run the GC percent is %d, want 150 again", got)
	}
	t.Setenv("GOGC", "80")
	restore = BatchGC()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("with GOGC set, BatchGC changed the GC percent to %d", got)
	}
	restore()
}
