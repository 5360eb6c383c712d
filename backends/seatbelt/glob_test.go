package seatbelt

import (
	"math/rand"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
)

// globMatches is ir.Decide's glob rule: the path or an ancestor strictly
// below base matches the pattern.
func globMatches(base, rel, p string) bool {
	pat := strings.TrimSuffix(base, "/") + "/" + rel
	for cand := p; strings.HasPrefix(cand, strings.TrimSuffix(base, "/")+"/"); cand = path.Dir(cand) {
		if ok, _ := doublestar.Match(pat, cand); ok {
			return true
		}
	}
	return false
}

func regexFor(t testing.TB, base, rel string) *regexp.Regexp {
	t.Helper()
	body, never, err := globRegex(rel)
	if err != nil {
		t.Fatalf("globRegex(%q): %v", rel, err)
	}
	if never {
		return regexp.MustCompile(`^\x00never$`)
	}
	src := "^" + QuoteRegex(strings.TrimSuffix(base, "/")+"/") + body
	re, err := regexp.Compile("(?s)" + src)
	if err != nil {
		t.Fatalf("regex %q for %q does not compile: %v", src, rel, err)
	}
	return re
}

func TestGlobRegexVectors(t *testing.T) {
	for rel, want := range map[string]string{
		"**/*.env":           `(.*/)?[^/]*\.env(/.*)?$`,
		"*/file[0-9]?.txt":   `[^/]*/file[0-9][^/]\.txt(/.*)?$`,
		"*.pem":              `[^/]*\.pem(/.*)?$`,
		"my-app/.git":        `my\-app/\.git(/.*)?$`,
		"[!a]x":              `[^a]x(/.*)?$`,
		"{a,b}/*.pem":        `(a/[^/]*\.pem|b/[^/]*\.pem)(/.*)?$`,
		`\*lit`:              `\*lit(/.*)?$`,
		"a/**":               `a(/.*)?(/.*)?$`,
		"**/id_*":            `(.*/)?id_[^/]*(/.*)?$`,
		"**/*.[pk]ey":        `(.*/)?[^/]*\.[pk]ey(/.*)?$`,
		"x[z-a]y":            ``,
		"dir with space/#~&": `dir with space/\#\~\&(/.*)?$`,
	} {
		got, never, err := globRegex(rel)
		if err != nil {
			t.Errorf("%q: %v", rel, err)
			continue
		}
		if never {
			got = ""
		}
		if got != want {
			t.Errorf("globRegex(%q) = %q, want %q", rel, got, want)
		}
	}
}

func TestGlobRegexRejects(t *testing.T) {
	for _, rel := range []string{"a[", "a[]", "{a,b", "a}", `a\`, "[é]", "a\nb", "a**b", "**x/y"} {
		if _, _, err := globRegex(rel); err == nil {
			t.Errorf("globRegex(%q) accepted a pattern doublestar or Seatbelt rejects", rel)
		}
	}
}

// TestGlobRegexAgreesWithDoublestar is the property: for random patterns
// and random paths, the regex matches exactly when ir.Decide's glob rule
// (doublestar on the path or an ancestor) does.
func TestGlobRegexAgreesWithDoublestar(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	atoms := []string{"a", "b", ".env", "x.", "*", "**", "?", "[ab]", "[!a]", "[a-c]", "{a,b}", "{x,**}", `\*`, "-", "/", "/", "/**/", "*.env"}
	names := []string{"a", "b", "c", ".env", "a.env", "x.env", "ab", "ba", "*", "-", "x.", "aa", "bb"}
	base := "/w/my-root"
	checked := 0
	for n := 0; n < 3000; n++ {
		var pb strings.Builder
		for k := 1 + rng.Intn(4); k > 0; k-- {
			pb.WriteString(atoms[rng.Intn(len(atoms))])
		}
		rel := strings.TrimPrefix(pb.String(), "/")
		if rel == "" || !doublestar.ValidatePattern(base+"/"+rel) || strings.Contains(rel, "//") {
			continue
		}
		if _, _, err := globRegex(rel); err != nil {
			continue // refused at lowering (a ** inside a name)
		}
		re := regexFor(t, base, rel)
		quirky := classMayMatchSlash(rel)
		for m := 0; m < 30; m++ {
			p := base
			for k := 1 + rng.Intn(4); k > 0; k-- {
				p += "/" + names[rng.Intn(len(names))]
			}
			want := globMatches(base, rel, p)
			got := re.MatchString(p)
			if quirky && got && !want {
				// doublestar's one-level backtracking gives up on some
				// matches where a class matches "/": macOS denies more.
				continue
			}
			if got != want {
				t.Fatalf("pattern %q path %q: regex %v, doublestar %v (regex %s)", rel, p, got, want, re)
			}
			checked++
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d checks ran", checked)
	}
}

// FuzzGlobRegex checks the translation on arbitrary patterns and paths:
// whatever GlobRegex accepts must match exactly what ir.Decide's glob
// rule matches (a regex may only match more where a class can match "/",
// the one place doublestar's backtracking gives up early).
func FuzzGlobRegex(f *testing.F) {
	f.Add("**/*.env", "a/b/.env")
	f.Add("{a,b}/*.pem", "b/x.pem")
	f.Add("[!a]x/**", "bx/c")
	f.Add(`\*lit`, "*lit")
	f.Fuzz(func(t *testing.T, rel, name string) {
		const base = "/w"
		if strings.HasPrefix(rel, "/") || strings.Contains(rel, "//") || !doublestar.ValidatePattern(base+"/"+rel) {
			return
		}
		if _, _, err := globRegex(rel); err != nil {
			return
		}
		p := path.Clean(base + "/" + name)
		if !strings.HasPrefix(p, base+"/") || strings.ContainsAny(name, "\x00\n") {
			return
		}
		re := regexFor(t, base, rel)
		got, want := re.MatchString(p), globMatches(base, rel, p)
		if got == want || got && classMayMatchSlash(rel) {
			return
		}
		t.Fatalf("pattern %q path %q: regex %v, doublestar %v (%s)", rel, p, got, want, re)
	})
}

// classMayMatchSlash reports whether some character class of the pattern
// can match "/" (negated, or naming / or a range over it): where
// doublestar's backtracking is incomplete.
func classMayMatchSlash(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			j := i + 1
			if j < len(p) && (p[j] == '!' || p[j] == '^') {
				return true
			}
			for ; j < len(p) && p[j] != ']'; j++ {
				if p[j] == '\\' {
					j++
					continue
				}
				if j < len(p) && (p[j] == '/' || p[j] == '-' && j+1 < len(p) && p[j-1] <= '/' && p[j+1] >= '/') {
					return true
				}
			}
			i = j
		}
	}
	return false
}

// globRegex translates the part of a deny glob below its base directory
// (rel, without the leading slash) into an SBPL regex body. The body is
// meant to follow "^" + quote(base + "/"); it ends with "(/.*)?$", so a
// pattern that matches a directory covers everything below it. never is
// true when no path can match (an empty character class in every branch).
func globRegex(rel string) (body string, never bool, err error) {
	branches, err := GlobRegexBranches(rel)
	if err != nil {
		return "", false, err
	}
	switch len(branches) {
	case 0:
		return "", true, nil
	case 1:
		return branches[0] + "(/.*)?$", false, nil
	}
	return "(" + strings.Join(branches, "|") + ")(/.*)?$", false, nil
}
