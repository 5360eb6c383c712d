package globwalk

import (
	"encoding/hex"
	"os"
	"strings"
	"time"
)

// The change feed. A warm launch's Verify stats every directory of the
// cached tree: on a large project that is most of the launch (a
// million files, a hundred thousand directories: about 160 ms on two
// cores, at the floor of one statx each). A watcher, a polc process
// started once per cache file and left running (ServeWatch), holds an
// inotify watch on every directory of the cache's tree and answers one
// question: which directories may have changed since the tree in that
// file was written? Verify asks it (Options.Watch) and then stats only
// those, the walk roots, and the directories this launch did not take
// from the file; every other directory it takes as stat-ed unchanged.
//
// Why that is as sound as the stats:
//   - The watcher adds its watches first and then stats every directory
//     against the file's stamps: a change before a watch existed shows
//     in the stamps (or the directory is racy: both count as changed), a
//     change after it is an event. Every event names its directory as
//     changed, until the watcher exits (but one about an entry's
//     attributes alone, which moves neither the directory's stamps nor
//     its listing).
//   - inotify events are queued by the system call that makes the
//     change, before it returns, and the watcher reads its queue dry
//     when it is asked: a change made before Verify asked (the previous
//     command's, or one made while this launch set up) is in its answer.
//   - What changes a directory's stamps changes its entries or its
//     attributes: create, delete, rename in or out, chmod and the like
//     are the events watched. A rename or removal of a directory itself
//     names it too (so Verify finds it replaced or gone).
//   - What inotify does not see is refused: a mount or unmount in the
//     watcher's mount namespace (polled on /proc/self/mountinfo) and a
//     full event queue end the watcher; a launch in another mount
//     namespace is not answered; only file systems whose changes all
//     pass through this kernel are watched (not NFS, FUSE and the like).
//   - The watcher answers only a process of its own user, over a socket
//     in polc's cache directory, which no sandbox can write; the launch
//     checks the watcher's user too. A sandboxed command that reaches the
//     socket can ask the same question and nothing else; one that kills
//     the watcher or floods it makes launches stat again, no mask is
//     lost.
//
// With no watcher, a stale one (another tree), or no answer within
// watchTimeout, Verify stats everything as before, and the launch then
// starts a watcher for its cache file (WatchDue), one at a time.

// WatchStats is what Verify learnt from the change feed.
type WatchStats struct {
	// Served: a watcher vouched for the cached tree; Dirty is how many
	// directories it named as changed, Checked how many Verify stat-ed
	// then (those, the roots and the directories not from the cache).
	Served         bool
	Dirty, Checked int
	// Note says why the feed was not used ("" when it was, or was not
	// asked).
	Note string
}

// minWatchDirs is the smallest tree a watcher is started for, or asked
// about: below it the stats cost less than asking. (A variable for the
// tests, whose trees are small.)
var minWatchDirs = 4096

// watchSized reports whether the snapshot's tree has minWatchDirs
// directories or more: the one rule for starting a watcher and for
// asking one.
func (s *snapshot) watchSized() bool {
	return countUpTo(s.trees, minWatchDirs) >= minWatchDirs
}

const (
	// watchRestart is how soon a launch may start another watcher for a
	// cache file as it is after starting one, watchGap for the file
	// rewritten, watchRetry after one failed.
	watchRestart = time.Minute
	watchGap     = 2 * time.Second
	watchRetry   = time.Hour
)

// watchSocket is the watcher's socket for a cache file.
func watchSocket(file string) string {
	return strings.TrimSuffix(file, ".cache") + ".sock"
}

// trustFeed marks, for check, the nodes a watcher vouched for: every
// node decoded from the cache file whose tree the watcher serves, but
// the roots and the dirty directories (absolute paths). It returns how
// many nodes check will stat.
func (s *snapshot) trustFeed(dirty []string) int {
	checked := 0
	var mark func(n *node)
	mark = func(n *node) {
		if n.cached {
			n.pre = preSame
		} else {
			n.pre = preNone
			checked++
		}
		for _, c := range n.children {
			if c != nil {
				mark(c)
			}
		}
	}
	for _, t := range s.trees {
		if t == nil {
			continue
		}
		mark(t)
		if t.cached {
			// A root is listed by every launch (its stamps are the
			// launch's); never the feed's to vouch for.
			t.pre = preNone
			checked++
		}
	}
	for _, p := range dirty {
		for i, root := range s.c.roots {
			n := s.nodeAt(s.trees[i], root, p)
			if n != nil && n.pre == preSame {
				n.pre = preNone
				checked++
			}
		}
	}
	return checked
}

// nodeAt finds the node of path in tree t (rooted at root); nil when
// path is not in it.
func (s *snapshot) nodeAt(t *node, root, path string) *node {
	if t == nil {
		return nil
	}
	rel, ok := strings.CutPrefix(path, root)
	if !ok || rel != "" && !strings.HasPrefix(rel, "/") && !strings.HasSuffix(root, "/") {
		return nil
	}
	n := t
	for _, comp := range strings.Split(strings.Trim(rel, "/"), "/") {
		if comp == "" {
			continue
		}
		if n = n.child(comp); n == nil {
			return nil
		}
	}
	return n
}

// WatchDue says whether the caller should start a watcher (ServeWatch,
// in a process of its own) for the cache file it returns, once Verify
// has passed: Verify was not served by one, and the tree is large
// enough. ClaimWatch then says whether it may start now.
func (r *Result) WatchDue() (file string, ok bool) {
	s := r.snap
	if s == nil || s.file == "" || !s.opts.Watch || r.Stats.Watch.Served || !watchSupported {
		return "", false
	}
	if !s.watchSized() {
		return "", false
	}
	return s.file, true
}

// ClaimWatch says whether a watcher may be started for the cache file
// now: none failed in a way that would recur in the last watchRetry,
// none was started in the last watchGap, nor in the last watchRestart
// for the file as it is (its tree's MAC): a rewritten cache gets its
// watcher at once, a watcher that does not come up is not started at
// every launch. A true answer is recorded as a start.
func ClaimWatch(file string) bool {
	sock := watchSocket(file)
	now := time.Now()
	if fi, err := os.Lstat(sock + ".failed"); err == nil && now.Sub(fi.ModTime()) < watchRetry {
		return false
	}
	gen := fileGen(file)
	started := sock + ".started"
	if fi, err := os.Lstat(started); err == nil {
		b, _ := os.ReadFile(started)
		if age := now.Sub(fi.ModTime()); age < watchGap || age < watchRestart && string(b) == gen {
			return false
		}
	}
	return writeRecord(started, gen) == nil && os.Chtimes(started, now, now) == nil
}

// writeRecord writes one of the watcher's records beside the cache file
// (.started, .failed): content replaces what was there, and a link in
// the record's place is not followed.
func writeRecord(p, content string) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|syscallNoFollow, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fileGen names the cache file's content: its tree's MAC, in hex, as
// its header holds it (unchecked: it only tells one start from
// another); "" when it cannot be read.
func fileGen(file string) string {
	head := cacheHead(file, headerLen)
	if head == nil {
		return ""
	}
	return hex.EncodeToString(head[offTreeMAC:headerLen])
}
