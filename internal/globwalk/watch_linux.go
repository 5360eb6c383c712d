package globwalk

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The change feed's two sides (see watch.go): ServeWatch, the watcher,
// and askWatcher, Verify's question. They speak one packet each way on
// a SOCK_SEQPACKET socket: "Q", the tree's MAC, the asker's mount
// namespace (device, inode) and a fresh nonce; then "D", a MAC and the
// changed directories, NUL-separated, or "N" and why the watcher cannot
// answer. The MAC, with the user's key over the question and the
// answer, is what makes an answer the watcher's: a sandbox that may
// write polc's cache directory could put a socket of its own in the
// watcher's place, but it cannot reach the key (docs/security.md).

const watchSupported = true

// watchEvents are the inotify events that move a directory's stamps:
// its entries (create, delete, renames in and out), its attributes, and
// itself being removed or renamed.
const watchEvents = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

const (
	// watchTimeout bounds the wait for a watcher's answer.
	watchTimeout = 250 * time.Millisecond
	// watchIdle is how long a watcher waits for a question it can
	// answer before it exits.
	watchIdle = 30 * time.Minute
	// maxDirty is the most changed directories a watcher names; past
	// that it exits and the launches stat again (and rewrite the cache).
	maxDirty = 4096
	// maxReply bounds an answer (the dirty paths); a longer one is "N".
	maxReply = 64 << 10
)

// watchDomain is the answers' MAC domain.
const watchDomain = cacheDomain + " watch answer"

// answerMAC authenticates the answer body to the question q (without
// its "Q").
func answerMAC(key, q, body []byte) []byte {
	return cacheMAC(key, watchDomain, q, body)
}

// watchFS are the file systems whose every change passes through this
// kernel's VFS, and so reaches inotify (statfs f_type). Network and
// FUSE file systems change behind its back.
var watchFS = map[int64]string{
	unix.EXT4_SUPER_MAGIC:      "ext4",
	unix.XFS_SUPER_MAGIC:       "xfs",
	unix.BTRFS_SUPER_MAGIC:     "btrfs",
	unix.TMPFS_MAGIC:           "tmpfs",
	unix.F2FS_SUPER_MAGIC:      "f2fs",
	unix.OVERLAYFS_SUPER_MAGIC: "overlay",
	0x2fc12fc1:                 "zfs",
}

// mountNS names the calling process's mount namespace.
func mountNS() ([16]byte, error) {
	var st unix.Stat_t
	var id [16]byte
	if err := unix.Stat("/proc/self/ns/mnt", &st); err != nil {
		return id, err
	}
	binary.LittleEndian.PutUint64(id[:], st.Dev)
	binary.LittleEndian.PutUint64(id[8:], st.Ino)
	return id, nil
}

// sockAddr is the address of the socket at path: the path, or, when it
// is too long for a socket address, the name below an open descriptor
// of its directory (close it after the bind or connect).
func sockAddr(path string) (addr *unix.SockaddrUnix, dirfd int, err error) {
	if len(path) < len(unix.RawSockaddrUnix{}.Path) {
		return &unix.SockaddrUnix{Name: path}, -1, nil
	}
	dir, name := splitPath(path)
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, -1, err
	}
	return &unix.SockaddrUnix{Name: fmt.Sprintf("/proc/self/fd/%d/%s", fd, name)}, fd, nil
}

func splitPath(path string) (dir, name string) {
	i := strings.LastIndexByte(path, '/')
	return path[:max(i, 1)], path[i+1:]
}

