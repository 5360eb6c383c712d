package windows

import (
	"path"
	"strings"
)

// Key is the form in which Windows compares paths: separators are
// slashes, the \\?\ (and \??\) prefix is gone, letters are folded to
// lower case, and there is no trailing separator. "/" is the universal
// root: the parent of every drive ("c:") and of every POSIX path, so that
// a :root rule covers all of them. Keys are used to look ACEs up, to
// de-duplicate paths and to sort the plan stably.
func Key(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	switch {
	case hasPrefixFold(p, "//?/unc/"):
		p = "//" + p[len("//?/unc/"):]
	case strings.HasPrefix(p, "//?/"), strings.HasPrefix(p, "/??/"):
		p = p[4:]
	}
	unc := strings.HasPrefix(p, "//")
	p = path.Clean(p)
	if unc && !strings.HasPrefix(p, "//") {
		p = "/" + p
	}
	p = strings.ToLower(p)
	if len(p) == 3 && isDrive(p[:2]) && p[2] == '/' {
		p = p[:2]
	}
	return p
}

// parentKey is the key of the parent of k, and false at the universal
// root.
func parentKey(k string) (string, bool) {
	switch {
	case k == "/" || k == "" || k == ".":
		return "", false
	case isDrive(k):
		return "/", true
	}
	d := path.Dir(k)
	if d == "//" { // a UNC server name: its parent is the universal root
		return "/", true
	}
	if len(d) == 3 && isDrive(d[:2]) && d[2] == '/' {
		d = d[:2]
	}
	return d, true
}

// underKey reports whether key k is anc or lies below it.
func underKey(k, anc string) bool {
	for c := k; ; {
		if c == anc {
			return true
		}
		p, ok := parentKey(c)
		if !ok {
			return false
		}
		c = p
	}
}

// keyDepth counts the keys from k up to the universal root, exclusive.
func keyDepth(k string) int {
	n := 0
	for c := k; ; n++ {
		p, ok := parentKey(c)
		if !ok {
			return n
		}
		c = p
	}
}

func isDrive(s string) bool {
	return len(s) == 2 && s[1] == ':' && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// IsWindowsPath reports whether a bound host path names something on a
// Windows machine: a drive path, a UNC path, or a \\?\ path. POSIX
// absolute paths such as /tmp do not.
func IsWindowsPath(p string) bool {
	k := Key(p)
	return isDrive(k) || len(k) > 2 && isDrive(k[:2]) && k[2] == '/' || strings.HasPrefix(k, "//")
}

// PlanPath is how a rule path is written into the plan: symbolic paths
// as they are; host paths in slash form without the \\?\ prefix, case
// kept for the reader (Key decides identity). A reviewer then sees one
// spelling for one path whatever the config used.
func PlanPath(p string) string {
	if strings.HasPrefix(p, "${") {
		return p
	}
	s := strings.ReplaceAll(p, `\`, "/")
	switch {
	case hasPrefixFold(s, "//?/unc/"):
		s = "//" + s[len("//?/unc/"):]
	case strings.HasPrefix(s, "//?/"), strings.HasPrefix(s, "/??/"):
		s = s[4:]
	}
	if len(s) > 3 && strings.HasSuffix(s, "/") {
		s = strings.TrimRight(s, "/")
	}
	return s
}
