package globwalk

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// smallWatch lets the test's small trees have a watcher.
func smallWatch(t *testing.T) {
	old := minWatchDirs
	minWatchDirs = 1
	t.Cleanup(func() { minWatchDirs = old })
}

// watchWorld is cacheWorld with its cache filled and small trees
// watched: the options of a launch that asks the watcher, and the
// cache file.
func watchWorld(t *testing.T) (root string, pats []Pattern, opts Options, file string) {
	smallWatch(t)
	root, cache, pats := cacheWorld(t)
	opts = Options{Snapshot: true, CacheDir: cache, CacheKey: testKey, DeferRevalidation: true, Watch: true}
	first := opts
	first.DeferRevalidation = false
	return root, pats, opts, expandT(t, pats, first).snap.file
}

// startWatcher runs ServeWatch for the cache file in the cache
// directory dir and waits until its socket is there.
func startWatcher(t *testing.T, dir, file string) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- ServeWatch(dir, file, testKey) }()
	sock := watchSocket(file)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("ServeWatch: %v", err)
		default:
		}
		if _, err := os.Lstat(sock); err == nil {
			return done
		}
	}
	t.Fatalf("no watcher socket at %s", sock)
	return nil
}

// TestWatchFeed: with a watcher serving the cache file, a deferred
// walk's Verify stats only the roots on an untouched tree, and still
// sees every change that matters, made before the watcher started (its
// stat pass) or after (its events): the attack is a secret created or
// moved into a directory the cache holds, which Verify would pass if
// the watcher vouched for a directory it should not.
func TestWatchFeed(t *testing.T) {
	cases := append(slices.Clone(treeChanges), []treeChange{
		{"new deep match", func(t *testing.T, root string) { mkTree(t, root, "p/a/b/c/d/new.env") }, true},
		{"match moved in", func(t *testing.T, root string) {
			mkTree(t, root, "elsewhere/s.env")
			must(t, os.Rename(filepath.Join(root, "elsewhere/s.env"), filepath.Join(root, "p/x/y/z/s.env")))
		}, true},
		{"file attributes", func(t *testing.T, root string) {
			must(t, os.Chmod(filepath.Join(root, "p/a/b/keep.txt"), 0o600))
			now := time.Now()
			must(t, os.Chtimes(filepath.Join(root, "p/a/b/c/d/e.env"), now, now))
		}, false},
		{"directory made unreadable", func(t *testing.T, root string) {
			must(t, os.Chmod(filepath.Join(root, "p/a/b/c"), 0o311))
			t.Cleanup(func() { os.Chmod(filepath.Join(root, "p/a/b/c"), 0o755) })
		}, os.Geteuid() != 0},
	}...)
	for _, tc := range cases {
		for _, when := range []string{"before", "after"} {
			t.Run(tc.name+"/"+when+" the watcher started", func(t *testing.T) {
				root, pats, opts, file := watchWorld(t)
				if when == "before" {
					tc.change(t, root)
				}
				startWatcher(t, opts.CacheDir, file)
				if when == "after" {
					tc.change(t, root)
				}
				expanded.Clear() // a new process
				res := expandT(t, pats, opts)
				err := res.Verify(nil)
				w := res.Stats.Watch
				if !w.Served {
					t.Fatalf("the watcher did not serve: %s", w.Note)
				}
				var ce *ChangeError
				if err != nil && !errors.As(err, &ce) {
					t.Fatalf("Verify: %v", err)
				}
				if (err != nil) != tc.changed {
					t.Fatalf("Verify: %v, want a change: %v (watcher: %+v)", err, tc.changed, w)
				}
				if (tc.name == "untouched" || tc.name == "file attributes") && (w.Dirty != 0 || w.Checked > 1) {
					t.Fatalf("%s: %+v; want no dirty directory and only the root checked", tc.name, w)
				}
				if err == nil {
					checkAgainstOracle(t, pats, false, res)
				}
			})
		}
	}
}

