package globwalk

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// prefetch stats every directory of the cached trees before revalidation,
// on several threads: a warm run is little but these stats, and on two
// cores two threads take half the wall time of one.
//
// Each directory is looked up relative to its open parent (an O_PATH
// descriptor), one path component per lookup instead of the whole path:
// here a lookup costs about 0.3 µs per component, so this saves a fifth
// of every stat, and a renamed ancestor cannot redirect it. Directories
// with cached children are opened (and stat-ed through the descriptor);
// leaves are stat-ed by name and never opened. The names are passed to
// statx from a reused buffer, so the loop does not allocate.
//
// A node whose stat fails keeps the error and its subtree is left to
// revalidate, which stats on demand; so is anything below maxOpenDepth.
func (w *walker) prefetch(trees []*node) {
	type task struct {
		parent int
		n      *node
		depth  int
	}
	var p prefetcher
	var tasks []task
	var opened []int
	defer func() {
		for _, fd := range opened {
			unix.Close(fd)
		}
	}()
	for i, t := range trees {
		if t == nil {
			continue
		}
		fd := p.open(unix.AT_FDCWD, w.c.roots[i], t, true)
		if fd < 0 {
			continue
		}
		opened = append(opened, fd)
		for _, c := range t.children {
			tasks = append(tasks, task{fd, c, 1})
		}
	}
	// Open the top levels here until there are enough subtrees to share
	// out; each task is then a whole subtree under an open parent.
	workers := runtime.GOMAXPROCS(0)
	for len(tasks) < 16*workers {
		var next []task
		split := false
		for _, t := range tasks {
			if len(t.n.children) == 0 || t.depth >= maxOpenDepth {
				next = append(next, t)
				continue
			}
			split = true
			fd := p.open(t.parent, t.n.name, t.n, false)
			if fd < 0 {
				continue
			}
			opened = append(opened, fd)
			for _, c := range t.n.children {
				next = append(next, task{fd, c, t.depth + 1})
			}
		}
		tasks = next
		if !split {
			break
		}
	}
	workers = min(workers, 4, len(tasks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p prefetcher
			for {
				i := int(next.Add(1)) - 1
				if i >= len(tasks) {
					return
				}
				t := tasks[i]
				p.tree(t.parent, t.n, t.depth)
			}
		}()
	}
	wg.Wait()
}

// prefetcher holds one thread's NUL-terminated name buffer.
type prefetcher struct{ buf []byte }

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
		fd, err = p.syscall(unix.SYS_OPENAT, parent, name, flags, 0, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		n.setPre(dirStat{}, err)
		return -1
	}
	var sx unix.Statx_t
	if _, err := p.syscall(unix.SYS_STATX, fd, "", unix.AT_EMPTY_PATH, statxMask, unsafe.Pointer(&sx)); err != nil {
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
	if _, err := p.syscall(unix.SYS_STATX, parent, name, unix.AT_SYMLINK_NOFOLLOW, statxMask, unsafe.Pointer(&sx)); err != nil {
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

// syscall runs a *at system call on (dirfd, name) with name copied into
// the reused buffer; x/sys/unix would allocate a C string per call.
// Pointers are converted to uintptr only in the Syscall6 call itself, as
// unsafe.Pointer's rules require (a stack-allocated Statx_t may move).
func (p *prefetcher) syscall(trap uintptr, dirfd int, name string, a3, a4 int, a5 unsafe.Pointer) (int, error) {
	p.buf = append(append(p.buf[:0], name...), 0)
	r, _, e := syscall.Syscall6(trap, uintptr(dirfd), uintptr(unsafe.Pointer(&p.buf[0])), uintptr(a3), uintptr(a4), uintptr(a5), 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}
