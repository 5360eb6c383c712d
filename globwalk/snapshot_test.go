package globwalk

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestVerifySeesChangesThatMatter: after a walk with Snapshot, Verify
// passes on an untouched tree and on changes no pattern cares about, and
// fails when a directory that matters is renamed away, when a match
// appears in a directory already listed, and when a match is moved in
// from elsewhere; ignored paths do not count. Cold and warm walks alike.
func TestVerifySeesChangesThatMatter(t *testing.T) {
	for _, warm := range []bool{false, true} {
		name := "cold"
		if warm {
			name = "warm"
		}
		t.Run(name, func(t *testing.T) {
			root, cache, pats := cacheWorld(t)
			mkTree(t, root, "elsewhere/s.env")
			opts := Options{Snapshot: true}
			if warm {
				opts.CacheDir, opts.CacheKey = cache, testKey
				expandT(t, pats, opts) // fill the cache
			}
			walk := func() *Result {
				res := expandT(t, pats, opts)
				if warm && res.Stats.DirsReused == 0 {
					t.Fatalf("warm walk reused nothing: %+v", res.Stats)
				}
				return res
			}
			changed := func(res *Result, ignore func(string) bool) bool {
				t.Helper()
				err := res.Verify(ignore)
				var ce *ChangeError
				if err != nil && !errors.As(err, &ce) {
					t.Fatalf("Verify: %v", err)
				}
				return err != nil
			}
			res := walk()
			if changed(res, nil) {
				t.Fatalf("untouched tree: %v", res.Verify(nil))
			}
			must(t, os.WriteFile(filepath.Join(root, "p/a/b/notes.txt"), nil, 0o644))
			if changed(res, nil) {
				t.Errorf("a file no pattern matches counted: %v", res.Verify(nil))
			}
			must(t, os.WriteFile(filepath.Join(root, "p/a/new.env"), nil, 0o644))
			if !changed(res, nil) {
				t.Errorf("a match that appeared in a listed directory was not seen")
			}
			if changed(res, func(p string) bool { return p == filepath.Join(root, "p/a/new.env") }) {
				t.Errorf("an ignored path counted")
			}
			must(t, os.Remove(filepath.Join(root, "p/a/new.env")))

			res = walk()
			must(t, os.Rename(filepath.Join(root, "p/a"), filepath.Join(root, "p/renamed")))
			if !changed(res, nil) {
				t.Errorf("a directory renamed away was not seen")
			}
			must(t, os.Rename(filepath.Join(root, "p/renamed"), filepath.Join(root, "p/a")))

			res = walk()
			must(t, os.Rename(filepath.Join(root, "elsewhere/s.env"), filepath.Join(root, "p/x/y/s.env")))
			if !changed(res, nil) {
				t.Errorf("a match moved in from outside the walk was not seen")
			}
		})
	}
}

func TestVerifyNeedsSnapshot(t *testing.T) {
	root, _, pats := cacheWorld(t)
	_ = root
	if err := expandT(t, pats, Options{}).Verify(nil); err == nil {
		t.Fatal("Verify without Snapshot passed")
	}
}