// TestWatchStale: a watcher answers only for the version of the cache
// it watches; a launch on a rewritten cache stats everything, and may
// start a watcher for the new one.
func TestWatchStale(t *testing.T) {
	root, pats, opts, file := watchWorld(t)
	if err := ServeWatch(t.TempDir(), file, testKey); err == nil || !strings.Contains(err.Error(), "not in the glob cache") {
		t.Fatalf("a watcher served a file of another directory: %v", err)
	}
	startWatcher(t, opts.CacheDir, file)
	mkTree(t, root, "p/a/other.env")
	time.Sleep(60 * time.Millisecond)
	expanded.Clear()
	first := opts
	first.DeferRevalidation = false
	expandT(t, pats, first) // rewrites the cache
	expanded.Clear()
	res := expandT(t, pats, opts)
	if err := res.Verify(nil); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if w := res.Stats.Watch; w.Served || w.Note == "" {
		t.Fatalf("a watcher of the old cache served: %+v", w)
	}
}

// TestWatchDue: a launch starts a watcher only for a tree of
// minWatchDirs directories or more, and not twice within watchRestart.
func TestWatchDue(t *testing.T) {
	root := t.TempDir()
	cache := filepath.Join(t.TempDir(), "cache")
	var dirs []string
	for i := range minWatchDirs / 64 {
		for j := range 64 {
			dirs = append(dirs, filepath.Join("p", string(rune('a'+i%26))+string(rune('a'+i/26)), string(rune('a'+j%26))+string(rune('a'+j/26)))+"/")
		}
	}
	mkTree(t, root, "small/x/")
	pats := []Pattern{pat(root, "small/**/*.env", 0)}
	opts := Options{Snapshot: true, CacheDir: cache, CacheKey: testKey, Watch: true}
	if _, ok := expandT(t, pats, opts).WatchDue(); ok {
		t.Fatalf("a watcher is due for a tree of 2 directories")
	}
	mkTree(t, root, dirs...)
	pats = []Pattern{pat(root, "p/**/*.env", 0)}
	res := expandT(t, pats, opts)
	file, ok := res.WatchDue()
	if !ok || file != res.snap.file {
		t.Fatalf("no watcher due for %d directories", len(dirs))
	}
	if !ClaimWatch(file) {
		t.Fatalf("the first claim failed")
	}
	if ClaimWatch(file) {
		t.Fatalf("a second watcher could start at once")
	}
	// A watcher that failed for a lasting reason holds the next off
	// for watchRetry, whatever the start record says.
	sock := watchSocket(file)
	old := time.Now().Add(-2 * watchRestart)
	must(t, os.Chtimes(sock+".started", old, old))
	must(t, os.WriteFile(sock+".failed", []byte("the inotify watch limit\n"), 0o600))
	if ClaimWatch(file) {
		t.Fatalf("a watcher could start right after one failed")
	}
	must(t, os.Remove(sock+".failed"))
	if !ClaimWatch(file) {
		t.Fatalf("no watcher could start a while after the last")
	}
}

// TestWatchForgedAnswer: a sandbox that may write polc's cache
// directory puts its own socket where the watcher's is and answers
// "nothing changed" to every question, signed with a key of its own:
// Verify must not take the answer, and must see the secret it planted.
func TestWatchForgedAnswer(t *testing.T) {
	root, pats, opts, file := watchWorld(t)
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(lfd)
	addr, dirfd, err := sockAddr(watchSocket(file))
	must(t, err)
	must(t, unix.Bind(lfd, addr))
	if dirfd >= 0 {
		unix.Close(dirfd)
	}
	must(t, unix.Listen(lfd, 4))
	forged := []byte("another key, not the user's: 32b")
	go func() {
		for {
			c, _, err := unix.Accept(lfd)
			if err != nil {
				return
			}
			q := make([]byte, 128)
			n, _ := unix.Read(c, q)
			if n > 1 {
				unix.Write(c, append([]byte{'D'}, answerMAC(forged, q[1:n], nil)...))
			}
			unix.Close(c)
		}
	}()
	mkTree(t, root, "p/a/b/c/d/planted.env")
	expanded.Clear()
	res := expandT(t, pats, opts)
	err = res.Verify(nil)
	if w := res.Stats.Watch; w.Served || !strings.Contains(w.Note, "not signed") {
		t.Fatalf("a forged answer was taken: %+v", w)
	}
	var ce *ChangeError
	if !errors.As(err, &ce) {
		t.Fatalf("Verify: %v; want the planted secret seen", err)
	}
}
