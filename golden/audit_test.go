package golden_test

import (
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"polc/backends"
	"polc/compiler"
	"polc/diag"
	"polc/internal/conformance"
	"polc/ir"
	"polc/lowering"
)

// unlocated are the codes whose warnings and errors may carry no line:
// each is about something no config line says. Every other warning or
// error the compiler or a backend reports must point at the line that
// causes it.
var unlocated = map[diag.Code]string{
	diag.CodexHomeMissing:      "about the CODEX_HOME variable, named by its value: no file holds it",
	diag.FileUnreadable:        "the file itself cannot be read: it has no lines",
	diag.UntrustedProject:      "about a whole project config file, which is not loaded",
	diag.ExecSkipsProjectLayer: "about a whole project config file, which polc exec does not load",
}

// flagFiles are the pseudo-files of command-line input: a diagnostic
// about -P or -c names the flag (and, for -c, the column in its value).
var flagFiles = map[string]bool{"-P": true, "-c": true, "--requirements": true}

// weakening matches a fix that asks to remove or narrow a deny or a
// protection (issue: POL031 used to say "remove one of the two rules" of
// a user's deny and an admin's). A fix may remove the rule that has no
// effect, never the deny that decides.
var weakening = regexp.MustCompile(`(?i)\b(remove|drop|delete|narrow|weaken|lift)\s+(one of\b|either\b|both\b|(the|this|that|a|any|its)\s+(\S+\s+)?(deny|denies|protection|protected|requirement|deny_read|mandatory))`)

// TestDiagnosticsLocatedAndFixesKeepProtections walks every diagnostic
// the golden corpus makes the compiler and each backend emit: each
// warning and error carries file:line:col unless its code is listed in
// unlocated (with the reason), every code is registered, and no fix
// suggests removing or narrowing a deny or a protection.
func TestDiagnosticsLocatedAndFixesKeepProtections(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	registered := map[diag.Code]bool{}
	for _, info := range diag.Codes() {
		registered[info.Code] = true
	}
	seen := map[diag.Code]int{}
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		in := map[string]string{}
		for _, f := range ar.Files {
			if inputSections[f.Name] {
				in[f.Name] = string(f.Data)
			}
		}
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		_, _, opts := conformance.GoldenWorld(t, in)
		res := compiler.Compile(opts)
		all := append(diag.List(nil), res.Diags...)
		if res.Policy != nil {
			for _, r := range lowering.LowerAll(res.Policy, ir.Platforms, backends.Options{}) {
				for _, d := range r.Diags {
					d.Platform = string(r.Platform)
					all = append(all, d)
				}
			}
		}
		for _, d := range all {
			seen[d.Code]++
			if !registered[d.Code] {
				t.Errorf("%s: %s is not a registered code: %s", name, d.Code, d.Line())
			}
			if m := weakening.FindString(d.Fix); m != "" {
				t.Errorf("%s: the fix of %s weakens the config (%q): %s", name, d.Code, m, d.Line())
			}
			if d.Severity < diag.Warning || located(d.Pos) {
				continue
			}
			if _, ok := unlocated[d.Code]; !ok {
				t.Errorf("%s: %s %s has no line: %s", name, d.Severity, d.Code, d.Line())
			}
		}
	}
	var codes []string
	for c := range seen {
		codes = append(codes, string(c))
	}
	sort.Strings(codes)
	var unseen []string
	for c := range registered {
		if seen[c] == 0 && c.Severity() >= diag.Warning {
			unseen = append(unseen, string(c))
		}
	}
	sort.Strings(unseen)
	t.Logf("warning and error codes the corpus does not emit (their sites are checked by hand and by the packages' tests): %v", unseen)
	if len(codes) < 60 {
		t.Errorf("the corpus emits only %d codes: %v", len(codes), codes)
	}
	for c, why := range unlocated {
		if !registered[c] || why == "" {
			t.Errorf("unlocated code %s: not registered, or no reason given", c)
		}
	}
}

// located reports whether a position names a line of a file, or a
// command-line flag.
func located(p diag.Pos) bool {
	return p.Line > 0 || flagFiles[p.File]
}

// TestWeakeningPattern: the check above catches the fixes it is for and
// lets through those that remove only what has no effect.
func TestWeakeningPattern(t *testing.T) {
	for _, bad := range []string{
		"remove one of the two rules",
		"remove the rule, or narrow the deny glob",
		"remove the deny glob, or run under bubblewrap",
		"drop the requirement deny",
		"remove the protection",
	} {
		if !weakening.MatchString(bad) {
			t.Errorf("%q is not caught", bad)
		}
	}
	for _, ok := range []string{
		"remove this read rule: the deny glob **/*.env keeps /p/.env denied",
		"remove this grant, which has no effect: the requirement keeps ~/.ssh denied whatever the profile says",
		"none needed: keep both (the requirement's entry also protects every other profile)",
		"remove the rule, or ask the administrator to allow the host",
	} {
		if m := weakening.FindString(ok); m != "" {
			t.Errorf("%q is flagged (%q)", ok, m)
		}
	}
}