// askWatcher asks the watcher at sock which directories changed in the
// tree whose MAC is gen; an error when there is none, it is not the
// user's, or it cannot vouch for that tree.
func askWatcher(sock string, gen, key []byte) ([]string, error) {
	ns, err := mountNS()
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	addr, dirfd, err := sockAddr(sock)
	if err != nil {
		return nil, err
	}
	err = unix.Connect(fd, addr)
	if dirfd >= 0 {
		unix.Close(dirfd)
	}
	if err != nil {
		return nil, fmt.Errorf("no watcher (%v)", err)
	}
	// The socket's directory is the user's own; its creator must be too.
	if cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED); err != nil || int(cred.Uid) != os.Geteuid() {
		return nil, errors.New("the watcher's socket is not this user's")
	}
	tv := unix.NsecToTimeval(watchTimeout.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	q := append(append(append([]byte{'Q'}, gen...), ns[:]...), nonce[:]...)
	if _, err := unix.Write(fd, q); err != nil {
		return nil, fmt.Errorf("watcher: %v", err)
	}
	buf := make([]byte, maxReply+1)
	n, _, flags, _, err := unix.Recvmsg(fd, buf, nil, 0)
	switch {
	case err != nil:
		return nil, fmt.Errorf("watcher: %v", err)
	case n == 0 || flags&unix.MSG_TRUNC != 0 || n > maxReply:
		return nil, errors.New("watcher: no answer")
	case buf[0] == 'N':
		return nil, fmt.Errorf("watcher: %s", buf[1:n])
	case buf[0] != 'D' || n < 1+sha256.Size || !hmac.Equal(buf[1:1+sha256.Size], answerMAC(key, q[1:], buf[1+sha256.Size:n])):
		return nil, errors.New("watcher: an answer not signed with this user's key")
	}
	var dirty []string
	if body := buf[1+sha256.Size : n]; len(body) > 0 {
		dirty = strings.Split(string(body), "\x00")
	}
	return dirty, nil
}

// watchDir is one directory a watcher watches: its name in its parent
// (a walk root's path for a root, whose parent is -1). A watcher keeps
// this, not the paths or the tree, for as long as it runs.
type watchDir struct {
	name   string
	parent int32
}

// watcher is ServeWatch's state.
type watcher struct {
	key  []byte // the user's state key, for the answers' MAC
	gen  []byte
	ns   [16]byte
	dirs []watchDir
	// byWD maps a watch descriptor to its directory (the kernel hands
	// them out counting up from 1), more to further ones (a bind mount
	// can show a directory twice).
	byWD    []int32
	more    map[int32][]int32
	dirty   []bool
	changed []int32 // the dirty dirs, in the order they turned
	ino     int     // the inotify descriptor
	mounts  int     // /proc/self/mountinfo, polled for mount changes
	broken  string  // why it can no longer answer
	buf     []byte
}

// ServeWatch is the watcher for the cache file, a file of the cache
// directory dir (Options.CacheDir; see watch.go): it watches the
// directories of the file's tree, authenticated with the user's key
// mac, and answers launches on the file's socket until it is idle for
// watchIdle, replaced by a newer watcher, or can no longer vouch for
// the tree. It returns why it stopped; when it could not start for a
// reason that would recur (the file system, the inotify watch limit),
// launches wait watchRetry before starting another.
func ServeWatch(dir, file string, mac []byte) error {
	real, err := cacheDirReal(dir)
	if err != nil {
		return err
	}
	if filepath.Dir(file) != real {
		return fmt.Errorf("%s is not in the glob cache %s", file, real)
	}
	sock := watchSocket(file)
	unix.Setpriority(unix.PRIO_PROCESS, 0, 19)
	w, err := armWatch(file, mac)
	if err != nil {
		var lasting *lastingError
		if errors.As(err, &lasting) {
			writeRecord(sock+".failed", err.Error()+"\n")
		}
		return err
	}
	defer w.close()
	os.Remove(sock + ".failed")
	// The tree and the paths are garbage now: give their memory back
	// before settling in.
	debug.FreeOSMemory()
	return w.serve(sock)
}

// lastingError is a reason not to watch that the next try would meet
// again.
type lastingError struct{ msg string }

func (e *lastingError) Error() string { return e.msg }

