//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"polc/internal/conformance"
)

// TestSecretCreatedSinceGlobCache: a warm launch plans from the glob
// cache without stat-ing its directories first and leaves that to the
// check after the mounts (globwalk.Options.DeferRevalidation). A secret
// created since the cache was written, in a directory the cache holds
// and in a new directory, must still be masked: the check sees the
// change and the launch plans again; the launch after that plans from
// the rewritten cache.
func TestSecretCreatedSinceGlobCache(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			w := stateWorld(t, u)
			conformance.MkTree(t, w.Proj, "a/b/c/keep.txt")
			u.Own(t, w.Root)
			masked := func(when, path string) {
				t.Helper()
				r := execIn(t, u, w, "strict", "", "/bin/sh", "-c", "cat "+path+" 2>/dev/null || echo masked")
				if r.code != 0 || r.stdout != "masked\n" {
					t.Fatalf("%s: cat %s: exit %d, stdout %q, stderr %q", when, path, r.code, r.stdout, r.stderr)
				}
			}
			masked("first launch", "sub/.env")
			masked("warm launch", "sub/.env")
			// Past the cache's racy window, so that the cached directories
			// are trusted.
			time.Sleep(100 * time.Millisecond)
			for _, p := range []string{"a/b/c/new.env", "a/fresh/dir/new.env"} {
				full := filepath.Join(w.Proj, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte("SECRET=2\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			u.Own(t, w.Root)
			for _, when := range []string{"launch after the secrets appeared", "the launch after"} {
				masked(when, "a/b/c/new.env")
				masked(when, "a/fresh/dir/new.env")
				masked(when, "sub/.env")
			}
		})
	}
}
