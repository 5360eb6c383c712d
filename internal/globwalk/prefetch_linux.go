package globwalk

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// startPrefetch starts the stats of a warm run: every directory of the
// cached trees is stat-ed before revalidation, on several threads, while
// the cache is still being decoded (the returned hook hands out subtrees
// as they are decoded; wait waits for the last stat). A warm run is
// little but these stats, and on two cores two threads take half the wall
// time of one.
//
// Each directory is looked up relative to its open parent (an O_PATH
// descriptor), one path component per lookup instead of the whole path:
// this saves about a fifth of every stat here, and a renamed ancestor
// cannot redirect it. Directories with cached children are opened (and
// stat-ed through the descriptor); leaves are stat-ed by name and never
// opened. The names are passed to statx from a reused buffer, so the
// loop does not allocate.
//
// The decoding goroutine opens the roots and the top directories (see
// splitFan); each subtree below them is a task for the workers. A parent's descriptor is closed when its last
// task is done. A node whose stat fails keeps the outcome, and its
// subtree is left to revalidate, which stats on demand; so is anything
// below maxOpenDepth.
func (w *walker) startPrefetch() (decodeHook, func([]*node)) {
	s := &streamPrefetch{tasks: make(chan prefetchTask, 256)}
	for range min(runtime.GOMAXPROCS(0), 4) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			var p prefetcher
			for t := range s.tasks {
				p.tree(t.parent.fd, t.n, t.depth)
				t.parent.release()
			}
		}()
	}
	return s, func([]*node) {
		close(s.tasks)
		s.wg.Wait()
	}
}

// splitFan is how many subtrees the decoding goroutine aims to hand out:
// it opens a directory itself while the fan-out above it (the product of
// the child counts from the root down) is below splitFan, so that a tree
// that starts narrow (one src/ under the root) is still split where it
// widens. The benchmark tree gives 400 tasks of 26 directories.
const splitFan = 64

type streamPrefetch struct {
	p     prefetcher // the decoding goroutine's
	tasks chan prefetchTask
	wg    sync.WaitGroup
}

type prefetchTask struct {
	parent *openRef
	n      *node
	depth  int
}

// openRef is an open directory shared by the tasks below it; fan is the
// fan-out at its children (see splitFan).
type openRef struct {
	fd   int
	fan  int
	refs atomic.Int32
}

func (r *openRef) release() {
	if r.refs.Add(-1) == 0 {
		unix.Close(r.fd)
	}
}

type rootPath string

func (s *streamPrefetch) root(path string) any { return rootPath(path) }

// opensItself reports whether the decoding goroutine opens n (below
// parent) instead of handing it out as a task.
func opensItself(parent *openRef, depth, nkids int) bool {
	return parent != nil && parent.fan < splitFan && nkids > 0 && depth < maxOpenDepth
}

func (s *streamPrefetch) enter(n *node, depth, nkids int, parent any) any {
	pr, _ := parent.(*openRef)
	var fd int
	switch {
	case depth == 0:
		fd = s.p.open(unix.AT_FDCWD, string(parent.(rootPath)), n, true)
	case opensItself(pr, depth, nkids):
		fd = s.p.open(pr.fd, n.name, n, false)
	default:
		return nil // a task stats it, or nothing can (no open parent)
	}
	if fd < 0 {
		return nil
	}
	fan := nkids
	if pr != nil {
		fan = min(pr.fan*nkids, splitFan)
	}
	r := &openRef{fd: fd, fan: fan}
	r.refs.Store(1) // the decoder's, until the node's children are decoded
	return r
}

func (s *streamPrefetch) leave(n *node, depth int, parent, ctx any, ok bool) {
	if r, _ := ctx.(*openRef); r != nil {
		r.release()
	}
	pr, _ := parent.(*openRef)
	if !ok || pr == nil || opensItself(pr, depth, len(n.children)) {
		return
	}
	pr.refs.Add(1)
	s.tasks <- prefetchTask{pr, n, depth}
}

// prefetcher holds one thread's NUL-terminated name buffer.
type prefetcher struct{ sysBuf }

// tree prefetches n, looked up in parent, and its cached subtree.
func (p *prefetcher) tree(parent int, n *node, depth int) {
	if len(n.children) == 0 || depth >= maxOpenDepth {
		n.setPre(p.stat(parent, n.name))
		return
	}
	fd := p.open(parent, n.name, n, false)
	if fd < 0 {
		return
	}
	for _, c := range n.children {
		p.tree(fd, c, depth+1)
	}
	unix.Close(fd)
}

// open opens directory name under parent as an O_PATH descriptor and
// records the outcome of its stat in n; it returns -1 when n's subtree cannot be
// prefetched (the error is recorded, or left to revalidate).
func (p *prefetcher) open(parent int, name string, n *node, follow bool) int {
	flags := unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	var fd int
	var err error
	for {
		fd, err = p.rawSyscall(unix.SYS_OPENAT, parent, name, flags, 0, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		n.setPre(dirStat{}, err)
		return -1
	}
	var sx unix.Statx_t
	if _, err := p.rawSyscall(unix.SYS_STATX, fd, "", unix.AT_EMPTY_PATH, statxMask, unsafe.Pointer(&sx)); err != nil {
		unix.Close(fd)
		return -1
	}
	st, err := checkDir(&sx)
	n.setPre(st, err)
	if err != nil {
		unix.Close(fd)
		return -1
	}
	return fd
}

// stat stats directory name under parent without following a symlink.
func (p *prefetcher) stat(parent int, name string) (dirStat, error) {
	var sx unix.Statx_t
	if _, err := p.rawSyscall(unix.SYS_STATX, parent, name, unix.AT_SYMLINK_NOFOLLOW, statxMask, unsafe.Pointer(&sx)); err != nil {
		return dirStat{}, err
	}
	return checkDir(&sx)
}

func checkDir(sx *unix.Statx_t) (dirStat, error) {
	if sx.Mode&unix.S_IFMT != unix.S_IFDIR {
		return dirStat{}, unix.ENOTDIR
	}
	return fromStatx(sx), nil
}

// statTrees stats every directory of trees (below roots) as a warm run's
// prefetch does, on several threads, relative to open parents, and
// leaves each outcome in the node (node.pre).
func statTrees(roots []string, trees []*node) {
	if countUpTo(trees, smallTree) < smallTree {
		var p prefetcher
		for i, t := range trees {
			if t == nil {
				continue
			}
			if fd := p.open(unix.AT_FDCWD, roots[i], t, true); fd >= 0 {
				for _, c := range t.children {
					if c != nil {
						p.tree(fd, c, 1)
					}
				}
				unix.Close(fd)
			}
		}
		return
	}
	s, wait := (&walker{}).startPrefetch()
	var replay func(n *node, depth int, parent any)
	replay = func(n *node, depth int, parent any) {
		ctx := s.enter(n, depth, len(n.children), parent)
		if ctx != nil {
			// n is open here: its children are opened here too or
			// handed out. Below a node handed out (or one that could
			// not be opened) the hook has nothing to do, and this
			// goroutine would only take a core from the workers.
			for _, c := range n.children {
				if c != nil {
					replay(c, depth+1, ctx)
				}
			}
		}
		s.leave(n, depth, parent, ctx, true)
	}
	for i, t := range trees {
		if t != nil {
			replay(t, 0, s.root(roots[i]))
		}
	}
	wait(nil)
}

// smallTree is the number of directories below which statTrees stats
// them on the calling goroutine: starting the workers (and the threads
// they may wake) costs more than a few dozen stats, and a small
// project's launch makes these while bubblewrap waits for it.
const smallTree = 64
