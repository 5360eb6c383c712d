package compiler

import (
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// Specials of the filesystem table (parse_special_path). :project_roots
// is accepted as :workspace_roots: the seed documentation and Codex
// 0.169.0 both still use it.
var specials = map[string]string{
	":root":            ":root",
	":minimal":         ":minimal",
	":workspace_roots": ":workspace_roots",
	":project_roots":   ":workspace_roots",
	":tmpdir":          ":tmpdir",
	":slash_tmp":       ":slash_tmp",
}

// compileFilesystem reads a profile's filesystem table into entries
// (compile_filesystem_permission). Keys go in byte order, as Codex's
// BTreeMap does.
func (s *state) compileFilesystem(p *profile, t *syntax.Tab, what string) {
	for _, k := range sortedKeys(t) {
		v := t.Get(k)
		if k == "glob_scan_max_depth" {
			if s.expect(v, syntax.Integer, what+".glob_scan_max_depth") {
				if v.Int < 1 {
					s.diags.Addf(diag.BadScanDepth, v.Pos, "set glob_scan_max_depth to 1 or more, or remove it for an unbounded scan",
						"glob_scan_max_depth must be at least 1 (got %d)", v.Int)
				} else {
					p.scanDepth = int(min(v.Int, 1<<20))
					p.scanDepthPos = v.KeyPos
				}
			}
			continue
		}
		// The one non-path key: a typo of it is not a relative path.
		if !strings.ContainsAny(k, "/~:") && didYouMean(k, []string{"glob_scan_max_depth"}) != "" {
			s.unknownKeyIn(v, what, k, []string{"glob_scan_max_depth"}, true)
			continue
		}
		s.compileFSKey(p, k, v, what)
	}
}

func (s *state) compileFSKey(p *profile, k string, v *syntax.Value, what string) {
	origin := ir.Origin{Kind: ir.OriginConfig, Key: k, Pos: v.KeyPos, Profile: v.Origin}
	if strings.HasPrefix(v.Origin, ":") {
		origin.Kind = ir.OriginBuiltin
	}
	if strings.ContainsRune(k, 0) {
		s.diags.Addf(diag.NulInPath, v.KeyPos, "remove the \\u0000 escape from the path", "filesystem path %q contains a NUL byte", k)
		return
	}
	var base string
	special := ""
	switch {
	case strings.HasPrefix(k, ":"):
		sp, ok := specials[k]
		if !ok {
			if v.Kind == syntax.Table {
				for _, sub := range sortedKeys(v.Tab) {
					s.diags.Addf(diag.UnknownSpecial, v.Tab.Get(sub).KeyPos, "use :root, :minimal, :workspace_roots, :tmpdir or :slash_tmp, or an absolute path",
						"filesystem path `%s` with nested entry `%s` is not recognized and will be ignored", k, sub)
				}
			} else {
				s.diags.Addf(diag.UnknownSpecial, v.KeyPos, "use :root, :minimal, :workspace_roots, :tmpdir or :slash_tmp, or an absolute path (there is no :home: write ~/...)",
					"filesystem path `%s` is not recognized and will be ignored", k)
			}
			return
		}
		special = sp
		base = sp
	case k == "~" || strings.HasPrefix(k, "~/"):
		base = ir.VarHome
		rest := strings.TrimPrefix(k, "~")
		if climbsAbove(rest) {
			// ${HOME} is a variable: there is no symbolic parent of it,
			// and dropping the .. would grant a path inside the home
			// the user did not name.
			s.diags.Addf(diag.BadSubpath, v.KeyPos, "write the absolute path it means instead",
				"filesystem path `%s` climbs above the home directory with `..`", k)
			return
		}
		if !ir.HasGlobMeta(rest) {
			base += cleanSub(rest)
		} else {
			base += rest
		}
	case strings.HasPrefix(k, "/"):
		base = k
		if !ir.HasGlobMeta(k) {
			base = cleanPath(k)
		}
	default:
		fix := "write an absolute path, ~/..., or a special such as :workspace_roots"
		if ir.HasGlobMeta(k) {
			fix = fmt.Sprintf(`to match inside the project write ":workspace_roots" = { %q = "deny" }`, k)
		}
		s.diags.Addf(diag.RelativePath, v.KeyPos, fix, "filesystem path `%s` must be absolute, use `~/...`, or start with `:`", k)
		return
	}

	switch v.Kind {
	case syntax.String:
		acc, ok := s.access(v, what+"."+syntax.QuoteKey(k))
		if !ok {
			return
		}
		if special != "" {
			s.addSpecial(p, special, "", acc, origin)
			return
		}
		s.addPath(p, base, "", k, acc, origin, v)
	case syntax.Table:
		if special == ":minimal" || special == ":root" || special == ":tmpdir" || special == ":slash_tmp" {
			for _, sub := range sortedKeys(v.Tab) {
				sv := v.Tab.Get(sub)
				if sub != "." {
					s.diags.Addf(diag.NestedNotSupported, sv.KeyPos, fmt.Sprintf(`write %q = "<access>" without a nested table, or use an absolute path`, k),
						"filesystem path `%s` does not support nested entries", k)
					continue
				}
				if acc, ok := s.access(sv, what+"."+syntax.QuoteKey(k)+`."."`); ok {
					s.addSpecial(p, special, "", acc, withKey(origin, k+"/."))
				}
			}
			return
		}
		for _, sub := range sortedKeys(v.Tab) {
			sv := v.Tab.Get(sub)
			o := ir.Origin{Kind: origin.Kind, Key: strings.TrimSuffix(k, "/") + "/" + sub, Pos: sv.KeyPos, Profile: sv.Origin}
			if strings.HasPrefix(sv.Origin, ":") {
				o.Kind = ir.OriginBuiltin
			}
			if sv.Kind == syntax.Table {
				s.diags.Addf(diag.WrongType, sv.Pos, fmt.Sprintf(`flatten it: %q = { "%s/<sub>" = "<access>" }`, k, sub),
					"filesystem entry %s.%s: only one level of nesting is supported", k, syntax.QuoteKey(sub))
				continue
			}
			acc, ok := s.access(sv, what+"."+syntax.QuoteKey(k)+"."+syntax.QuoteKey(sub))
			if !ok {
				continue
			}
			if strings.ContainsRune(sub, 0) {
				s.diags.Addf(diag.NulInPath, sv.KeyPos, "remove the \\u0000 escape from the path", "filesystem subpath %q contains a NUL byte", sub)
				continue
			}
			if sub != "." && !validSubpath(sub) {
				s.diags.Addf(diag.BadSubpath, sv.KeyPos, `write a relative path below the base such as "docs/api"; use "." for the base itself`,
					"filesystem subpath `%s` must be a descendant path without `.` or `..` components", sub)
				continue
			}
			rel := ""
			if sub != "." {
				rel = strings.TrimSuffix(sub, "/")
			}
			if special != "" {
				s.addSpecialSub(p, special, rel, acc, o, sv)
				continue
			}
			if ir.HasGlobMeta(base) {
				s.diags.Addf(diag.BadGlob, v.KeyPos, "put the glob in the nested keys, not in the base path",
					"filesystem path `%s` with nested entries must not contain glob characters", k)
				return
			}
			s.addPath(p, base, rel, o.Key, acc, o, sv)
		}
	default:
		s.expect(v, syntax.String, what+"."+syntax.QuoteKey(k))
	}
}

// access reads an access value: read, write, deny (none is Codex's old deny).
func (s *state) access(v *syntax.Value, what string) (ir.Access, bool) {
	if v.Kind != syntax.String {
		s.expect(v, syntax.String, what)
		return 0, false
	}
	a, ok := ir.ParseAccess(v.Str)
	if !ok {
		s.diags.Addf(diag.BadAccess, v.Pos, `use "read", "write" or "deny"`, "unknown access value %s for %s", v.Describe(), what)
		return 0, false
	}
	return a, true
}

// addSpecial adds a special's own rule (:minimal is not a path).
func (s *state) addSpecial(p *profile, special, sub string, acc ir.Access, origin ir.Origin) {
	if special == ":minimal" {
		if acc != ir.Deny {
			o := origin
			p.minimal = &o
		}
		return
	}
	p.entries = append(p.entries, entry{base: special, sub: sub, access: acc, origin: origin})
}

// addSpecialSub adds a nested entry of :workspace_roots.
func (s *state) addSpecialSub(p *profile, special, rel string, acc ir.Access, origin ir.Origin, v *syntax.Value) {
	if !ir.HasGlobMeta(rel) {
		p.entries = append(p.entries, entry{base: special, sub: rel, access: acc, origin: origin})
		return
	}
	if e, ok := s.globEntry(special, rel, origin.Key, acc, origin, v); ok {
		p.entries = append(p.entries, e)
	}
}

// addPath adds an absolute (or ~) path rule, with its nested sub-path.
func (s *state) addPath(p *profile, base, rel, key string, acc ir.Access, origin ir.Origin, v *syntax.Value) {
	full := base
	if rel != "" {
		full = strings.TrimSuffix(base, "/") + "/" + rel
	}
	if !ir.HasGlobMeta(full) {
		p.entries = append(p.entries, entry{base: full, access: acc, origin: origin})
		return
	}
	if e, ok := s.globEntry("", full, key, acc, origin, v); ok {
		p.entries = append(p.entries, e)
	}
}

// globEntry compiles a glob: a deny rule when the access is deny, a
// subtree rule for read/write ending in /**, an error otherwise.
func (s *state) globEntry(special, pattern, key string, acc ir.Access, origin ir.Origin, v *syntax.Value) (entry, bool) {
	if acc != ir.Deny {
		prefix, ok := strings.CutSuffix(pattern, "/**")
		if pattern == "**" {
			prefix, ok = "", true
		}
		if ok && !ir.HasGlobMeta(prefix) {
			if special != "" {
				return entry{base: special, sub: prefix, access: acc, origin: origin}, true
			}
			return entry{base: cleanBase(prefix), access: acc, origin: origin}, true
		}
		s.diags.Addf(diag.GlobNotDeny, v.KeyPos,
			fmt.Sprintf("use an exact path or a trailing /** for %s subtree access, or deny the files you do not want instead", acc),
			"filesystem glob path `%s` only supports `deny` access (it has %s)", key, acc)
		return entry{}, false
	}
	if hasDotComponent(pattern) {
		// Globs match resolved paths, which have no . or .. in them: such
		// a deny would silently match nothing.
		s.diags.Addf(diag.BadSubpath, v.KeyPos, "write the pattern without . and .. components (globs match resolved paths)",
			"filesystem glob `%s` has a . or .. component", key)
		return entry{}, false
	}
	if !doublestar.ValidatePattern(pattern) || strings.Count(pattern, "[") != strings.Count(pattern, "]") {
		s.diags.Addf(diag.BadGlob, v.KeyPos, "close every [ with ], and escape literal glob characters with a backslash",
			"filesystem glob `%s` is malformed", key)
		return entry{}, false
	}
	if overBroad(special, pattern) {
		s.diags.Addf(diag.OverBroadGlob, v.KeyPos, "deny the directory with an exact rule instead, or make the glob name the files (for example **/*.env)",
			"deny glob `%s` matches everything below its base: it denies the whole directory tree and makes every scan walk it all", key)
		return entry{}, false
	}
	if special == "" && rootAnchored(pattern) {
		s.rootAnchoredGlob(v.KeyPos, key, pattern, true)
		return entry{}, false
	}
	return entry{base: special, sub: pattern, glob: true, access: ir.Deny, origin: origin}, true
}

// rootAnchored reports a deny glob whose literal directory prefix is /
// ("/**/*.key", "/*/secret"): Linux and Windows would have to walk the
// whole host, pseudo-filesystems included, at every launch. The
// reference refuses it when it builds the sandbox ("cannot be safely
// expanded; use a pattern with a non-root directory prefix").
func rootAnchored(pattern string) bool {
	return strings.HasPrefix(pattern, "/") && ir.HasGlobMeta(pattern) && ir.GlobBase(pattern) == "/"
}

// rootAnchoredGlob reports a root-anchored deny glob (POL170) at pos,
// with the forms that work: below the home (every user's, for a
// requirement), below the project for a profile, or below a named
// directory.
func (s *state) rootAnchoredGlob(pos diag.Pos, key, pattern string, inProfile bool) {
	rest := strings.TrimLeft(pattern, "/")
	fix := fmt.Sprintf("anchor it below a directory: %q (the home)", "~/"+rest)
	if inProfile {
		fix += fmt.Sprintf(`, ":workspace_roots" = { %q = "deny" } (the project)`, rest)
	} else {
		fix = fmt.Sprintf("anchor it below a directory: %q (every user's home)", "~/"+rest)
	}
	fix += fmt.Sprintf(" or %q (a directory you name)", "/srv/"+rest)
	s.diags.Addf(diag.RootAnchoredGlob, pos, fix,
		"deny glob `%s` is anchored at /: it cannot be expanded safely (Linux and Windows would walk the whole host, /proc and /sys included, at every launch), and Codex refuses it when it builds the sandbox", key)
}

// cleanBase cleans an absolute or ${HOME}-based path: a ~ rule's
// trailing /** must keep its symbolic home, not become "/${HOME}/...".
func cleanBase(p string) string {
	if rest, ok := strings.CutPrefix(p, ir.VarHome); ok {
		return ir.VarHome + cleanSub(rest)
	}
	return cleanPath(p)
}

// climbsAbove reports whether a "/a/../.." suffix climbs above the
// directory it is appended to.
func climbsAbove(rest string) bool {
	depth := 0
	for _, c := range strings.Split(rest, "/") {
		switch c {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// hasDotComponent reports a "." or ".." component in a path or pattern.
func hasDotComponent(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if c == "." || c == ".." {
			return true
		}
	}
	return false
}

// overBroad reports a glob whose components below its literal base are
// wildcards only, when that base is / , the home or a special's root
// ("/**", "/*", "~/**", ":workspace_roots/**"): it denies the whole disk,
// home or project, and makes every scan walk all of it. Below a deeper
// base ("~/.aws/**", "/srv/keys/**", like the nested "secrets/**") it is
// an ordinary deny of that directory, which Codex accepts too.
func overBroad(special, pattern string) bool {
	rest := pattern
	if special == "" {
		base := ir.GlobBase(pattern)
		if base != "/" && base != ir.VarHome {
			return false
		}
		rest = strings.TrimPrefix(strings.TrimPrefix(pattern, base), "/")
	}
	for _, c := range strings.Split(rest, "/") {
		if strings.Trim(c, "*") != "" {
			return false
		}
	}
	return true
}
