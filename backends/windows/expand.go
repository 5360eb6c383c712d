package windows

import (
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// WalkExpand is the default Expander: it walks each glob's base down to
// its depth cap without following symlinks and keeps the entries
// (directories too) the pattern matches, as ir.Decide matches them. A
// matched directory is not descended: its deny covers what is below.
func WalkExpand(globs []BoundGlob) ([]string, error) {
	var out []string
	for _, g := range globs {
		pat := filepath.ToSlash(g.Pattern)
		base := filepath.Clean(g.Base)
		baseDepth := strings.Count(filepath.ToSlash(base), "/")
		if filepath.ToSlash(base) == "/" {
			baseDepth = 0
		}
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == base {
					return fs.SkipDir // a missing base matches nothing
				}
				return nil
			}
			if p == base {
				return nil
			}
			depth := strings.Count(filepath.ToSlash(p), "/") - baseDepth
			if g.MaxDepth > 0 && depth > g.MaxDepth {
				return fs.SkipDir
			}
			if ok, _ := doublestar.Match(pat, filepath.ToSlash(p)); ok {
				out = append(out, p)
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() && g.MaxDepth > 0 && depth == g.MaxDepth {
				return fs.SkipDir
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
