package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"polc/internal/conformance"
	"polc/ir"
)

var goldenDiag = regexp.MustCompile(`: (error|warning|info): .*\[(POL\d+)\]$`)

// absPath finds absolute paths in a message (globs and quotes end them).
var absPath = regexp.MustCompile(`(?:^|[\s("'` + "`" + `])(/[^\s,;:()"'` + "`" + `]*)`)

// TestCheckJSONOnRealShapes runs polc check --format json on the golden
// cases written in the shapes of issue 17 (the 27x cases): the JSON has
// the codes and severities the golden case records, and no diagnostic
// names an existing path outside the project, the home, the codex home
// and the requirements file.
func TestCheckJSONOnRealShapes(t *testing.T) {
	files, err := filepath.Glob("../../golden/testdata/27[0-9]-check-*.txtar")
	if err != nil || len(files) < 10 {
		t.Fatalf("want the ten 27x golden cases, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sec := map[string]string{}
		for _, s := range ar.Files {
			sec[s.Name] = string(s.Data)
		}
		var want []string
		for _, l := range strings.Split(sec["diagnostics"], "\n") {
			if m := goldenDiag.FindStringSubmatch(l); m != nil {
				want = append(want, m[2]+" "+m[1])
			}
		}
		sort.Strings(want)
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			c := &conformance.Case{Config: sec["config.toml"], Requirements: sec["requirements.toml"]}
			_, c.HasReq = sec["requirements.toml"]
			for _, l := range strings.Split(sec["tree"], "\n") {
				if l = strings.TrimSpace(l); l != "" {
					c.Tree = append(c.Tree, l)
				}
			}
			cw := newCLIWorld(t, c)
			args := append([]string{"check", "--format", "json", "--target", "none", "-C", cw.w.Proj}, cw.reqArgs()...)
			out, errOut, code := cw.polc(args...)
			var list []struct {
				Code     string `json:"code"`
				Severity string `json:"severity"`
				Message  string `json:"message"`
				Fix      string `json:"fix"`
			}
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				t.Fatalf("json: %v\n%s%s", err, out, errOut)
			}
			var got []string
			errors := false
			for _, d := range list {
				got = append(got, d.Code+" "+d.Severity)
				errors = errors || d.Severity == "error"
				for _, text := range []string{d.Message, d.Fix} {
					for _, m := range absPath.FindAllStringSubmatch(text, -1) {
						p := strings.TrimRight(m[1], ".")
						if p == "/" || p == "/proc" || p == "/sys" {
							continue // named as places, not as someone's files
						}
						if _, err := os.Lstat(p); err != nil {
							continue // a pattern or a suggestion, not a host path
						}
						if !ir.HasPathPrefix(p, cw.w.Proj) && !ir.HasPathPrefix(p, cw.w.Home) && !ir.HasPathPrefix(p, cw.w.CodexHome) && p != cw.w.RequirementsFile {
							t.Errorf("%s names %s, outside the project, the home and the inputs:\n%s", d.Code, p, text)
						}
					}
				}
			}
			sort.Strings(got)
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Errorf("check --format json gave %v, the golden case %v", got, want)
			}
			if wantCode := map[bool]int{true: 1, false: 0}[errors]; code != wantCode {
				t.Errorf("exit %d, want %d", code, wantCode)
			}
		})
	}
}

// TestExecNamesRootAnchoredRequirement: exec refuses a requirement's
// deny glob anchored at / before anything starts, naming the line (not a
// /proc path the walk tripped over).
func TestExecNamesRootAnchoredRequirement(t *testing.T) {
	c := &conformance.Case{Config: "default_permissions = \":workspace\"\n", HasReq: true,
		Requirements: "[permissions.filesystem]\ndeny_read = [\"~/.ssh\", \"/**/*.key\"]\n"}
	cw := newCLIWorld(t, c)
	out, errOut, code := cw.polc(append([]string{"exec", "-C", cw.w.Proj}, append(cw.reqArgs(), "--", "/bin/sh", "-c", "echo RAN")...)...)
	if code == 0 || strings.Contains(out, "RAN") {
		t.Fatalf("exit %d, want a refusal before the command runs\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "requirements.toml:2:24") || !strings.Contains(errOut, "POL170") || strings.Contains(errOut, "/proc/") {
		t.Errorf("exec's refusal should name the requirement's line:\n%s", errOut)
	}
}
