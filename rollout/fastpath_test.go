package rollout

import (
	"encoding/json"
	"path/filepath"
	"polc/ir"
	"testing"

	"polc/backends"
)

// variedCorpus writes a corpus that takes every road through a check:
// broken and unreadable input, a missing profile, project trees and
// collected CODEX_HOMEs (with a project layer and trust), duplicates,
// profiles the requirements refuse, narrow, widen or leave alone,
// network, proxy and Unix socket settings, globs, symlinks.
func variedCorpus(t *testing.T) (corpus string, reqs map[string]string) {
	t.Helper()
	root := t.TempDir()
	dev := `default_permissions = "dev"
approval_policy = "never"
[permissions.dev]
extends = ":workspace"
[permissions.dev.filesystem]
"~/src" = "write"
":workspace_roots" = { "." = "write", "**/*.env" = "deny", "secrets" = "deny" }
[permissions.dev.network]
enabled = true
[permissions.ro.filesystem]
":minimal" = "read"
":workspace_roots" = "read"
`
	writeFiles(t, root, map[string]string{
		"old.toml":      "allowed_approval_policies = [\"on-request\", \"never\"]\n[permissions.filesystem]\ndeny_read = [\"~/.aws\"]\n",
		"new.toml":      "allowed_approval_policies = [\"on-request\"]\n[permissions.filesystem]\ndeny_read = [\"~/.aws\", \"~/.ssh\", \"/srv/secrets/**/*.key\"]\n",
		"profiles.toml": "allowed_permission_profiles = { \":read-only\" = true, \":workspace\" = true }\n",
		"widen.toml":    "allowed_approval_policies = [\"on-request\", \"never\", \"untrusted\"]\n",
		"broken.toml":   "allowed_approval_policies = [\"on-request\"\n",
		// The same requirements, moved to other lines: every policy is
		// the same but for positions (and the auto-review text's).
		"guard-old.toml": "guardian_policy_config = \"ask first\"\nallowed_approval_policies = [\"on-request\", \"never\"]\n[permissions.filesystem]\ndeny_read = [\"~/.aws\"]\n",
		"guard-new.toml": "# moved\nallowed_approval_policies = [\"on-request\", \"never\"]\n\nguardian_policy_config = \"ask first\"\n[permissions.filesystem]\ndeny_read = [\"~/.aws\"]\n",

		"corpus/dev.toml":       dev,
		"corpus/dev-copy.toml":  dev,
		"corpus/full.toml":      "default_permissions = \":danger-full-access\"\n",
		"corpus/empty.toml":     "",
		"corpus/broken.toml":    "default_permissions = [\n",
		"corpus/missing.toml":   "default_permissions = \"nope\"\n",
		"corpus/legacy.toml":    "sandbox_mode = \"workspace-write\"\napproval_policy = \"on-request\"\n",
		"corpus/nodefault.toml": "[permissions.ci.filesystem]\n\":minimal\" = \"read\"\n\"/var/ci\" = \"write\"\n",
		"corpus/sockets.toml":   "default_permissions = \"s\"\n[permissions.s]\nextends = \":workspace\"\n[permissions.s.network]\nunix_sockets = { \"/run/x.sock\" = \"allow\" }\n",
		"corpus/glob.toml":      "default_permissions = \"g\"\n[permissions.g]\nextends = \":read-only\"\n[permissions.g.filesystem]\n\"/opt/{a,b}/**/*.pem\" = \"deny\"\n\"~/.cache\" = \"write\"\n",
		"corpus/net.toml": "default_permissions = \"net\"\n[permissions.net]\nextends = \":workspace\"\n[permissions.net.network]\nenabled = true\nmode = \"limited\"\n" +
			"[permissions.net.network.domains]\n\"example.com\" = \"allow\"\n\"*.evil.test\" = \"deny\"\n[features]\nnetwork_proxy = true\n",
		"corpus/review.toml":                     "approvals_reviewer = \"auto_review\"\napproval_policy = \"on-request\"\n[auto_review]\npolicy = \"mine\"\n",
		"corpus/badkey.toml":                     "default_permissions = \":workspace\"\n[permissions.x.filesystem]\n\"~/a\" = \"maybe\"\n",
		"corpus/home/config.toml":                dev,
		"corpus/proj/.codex/config.toml":         "default_permissions = \"ro\"\n[permissions.ro.filesystem]\n\":minimal\" = \"read\"\n\":workspace_roots\" = \"read\"\n",
		"corpus/proj/secrets/k.env":              "x",
		"corpus/both/config.toml":                dev,
		"corpus/both/.codex/config.toml":         "approval_policy = \"on-request\"\n",
		"corpus/trusted/.codex/config.toml":      "default_permissions = \":workspace\"\n",
		"corpus/trusted/.git/HEAD":               "ref: refs/heads/main\n",
		"corpus/nothing-here/README":             "",
		"corpus/ws/.codex/config.toml":           dev,
		"corpus/ws/.env":                         "SECRET=1",
		"corpus/ws/sub/deep/.env":                "SECRET=1",
		"corpus/ws/.git":                         "gitdir: ../gitdirs/ws\n",
		"corpus/ws-default/.codex/config.toml":   "approval_policy = \"never\"\n",
		"corpus/ws-default/.codex/README.md":     "",
		"corpus/ws-default/src/main.go":          "package main\n",
		"corpus/zz-readonly/.codex/config.toml":  "default_permissions = \":read-only\"\n",
		"corpus/zz-readonly/.codex/another.toml": "",
	})
	return filepath.Join(root, "corpus"), map[string]string{
		"old": filepath.Join(root, "old.toml"), "new": filepath.Join(root, "new.toml"),
		"guard-old": filepath.Join(root, "guard-old.toml"), "guard-new": filepath.Join(root, "guard-new.toml"),
		"widen": filepath.Join(root, "widen.toml"), "profiles": filepath.Join(root, "profiles.toml"), "broken": filepath.Join(root, "broken.toml"),
	}
}

