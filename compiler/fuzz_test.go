package compiler_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"polc/compiler"
	"polc/ir"
)

// FuzzFilesystemKey compiles a profile with one fuzzed filesystem entry
// (the path/glob key compiler): it must never panic, must report errors
// with a position, and a policy it accepts must only hold absolute or
// symbolic paths and valid deny globs.
func FuzzFilesystemKey(f *testing.F) {
	for _, s := range [][3]string{
		{":workspace_roots", "**/*.env", "deny"},
		{":workspace_roots", "docs/**", "read"},
		{"~/.ssh", "", "deny"},
		{"/etc/[ab]*", "", "none"},
		{":root", ".", "write"},
		{":tmpdir", "x", "read"},
		{"/**", "", "deny"},
		{"rel/path", "", "read"},
		{":minimal", "", "read"},
		{"/a", "../b", "write"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	opts := seedWorld(f)
	// The key compiler is under test, not the walk: a fuzzed glob based
	// at / would scan the whole disk on every input.
	opts.NoExpand = true
	cfg := filepath.Join(opts.CodexHome, "config.toml")
	f.Fuzz(func(t *testing.T, key, sub, access string) {
		var b strings.Builder
		b.WriteString("default_permissions = \"p\"\n[permissions.p.filesystem]\n\":minimal\" = \"read\"\n")
		if sub == "" {
			b.WriteString(strconv.Quote(key) + " = " + strconv.Quote(access) + "\n")
		} else {
			b.WriteString(strconv.Quote(key) + " = { " + strconv.Quote(sub) + " = " + strconv.Quote(access) + " }\n")
		}
		if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		res := compiler.Compile(opts)
		for _, d := range res.Diags {
			if d.Code == "" || d.Message == "" {
				t.Fatalf("diagnostic without code or message: %+v", d)
			}
		}
		if res.Policy == nil {
			if !res.Diags.HasErrors() {
				t.Fatal("no policy and no error")
			}
			return
		}
		for _, r := range res.Policy.Rules {
			if !strings.HasPrefix(r.Path, "/") && !strings.HasPrefix(r.Path, "${") {
				t.Fatalf("relative rule path %q from key %q sub %q", r.Path, key, sub)
			}
			if strings.ContainsRune(r.Path, 0) {
				t.Fatalf("NUL in rule path %q", r.Path)
			}
		}
		if _, err := ir.NewDecider(res.Policy, res.Env); err != nil {
			t.Fatalf("accepted policy cannot be evaluated: %v (key %q sub %q)", err, key, sub)
		}
	})
}

// FuzzDomainRule compiles a profile with one fuzzed domain rule under
// managed requirements with one fuzzed allowed_domains entry and a fuzzed
// proxy_url: it must never panic, must report every error with a code and
// a position, and a policy it accepts must be a valid proxy network whose
// decisions never panic.
func FuzzDomainRule(f *testing.F) {
	for _, s := range [][4]string{
		{"example.com", "allow", "*.example.com", "http://127.0.0.1:3128"},
		{"*", "deny", "*", "localhost"},
		{"**.a.b", "deny", "ex[a]mple.org", "[::1]:99999"},
		{"a..b", "maybe", "https://x/", ""},
		{"Example.COM.", "allow", "region*.v2.example.net", "127.0.0.1:0"},
		{"[::1]", "allow", "10.0.0.1", "http://user@proxy:8080/x"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	opts := seedWorld(f)
	opts.NoExpand = true
	cfg := filepath.Join(opts.CodexHome, "config.toml")
	req := filepath.Join(filepath.Dir(opts.CodexHome), "requirements.toml")
	opts.RequirementFiles = []string{req}
	f.Fuzz(func(t *testing.T, pattern, action, managed, proxyURL string) {
		c := "default_permissions = \"p\"\n[permissions.p]\nextends = \":workspace\"\n[permissions.p.network]\nenabled = true\n" +
			"proxy_url = " + strconv.Quote(proxyURL) + "\ndomains = { " + strconv.Quote(pattern) + " = " + strconv.Quote(action) + " }\n"
		r := "[experimental_network]\nenabled = true\nallowed_domains = [" + strconv.Quote(managed) + "]\n"
		if err := os.WriteFile(cfg, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(req, []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
		res := compiler.Compile(opts)
		for _, d := range res.Diags {
			if d.Code == "" || d.Message == "" {
				t.Fatalf("diagnostic without code or message: %+v", d)
			}
			if d.Severity >= 2 && d.Pos.IsZero() {
				t.Fatalf("error without a position: %s", d)
			}
		}
		if res.Policy == nil {
			if !res.Diags.HasErrors() {
				t.Fatal("no policy and no error")
			}
			return
		}
		n := res.Policy.Network
		if n.Mode != ir.NetworkProxy || n.Proxy == nil {
			t.Fatalf("managed proxy not on: %+v", n)
		}
		if err := n.Validate(); err != nil {
			t.Fatalf("accepted network is invalid: %v", err)
		}
		d, err := ir.NewNetDecider(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{pattern, managed, "example.com", "127.0.0.1"} {
			d.DecideNet(h, 443, "GET")
		}
	})
}
