package windows

import (
	"fmt"
	"strings"

	"polc/internal/globwalk"
)

// GlobExpand is the default Expander: globwalk's one-walk expansion,
// bounded by each glob's depth cap except in the uncapped regions, the
// same code the runtime runs at launch. A directory the walk cannot read
// could hide a match, so it is an error (fail closed), not a silent gap.
func GlobExpand(globs []BoundGlob, regions []globwalk.Region) ([]GlobHit, error) {
	pats := make([]globwalk.Pattern, len(globs))
	for i, g := range globs {
		pats[i] = globwalk.Pattern{Pattern: g.Pattern, Base: g.Base, MaxDepth: g.MaxDepth}
	}
	res, err := globwalk.Expand(pats, globwalk.Options{Regions: regions})
	if err != nil {
		return nil, err
	}
	if len(res.Errors) > 0 {
		var msgs []string
		for _, e := range res.Errors {
			msgs = append(msgs, e.Error())
		}
		return nil, fmt.Errorf("deny glob expansion could not read: %s", strings.Join(msgs, "; "))
	}
	out := make([]GlobHit, 0, len(res.Matches))
	for _, m := range res.Matches {
		out = append(out, GlobHit{Path: m.Path, Glob: m.Pattern, Symlink: m.IsSymlink})
	}
	return out, nil
}
