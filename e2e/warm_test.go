//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// TestSecretPlantedWhileWatched: on a tree large enough for the glob
// cache's watcher, a warm launch stats only the directories the watcher
// names as changed. A command plants secrets for the next launch: in a
// new directory deep in the tree, in a directory the cache holds, and
// by renaming a harmless file into a .env; the next launch, served by
// the watcher, must mask all three.
func TestSecretPlantedWhileWatched(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			w := stateWorld(t, u)
			var dirs []string
			for i := range 72 {
				for j := range 64 {
					dirs = append(dirs, fmt.Sprintf("t%02d/u%02d/", i, j))
				}
			}
			conformance.MkTree(t, w.Proj, dirs...)
			u.Own(t, w.Root)
			// Past the cache's racy window: directories too fresh to
			// trust are listed again, and the cache rewritten, until they
			// settle.
			time.Sleep(100 * time.Millisecond)
			t.Setenv("XDG_CACHE_HOME", "")
			t.Setenv("XDG_STATE_HOME", "")
			launch := func(script string) (stdout, debug string) {
				t.Helper()
				cmd := polcCmd(u, "", w, "exec", "-P", "strict", "-C", w.Proj, "--", "/bin/sh", "-c", script)
				cmd.Env = append(cmd.Env, "POLC_DEBUG_BWRAP=1")
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				if err := cmd.Run(); err != nil {
					t.Fatalf("%s: %v\n%s", script, err, errb.String())
				}
				return out.String(), errb.String()
			}
			// The first launches write the cache, leave a primer (a new
			// build's), start the watcher.
			served, debug := "", ""
			for i := 0; i < 10 && served == ""; i++ {
				_, debug = launch("true")
				if strings.Contains(debug, "polc: change feed: ") {
					served = debug
				} else {
					time.Sleep(200 * time.Millisecond)
				}
			}
			if served == "" {
				t.Fatalf("no launch was served by a watcher; the last one said:\n%s", debug)
			}
			launch(`mkdir -p t10/u10/new && echo S > t10/u10/new/a.env && echo S > t20/u20/b.env && echo S > t30/u30/c.txt && mv t30/u30/c.txt t30/u30/c.env`)
			var out string
			out, debug = launch(`for f in t10/u10/new/a.env t20/u20/b.env t30/u30/c.env sub/.env; do cat $f 2>/dev/null || echo masked; done`)
			if want := strings.Repeat("masked\n", 4); out != want {
				t.Fatalf("after the plant: stdout %q, want %q\n%s", out, want, debug)
			}
			if !strings.Contains(debug, "polc: change feed: ") {
				t.Fatalf("the launch after the plant was not served by the watcher:\n%s", debug)
			}
		})
	}
}