// armWatch reads the cache file, watches every directory of its tree,
// then stats each against the file's stamps.
func armWatch(file string, mac []byte) (*watcher, error) {
	r, err := openCache(file)
	if err != nil {
		return nil, err
	}
	idx, err := r.index([32]byte{}, mac, nil)
	if err != nil {
		r.close()
		return nil, err
	}
	roots := idx.rootPaths
	trees, err := r.tree(idx, mac, roots, nil)
	if err != nil {
		return nil, err
	}
	w := &watcher{key: mac, gen: idx.treeMAC, more: map[int32][]int32{}, buf: make([]byte, 64<<10), ino: -1, mounts: -1}
	if w.ns, err = mountNS(); err != nil {
		return nil, err
	}
	// The tree in preorder, each directory with its path and node
	// while arming.
	var nodes []*node
	var add func(n *node, name string, parent int32)
	add = func(n *node, name string, parent int32) {
		i := int32(len(w.dirs))
		w.dirs = append(w.dirs, watchDir{name, parent})
		nodes = append(nodes, n)
		for _, c := range n.children {
			if c != nil {
				add(c, c.name, i)
			}
		}
	}
	for i, t := range trees {
		if t != nil && !t.missing {
			add(t, roots[i], -1)
		}
	}
	// Watches count against a per-user limit that editors and other
	// watchers share: take at most three quarters of it.
	if limit, err := maxUserWatches(); err == nil && len(w.dirs) > limit/4*3 {
		return nil, &lastingError{fmt.Sprintf("%d directories need more than 3/4 of the %d inotify watches a user may hold (fs.inotify.max_user_watches)", len(w.dirs), limit)}
	}
	w.dirty = make([]bool, len(w.dirs))
	w.byWD = make([]int32, len(w.dirs)+1)
	// Opened before the watches: a mount made while they are added
	// ends the watcher at its first question.
	if w.mounts, err = unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		return nil, err
	}
	if w.ino, err = unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC); err != nil {
		w.close()
		if errors.Is(err, unix.EMFILE) {
			return nil, &lastingError{"no inotify instance left for this user (fs.inotify.max_user_instances)"}
		}
		return nil, err
	}
	paths := make([]string, len(w.dirs))
	seen := map[uint64]bool{}
	for i, d := range w.dirs {
		path, root := d.name, d.parent < 0
		if !root {
			path = joinPath(paths[d.parent], d.name)
		}
		paths[i] = path
		if dev := nodes[i].st.dev; !seen[dev] {
			seen[dev] = true
			var fs unix.Statfs_t
			if err := unix.Statfs(path, &fs); err == nil && watchFS[int64(fs.Type)] == "" {
				w.close()
				return nil, &lastingError{fmt.Sprintf("%s is on a file system (type %#x) whose changes inotify may not see", path, fs.Type)}
			}
		}
		mask := uint32(watchEvents)
		if !root {
			mask |= unix.IN_DONT_FOLLOW
		}
		wd, err := unix.InotifyAddWatch(w.ino, path, mask)
		switch {
		case errors.Is(err, unix.ENOSPC):
			w.close()
			return nil, &lastingError{fmt.Sprintf("inotify watches run out at %d of %d directories (fs.inotify.max_user_watches)", i, len(w.dirs))}
		case err != nil:
			w.mark(int32(i))
		case wd < len(w.byWD) && w.byWD[wd] == 0:
			w.byWD[wd] = int32(i) + 1
		default:
			w.more[int32(wd)] = append(w.more[int32(wd)], int32(i))
		}
	}
	for i, path := range paths {
		n := nodes[i]
		if w.dirty[i] {
			continue
		}
		if st, err := statPath(path, w.dirs[i].parent < 0); err != nil || st != n.st || n.racy {
			w.mark(int32(i))
		}
	}
	w.drain()
	if w.broken != "" {
		w.close()
		return nil, errors.New(w.broken)
	}
	return w, nil
}

// path is the path of dir i.
func (w *watcher) path(i int32) string {
	d := w.dirs[i]
	if d.parent < 0 {
		return d.name
	}
	return joinPath(w.path(d.parent), d.name)
}

// maxUserWatches is fs.inotify.max_user_watches.
func maxUserWatches() (int, error) {
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_user_watches")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// mark records dir i as changed.
func (w *watcher) mark(i int32) {
	if !w.dirty[i] {
		w.dirty[i] = true
		w.changed = append(w.changed, i)
		if len(w.changed) > maxDirty {
			w.broken = fmt.Sprintf("more than %d directories changed", maxDirty)
		}
	}
}

// drain reads the inotify queue dry and marks the directories its
// events name; a lost event or an unmount breaks the watcher.
func (w *watcher) drain() {
	for {
		n, err := unix.Read(w.ino, w.buf)
		if err != nil || n <= 0 {
			if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				w.broken = "inotify: " + err.Error()
			}
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(w.buf[off:]))
			mask := binary.NativeEndian.Uint32(w.buf[off+4:])
			named := binary.NativeEndian.Uint32(w.buf[off+12:]) > 0
			off += unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(w.buf[off+12:]))
			switch {
			case mask&unix.IN_Q_OVERFLOW != 0:
				w.broken = "inotify lost events (queue overflow)"
			case mask&unix.IN_UNMOUNT != 0:
				w.broken = "a watched file system was unmounted"
			case named && mask&^uint32(unix.IN_ATTRIB|unix.IN_ISDIR) == 0:
				// An entry's attributes (a file chmod-ed or touched):
				// the directory's own stamps stay, as does its listing.
				continue
			}
			if wd > 0 && int(wd) < len(w.byWD) && w.byWD[wd] > 0 {
				w.mark(w.byWD[wd] - 1)
			}
			for _, i := range w.more[wd] {
				w.mark(i)
			}
		}
	}
}

