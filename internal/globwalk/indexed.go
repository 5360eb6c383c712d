package globwalk

import (
	"errors"
	"fmt"
)

// A deferred launch plans on the cache's index alone (expandIndexed):
// the masks need the matches, not the tree, so the launch sets its
// sandbox up while another goroutine checks the tree's MAC and decodes
// it. Verify, which stats the tree once the mounts are made, waits for
// it first (snapshot.pending), and fails when it could not be decoded:
// a launch never goes ahead on matches whose tree was not verified.

// expandIndexed is a deferred warm expansion from the index: the roots
// are revalidated as walkTrees does (stat-ed, and listed again when
// their stamps moved), every directory below them is taken as
// unchanged, as the deferred walk takes it, and the matches below the
// roots are the index's. It returns nil, having changed nothing in w,
// when that is not the walk's outcome (a root's listing changed for
// the globs, or failed): the caller then walks the decoded tree.
func (w *walker) expandIndexed(r *cacheReader, idx *cacheIndex, mac []byte) []*node {
	c := w.c
	skel := make([]*node, len(idx.roots))
	for i := range idx.roots {
		skel[i] = idx.roots[i].node
	}
	h := w.helper()
	trees := h.walkTrees(skel)
	if h.changed || h.drift > maxDrift || len(h.res.Errors) > 0 {
		return nil
	}
	for i := range trees {
		if (trees[i] == nil) != (skel[i] == nil) {
			return nil
		}
	}
	w.merge(h)
	res := w.res
	for i, r := range idx.roots {
		if trees[i] == nil {
			continue
		}
		res.Stats.DirsReused += r.below
		for _, m := range r.deep {
			res.addCached(m, joinPath(c.roots[i], m.name))
		}
	}
	res.Stats.Cache = CacheHit
	if res.Stats.DirsRead > 0 {
		res.Stats.Cache = CacheStale
	}
	done := make(chan struct{})
	var terr error
	go func() {
		defer close(done)
		full, err := r.tree(idx, mac, c.roots, nil)
		if err == nil {
			err = graft(trees, full)
		}
		terr = err
	}()
	w.treeReady = func() error {
		<-done
		return terr
	}
	return trees
}

// graft puts the decoded tree under the roots the index's walk kept:
// each stub child is replaced by the decoded node of that name.
func graft(trees, full []*node) error {
	for i, t := range trees {
		if t == nil || len(t.children) == 0 {
			continue
		}
		f := full[i]
		if f == nil {
			return errors.New("a root the index lists is not in the tree")
		}
		byName := make(map[string]*node, len(f.children))
		for _, c := range f.children {
			byName[c.name] = c
		}
		for j, c := range t.children {
			if c == nil {
				continue
			}
			fc := byName[c.name]
			if fc == nil {
				return fmt.Errorf("%s: in the index, not in the tree", c.name)
			}
			t.children[j] = fc
		}
	}
	return nil
}
