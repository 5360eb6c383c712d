package globwalk

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestStatTreesSmallAndLarge: Verify's stats (statTrees) give every
// cached directory the same outcome whether the tree is small enough to
// be stat-ed on the calling goroutine or large enough for the workers:
// "same" for an unchanged directory, "changed" for one with a new
// entry, "gone" for a removed one.
func TestStatTreesSmallAndLarge(t *testing.T) {
	for _, n := range []int{3, smallTree * 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			root := t.TempDir()
			var lines []string
			for i := range n {
				lines = append(lines, fmt.Sprintf("p/d%03d/e/", i))
			}
			mkTree(t, root, lines...)
			w, old := testCache(t, []Pattern{pat(root, "p/**/*.env", 0)})()
			if got := countUpTo(old, 1<<30); (got < smallTree) != (n < smallTree/2) {
				t.Fatalf("%d cached directories: not the case this subtest is for", got)
			}
			must(t, os.WriteFile(filepath.Join(root, "p/d001/new"), nil, 0o644))
			must(t, os.Remove(filepath.Join(root, "p/d002/e")))
			eachNode(w.c.roots, old, func(n *node, path string, isRoot bool) { n.pre = preNone })
			statTrees(w.c.roots, old)
			eachNode(w.c.roots, old, func(n *node, path string, isRoot bool) {
				rel, _ := filepath.Rel(root, path)
				want := preSame
				switch rel {
				case "p/d001":
					want = preChanged
				case "p/d002/e":
					want = preGone
				case "p/d002":
					want = preChanged
				}
				if n.pre != want {
					t.Errorf("%s: %d, want %d", rel, n.pre, want)
				}
			})
		})
	}
}