// TestFastPathReportsAsPlain: the shortcuts (a config read once for all
// its compiles, shared host lookups, backends' Check, memoized configs
// and verdicts) change nothing in the report, on a varied corpus, the
// example corpus and a slice of the benchmark's, under several changes.
func TestFastPathReportsAsPlain(t *testing.T) {
	corpus, reqs := variedCorpus(t)
	bench, benchOld, benchNew := benchCorpus(t, 6)
	example, _ := filepath.Abs("../examples/rollout")
	paths := []string{corpus, bench, filepath.Join(example, "corpus"), filepath.Join(corpus, "dev.toml"), filepath.Join(corpus, "absent.toml")}
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"new over old", Options{Requirements: []string{reqs["new"]}, Baseline: []string{reqs["old"]}}},
		{"new over nothing", Options{Requirements: []string{reqs["new"]}}},
		{"moved", Options{Requirements: []string{reqs["guard-new"]}, Baseline: []string{reqs["guard-old"]}}},
		{"widening", Options{Requirements: []string{reqs["widen"]}, Baseline: []string{reqs["new"]}}},
		{"layered", Options{Requirements: []string{reqs["profiles"], reqs["new"]}, Baseline: []string{reqs["old"]}, Lower: backends.Options{AllowUnenforceable: true}}},
		{"bench", Options{Requirements: []string{benchNew}, Baseline: []string{benchOld}, Expand: true}},
		{"example", Options{Requirements: []string{filepath.Join(example, "new-requirements.toml")},
			Baseline: []string{filepath.Join(example, "old-requirements.toml")}, Platforms: []ir.Platform{ir.Linux, ir.MacOS}}},
		{"broken requirements", Options{Requirements: []string{reqs["broken"]}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fast, fd, ferr := run(paths, c.opts, false)
			plain, pd, perr := run(paths, c.opts, true)
			if (ferr == nil) != (perr == nil) {
				t.Fatalf("errors: fast %v, plain %v", ferr, perr)
			}
			if g, w := jsonOf(t, fd), jsonOf(t, pd); g != w {
				t.Fatalf("requirement errors differ:\nfast  %s\nplain %s", g, w)
			}
			g, w := jsonOf(t, fast), jsonOf(t, plain)
			if g != w {
				t.Fatalf("reports differ:\nfast  %s\nplain %s", g, w)
			}
			if fast != nil && len(fast.Configs) < 10 {
				t.Fatalf("only %d configs checked", len(fast.Configs))
			}
			if fast != nil {
				t.Logf("profiles: %v; platforms: %v", fast.Summary.Profiles, fast.Summary.PerPlatform)
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
