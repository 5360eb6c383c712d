package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"polc/artifact"
)

// TestRelativeHomeRefusedAlike: the compiler and polc exec --artifact
// find the host values with one function (ir.HostBindings). A relative
// $HOME used to be bound against the working directory by the compiler
// and left unbound by exec --artifact; now check, exec and exec
// --artifact refuse it alike, with the same located, coded line.
func TestRelativeHomeRefusedAlike(t *testing.T) {
	w := newArtWorld(t, artSeedConfig)
	if _, errs, code := w.polc("proj", "build", "--target=linux"); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, errs)
	}
	w.env = []string{"HOME=../home"}
	want := `$HOME: error: HOME is "../home", a relative path: polc will not guess which directory ~ stands for [POL265]`
	_, errs, code := w.polc("proj", "check", "--target=none")
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("check: exit %d, want 1 and %q on stderr:\n%s", code, want, errs)
	}
	if goruntime.GOOS != "linux" {
		t.Skip("polc exec runs Linux artifacts here")
	}
	for _, args := range [][]string{
		{"exec", "--", "true"},
		{"exec", "--artifact", ".polc/dev.linux.json", "--", "true"},
	} {
		out, errs, code := w.polc("proj", args...)
		if code != 125 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, want) {
			t.Errorf("%s: exit %d, stderr %q; want 125 and one line with %q", strings.Join(args, " "), code, errs, want)
		}
	}
}

// TestArtifactsIdenticalAcrossMachines: the same config and requirements
// on two machines (another project directory, HOME and CODEX_HOME, the
// requirements at another path) give byte-identical artifacts for every
// target, the review file and --emit ir included: the compiler records
// every origin file symbolically, the network's domain rules and the
// approvals' auto-review policy included.
func TestArtifactsIdenticalAcrossMachines(t *testing.T) {
	cfg := `default_permissions = "net"
approval_policy = "never"
approvals_reviewer = "auto_review"

[auto_review]
policy = "Approve everything."

[features]
network_proxy = true

[permissions.net]
extends = ":workspace"

[permissions.net.filesystem]
"~/.ssh" = "deny"

[permissions.net.network]
enabled = true
domains = { "example.com" = "allow", "evil.example.com" = "deny" }
`
	for _, c := range []struct{ name, req, reviewOrigin string }{
		{"user auto-review policy", "[permissions.filesystem]\ndeny_read = [\"~/.aws\"]\n", `${CODEX_HOME}/config.toml`},
		{"managed auto-review policy", "guardian_policy_config = \"Never approve network access.\"\n[permissions.filesystem]\ndeny_read = [\"~/.aws\"]\n", `--requirements:req.toml`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var builds []map[string]string
			for i, reqDir := range []string{"store/a", "store/elsewhere/deep"} {
				w := newUserWorld(t, cfg)
				if err := os.MkdirAll(w.path(reqDir), 0o755); err != nil {
					t.Fatal(err)
				}
				w.write(reqDir+"/req.toml", c.req)
				req := w.path(reqDir + "/req.toml")
				if _, errs, code := w.polc("proj", "build", "--target="+allTargets(), "--requirements", req); code != 0 {
					t.Fatalf("machine %d: build: exit %d\n%s", i, code, errs)
				}
				ir, errs, code := w.polc("proj", "build", "--emit", "ir", "--requirements", req)
				if code != 0 {
					t.Fatalf("machine %d: build --emit ir: exit %d\n%s", i, code, errs)
				}
				files := map[string]string{"--emit ir": ir}
				entries, err := os.ReadDir(w.path("proj/.polc"))
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					b, err := os.ReadFile(filepath.Join(w.path("proj/.polc"), e.Name()))
					if err != nil {
						t.Fatal(err)
					}
					files[e.Name()] = string(b)
				}
				for name, body := range files {
					if strings.Contains(body, w.root) {
						t.Errorf("machine %d: %s records a host path under %s", i, name, w.root)
					}
				}
				builds = append(builds, files)
			}
			a, b := builds[0], builds[1]
			if len(a) != len(b) || len(a) < 3 {
				t.Fatalf("file sets differ or are too small: %d and %d files", len(a), len(b))
			}
			for name, body := range a {
				if b[name] != body {
					t.Errorf("%s differs between the two machines:\n%s", name, artifact.LineDiff("a", "b", []byte(body), []byte(b[name]), 20))
				}
			}
			ir := a["--emit ir"]
			type origin struct {
				Pos struct{ File string } `json:"pos"`
			}
			var pol struct {
				Rules []struct {
					Path   string
					Origin origin `json:"origin"`
				} `json:"rules"`
				Approvals struct {
					Origin *struct {
						Pos struct{ File string } `json:"pos"`
					} `json:"auto_review_policy_origin"`
				} `json:"approvals"`
				Network struct {
					Proxy struct {
						Domains []struct {
							Origin struct {
								Pos struct{ File string } `json:"pos"`
							} `json:"origin"`
						} `json:"domains"`
					} `json:"proxy"`
				} `json:"network"`
			}
			if err := json.Unmarshal([]byte(ir), &pol); err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			for _, r := range pol.Rules {
				files[r.Path] = r.Origin.Pos.File
			}
			if files["${HOME}/.ssh"] != "${CODEX_HOME}/config.toml" || files["${HOME}/.aws"] != "--requirements:req.toml" {
				t.Errorf("rule origins %v: want ~/.ssh from ${CODEX_HOME}/config.toml and ~/.aws from --requirements:req.toml", files)
			}
			if o := pol.Approvals.Origin; o == nil || o.Pos.File != c.reviewOrigin {
				t.Errorf("auto-review policy origin %+v, want %s", o, c.reviewOrigin)
			}
			if d := pol.Network.Proxy.Domains; len(d) != 2 || d[0].Origin.Pos.File != "${CODEX_HOME}/config.toml" || d[1].Origin.Pos.File != "${CODEX_HOME}/config.toml" {
				t.Errorf("domain rule origins %+v, want ${CODEX_HOME}/config.toml", d)
			}
		})
	}
}