// mountsMoved reports whether a mount or unmount happened in the
// watcher's mount namespace since it started.
func (w *watcher) mountsMoved() bool {
	fds := []unix.PollFd{{Fd: int32(w.mounts), Events: unix.POLLPRI}}
	n, err := unix.Poll(fds, 0)
	return err != nil || n > 0 && fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0
}

// serve binds the socket (replacing a previous watcher's, which then
// exits) and answers until the watcher must stop.
func (w *watcher) serve(sock string) error {
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(lfd)
	tmp := fmt.Sprintf("%s.%d", sock, os.Getpid())
	os.Remove(tmp)
	addr, dirfd, err := sockAddr(tmp)
	if err != nil {
		return err
	}
	err = unix.Bind(lfd, addr)
	if dirfd >= 0 {
		unix.Close(dirfd)
	}
	if err != nil {
		return err
	}
	var own unix.Stat_t
	if err := unix.Lstat(tmp, &own); err != nil || unix.Chmod(tmp, 0o600) != nil || unix.Listen(lfd, 16) != nil || os.Rename(tmp, sock) != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot serve on %s", sock)
	}
	ours := func() bool {
		var st unix.Stat_t
		return unix.Lstat(sock, &st) == nil && st.Dev == own.Dev && st.Ino == own.Ino
	}
	defer func() {
		if ours() {
			os.Remove(sock)
		}
	}()
	last := time.Now()
	fds := []unix.PollFd{{Fd: int32(w.ino), Events: unix.POLLIN}, {Fd: int32(lfd), Events: unix.POLLIN}, {Fd: int32(w.mounts), Events: unix.POLLPRI}}
	for {
		for i := range fds {
			fds[i].Revents = 0
		}
		if _, err := unix.Poll(fds, 5000); err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		if fds[0].Revents != 0 {
			w.drain()
		}
		if w.mountsMoved() {
			w.broken = "the mounts changed"
		}
		if fds[1].Revents&unix.POLLIN != 0 {
			if c, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC); err == nil {
				if w.answer(c) {
					last = time.Now()
				}
				unix.Close(c)
			}
		}
		switch {
		case w.broken != "":
			return errors.New(w.broken)
		case !ours():
			return errors.New("replaced by a newer watcher")
		case time.Since(last) > watchIdle:
			return errors.New("idle")
		}
	}
}

// answer answers one question on c; true when it vouched for the tree.
func (w *watcher) answer(c int) bool {
	if cred, err := unix.GetsockoptUcred(c, unix.SOL_SOCKET, unix.SO_PEERCRED); err != nil || int(cred.Uid) != os.Geteuid() {
		return false
	}
	tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	unix.SetsockoptTimeval(c, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(c, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	q := make([]byte, 128)
	n, err := unix.Read(c, q)
	if err != nil || n != 1+len(w.gen)+len(w.ns)+16 || q[0] != 'Q' {
		return false
	}
	// Everything changed before the question was sent is queued now.
	w.drain()
	if w.mountsMoved() {
		w.broken = "the mounts changed"
	}
	no := func(why string) bool {
		unix.Write(c, append([]byte{'N'}, why...))
		return false
	}
	switch {
	case w.broken != "":
		return no(w.broken)
	case !bytes.Equal(q[1:1+len(w.gen)], w.gen):
		return no("it watches another version of the cache")
	case !bytes.Equal(q[1+len(w.gen):n-16], w.ns[:]):
		return no("another mount namespace")
	}
	var body []byte
	for k, i := range w.changed {
		if k > 0 {
			body = append(body, 0)
		}
		body = append(body, w.path(i)...)
		if 1+sha256.Size+len(body) > maxReply {
			return no("too many changes")
		}
	}
	reply := append(append([]byte{'D'}, answerMAC(w.key, q[1:n], body)...), body...)
	_, err = unix.Write(c, reply)
	return err == nil
}

func (w *watcher) close() {
	for _, fd := range []*int{&w.ino, &w.mounts} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}
