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
