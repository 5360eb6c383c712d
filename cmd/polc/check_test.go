package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"polc/internal/conformance"
)

// cliWorld builds a conformance-style case under /var/tmp (the :workspace
// profile makes /tmp writable) and runs polc in it as a user would.
type cliWorld struct {
	t *testing.T
	w *conformance.World
}

func newCLIWorld(t *testing.T, c *conformance.Case) *cliWorld {
	t.Helper()
	if _, err := os.Stat("/etc/codex/requirements.toml"); err == nil {
		t.Skip("this machine has managed requirements in /etc/codex; the CLI would apply them")
	}
	root, err := os.MkdirTemp("/var/tmp", "polc-checktest-")
	if err != nil {
		t.Skipf("no /var/tmp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	root, _ = filepath.EvalSymlinks(root)
	w, err := c.Build(root)
	if err != nil {
		t.Fatal(err)
	}
	return &cliWorld{t: t, w: w}
}

// polc runs polc with the world's environment from the project directory.
func (cw *cliWorld) polc(args ...string) (string, string, int) {
	cw.t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = cw.w.Proj
	cmd.Env = append(os.Environ(), artMainEnv+"=1", "POLC_ARTTEST_TRUST_DIR="+filepath.Join(cw.w.Root, "trust.d"))
	cmd.Env = append(cmd.Env, cw.w.Env()...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		cw.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func (cw *cliWorld) reqArgs() []string {
	if cw.w.RequirementsFile == "" {
		return nil
	}
	return []string{"--requirements", cw.w.RequirementsFile}
}

// conformanceCases loads the shared cases. Tree entries that put a junk
// file at proj/.codex/config.toml are dropped: check and explain load
// project layers (exec only for trusted projects), and the junk is not
// TOML — which check would rightly report.
func conformanceCases(t *testing.T) []*conformance.Case {
	cases, err := conformance.Load("../../internal/conformance/testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		var tree []string
		for _, e := range c.Tree {
			if strings.HasPrefix(e, "proj/.codex/config.toml") {
				continue
			}
			tree = append(tree, e)
		}
		c.Tree = tree
	}
	return cases
}

// TestCheckConformanceConfigs: polc check reports no error on any shared
// conformance config, except the refused one (POL050, exit 1).
func TestCheckConformanceConfigs(t *testing.T) {
	for _, c := range conformanceCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			cw := newCLIWorld(t, c)
			errOut, out, code := cw.polc(append([]string{"check", "-C", cw.w.Proj, "-P", c.Profile()}, cw.reqArgs()...)...)
			if c.Refused {
				// The refusal is located: file:line:col, the case's code.
				// (POL050 for a profile forced with -P is at -P and names the
				// requirement's position in its message.)
				located := regexp.MustCompile(`(?m)^.*error: .*\S+:\d+:\d+.*\[` + c.RefusalCode + `\]$|^\S+:\d+:\d+: error: .*\[` + c.RefusalCode + `\]$`)
				if code != 1 || !located.MatchString(out) {
					t.Fatalf("want exit 1 with a located %s, got %d:\n%s%s", c.RefusalCode, code, out, errOut)
				}
				return
			}
			if code != 0 || strings.Contains(out, ": error: ") {
				t.Fatalf("exit %d:\n%s%s", code, out, errOut)
			}
		})
	}
}

// TestExplainAgreesWithConformance: explain --format json answers every
// read and write probe of the shared cases as the case wants. A row the
// reference allows only because the match lies beyond
// glob_scan_max_depth is denied by polc (allowed_within_cap is the
// reference's answer).
func TestExplainAgreesWithConformance(t *testing.T) {
	for _, c := range conformanceCases(t) {
		if c.Refused {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			cw := newCLIWorld(t, c)
			for _, opName := range []string{"read", "write"} {
				var paths, keys []string
				var want []bool
				for i, p := range c.Probes {
					op := p.Op
					switch op {
					case "list", "exec":
						op = "read"
					case "mkdir", "rm":
						op = "write"
					}
					if op != opName {
						continue
					}
					paths = append(paths, cw.w.HostPath(p.Path))
					keys = append(keys, p.Key())
					want = append(want, c.WantFor(i) == "allow")
				}
				if len(paths) == 0 {
					continue
				}
				args := append([]string{"explain", "-C", cw.w.Proj, "-P", c.Profile(), "--op", opName, "--format", "json"}, cw.reqArgs()...)
				out, errOut, code := cw.polc(append(args, paths...)...)
				if code != 0 {
					t.Fatalf("explain exit %d: %s", code, errOut)
				}
				var got []explanation
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatalf("explain JSON: %v\n%s", err, out)
				}
				if len(got) != len(paths) {
					t.Fatalf("%d answers for %d paths", len(got), len(paths))
				}
				for i, e := range got {
					if e.Op != opName || e.Target != "ir" || e.Path == "" {
						t.Errorf("%s: malformed answer %+v", keys[i], e)
					}
					if e.Allowed == want[i] {
						continue
					}
					if !e.Allowed && e.AllowedWithinCap != nil && *e.AllowedWithinCap == want[i] {
						continue // beyond the scan depth: polc denies, Linux would not
					}
					t.Errorf("%s: allowed=%v, want %v (%s)", keys[i], e.Allowed, want[i], e.Reason)
				}
			}
		})
	}
}

var fileLine = regexp.MustCompile(`\.toml:\d+`)

// TestCheckBadInputs runs polc check on every golden case whose
// diagnostics hold an error: exit 1, and the message names config.toml or
// requirements.toml with its line.
func TestCheckBadInputs(t *testing.T) {
	files, err := filepath.Glob("../../golden/testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	n := 0
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sec := map[string]string{}
		for _, s := range ar.Files {
			sec[s.Name] = string(s.Data)
		}
		if !strings.Contains(sec["diagnostics"], ": error: ") || strings.Contains(sec["args"], "--exec") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(f), ".txtar")
		t.Run(name, func(t *testing.T) {
			c := &conformance.Case{Config: sec["config.toml"], Requirements: sec["requirements.toml"]}
			_, c.HasReq = sec["requirements.toml"]
			for _, l := range strings.Split(sec["tree"], "\n") {
				if l = strings.TrimSpace(l); l != "" {
					c.Tree = append(c.Tree, l)
				}
			}
			cw := newCLIWorld(t, c)
			args := append([]string{"check", "-C", cw.w.Proj}, cw.reqArgs()...)
			f := strings.Fields(sec["args"])
			for i := 0; i < len(f); i++ {
				switch f[i] {
				case "--config", "--requirements":
					args = append(args, f[i], filepath.Join(cw.w.Root, f[i+1]))
					i++
				case "-P", "-c":
					args = append(args, f[i], f[i+1])
					i++
				default:
					args = append(args, f[i])
				}
			}
			errOut, out, code := cw.polc(args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s%s", code, out, errOut)
			}
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, ": error: ") && !fileLine.MatchString(l) && !strings.HasPrefix(l, "-c:") && !strings.HasPrefix(l, "-P:") {
					t.Errorf("error without config.toml/requirements.toml:LINE: %s", l)
				}
			}
			if strings.Contains(out, "panic") || strings.Contains(out, "goroutine") {
				t.Fatalf("stack trace on stderr:\n%s", errOut)
			}
		})
	}
	if n < 25 {
		t.Errorf("only %d bad-input golden cases", n)
	}
}

// TestCheckFormats: JSON is a list of diagnostics and SARIF 2.1.0 names
// every registered code as a rule.
func TestCheckFormats(t *testing.T) {
	c := &conformance.Case{Config: "default_permissions = \"p\"\n[permissions.p.filesystem]\n\":root\" = \"reed\"\n"}
	cw := newCLIWorld(t, c)
	out, _, code := cw.polc("check", "--format", "json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != 1 {
		t.Fatalf("json: exit %d, %v\n%s", code, err, out)
	}
	if len(list) != 1 || list[0]["code"] != "POL020" || list[0]["severity"] != "error" {
		t.Errorf("json diagnostics: %v", list)
	}
	out, _, code = cw.polc("check", "--format", "sarif")
	var s sarif
	if err := json.Unmarshal([]byte(out), &s); err != nil || code != 1 {
		t.Fatalf("sarif: exit %d, %v", code, err)
	}
	if s.Version != "2.1.0" || len(s.Runs) != 1 || len(s.Runs[0].Tool.Driver.Rules) < 50 {
		t.Fatalf("sarif shape: %+v", s)
	}
	r := s.Runs[0].Results
	if len(r) != 1 || r[0].RuleID != "POL020" || s.Runs[0].Tool.Driver.Rules[r[0].RuleIndex].ID != "POL020" ||
		r[0].Locations[0].PhysicalLocation.Region.StartLine != 3 {
		t.Errorf("sarif result: %+v", r)
	}
	if _, _, code := cw.polc("check", "--format", "xml"); code != 2 {
		t.Errorf("unknown format: exit %d, want 2", code)
	}
}
