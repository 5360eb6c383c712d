package globwalk

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// A walk lists directories on a bounded pool of workers (at most
// maxWalkers, and no more than GOMAXPROCS): listing a directory is a few
// system calls (open, statx, getdents until empty, close) that leave a
// core idle while the kernel works, and a large tree has a hundred
// thousand of them. Each directory is one task: its worker lists it,
// steps the automaton over every entry, and pushes a task for each
// subdirectory that can still hold a match onto one shared stack
// (last in, first out, so the walk stays close to depth-first and the
// parents it keeps open stay few). Every worker is a walker of its own,
// with its own automaton tables, getdents buffer and partial Result;
// the tables are small and rebuilt per worker (a task carries its state
// set's states, not an id), and the partial Results are merged and
// sorted at the end, so the outcome does not depend on the schedule.
//
// A parent's descriptor is shared by its children's tasks (dirRef): each
// child is opened with openat relative to it, one path component per
// lookup, and the last child to be opened closes it. A task writes its
// directory's node into its slot in the parent's child list, so the
// cache tree keeps the listing order whoever ran the task.

// maxWalkers bounds the pool: past a few threads the walk is bound by
// the file system's locks, not by cores.
const maxWalkers = 8

// walkers is how many workers a walk uses.
var walkers = func() int { return max(1, min(runtime.GOMAXPROCS(0), maxWalkers)) }

// task is one directory to visit (or, with old, to revalidate).
type task struct {
	parent *dirRef // the open parent; nil: open by path
	path   string
	set    *stateSet // its states, in the pushing worker's tables
	depth  int
	old    *node
	root   bool
	slot   **node // where the directory's node goes (nil: no tree kept)
}

// dirRef is an open directory shared by the tasks of its children.
type dirRef struct {
	h    dirHandle
	refs atomic.Int32
}

func (r *dirRef) release() {
	if r.refs.Add(-1) == 0 {
		closeDir(r.h)
	}
}

// pool is one walk's shared stack of tasks.
type pool struct {
	mu      sync.Mutex
	cond    sync.Cond
	stack   []task
	pending int // tasks pushed and not finished
	idle    int // workers waiting for a task
}

func (p *pool) push(ts []task) {
	if len(ts) == 0 {
		return
	}
	p.mu.Lock()
	p.stack = append(p.stack, ts...)
	p.pending += len(ts)
	wake := p.idle > 0
	p.mu.Unlock()
	if wake {
		p.cond.Broadcast()
	}
}

// pop takes the next task, waiting while others may still push one; ok
// is false once every task is done.
func (p *pool) pop(done bool) (t task, ok bool) {
	p.mu.Lock()
	if done {
		p.pending--
		if p.pending == 0 {
			p.mu.Unlock()
			p.cond.Broadcast()
			return task{}, false
		}
	}
	for len(p.stack) == 0 {
		if p.pending == 0 {
			p.mu.Unlock()
			return task{}, false
		}
		p.idle++
		p.cond.Wait()
		p.idle--
	}
	t = p.stack[len(p.stack)-1]
	p.stack[len(p.stack)-1] = task{}
	p.stack = p.stack[:len(p.stack)-1]
	p.mu.Unlock()
	return t, true
}

// walkTrees walks every root (revalidating olds[i] where it is not nil)
// on the pool and returns the new trees (nil entries where nothing is
// kept). w is the calling walker; helpers are merged into it.
func (w *walker) walkTrees(olds []*node) []*node {
	trees := make([]*node, len(w.c.roots))
	p := &pool{}
	p.cond.L = &p.mu
	var first []task
	for i, path := range w.c.roots {
		z, _ := w.zoneOf(path)
		set := w.intern(w.c.initial[i], z)
		if set == emptySet {
			continue
		}
		t := task{path: path, set: w.sets[set], root: true}
		if olds != nil {
			t.old = olds[i]
		}
		if w.tree {
			t.slot = &trees[i]
		}
		first = append(first, t)
	}
	// Reverse: the stack pops the first root first.
	for i, j := 0, len(first)-1; i < j; i, j = i+1, j-1 {
		first[i], first[j] = first[j], first[i]
	}
	p.push(first)
	helpers := make([]*walker, walkers()-1)
	var wg sync.WaitGroup
	for i := range helpers {
		h := w.helper()
		helpers[i] = h
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.work(p)
		}()
	}
	w.work(p)
	wg.Wait()
	for _, h := range helpers {
		w.merge(h)
	}
	return trees
}

// work runs tasks until the pool is empty.
func (w *walker) work(p *pool) {
	w.pool = p
	done := false
	for {
		t, ok := p.pop(done)
		if !ok {
			break
		}
		n := w.run(&t)
		if t.slot != nil {
			*t.slot = n
		}
		done = true
	}
	w.pool = nil
}

// run visits or revalidates one task's directory.
func (w *walker) run(t *task) *node {
	set := w.intern(t.set.states, t.set.zone)
	parent := noHandle
	if t.parent != nil {
		parent = t.parent.h
		defer t.parent.release()
	}
	if t.old != nil {
		return w.revalidate(parent, t.path, set, t.depth, t.old, t.root)
	}
	return w.visit(parent, t.path, set, t.depth, nil, t.root)
}

// helper is another worker for w's walk.
func (w *walker) helper() *walker {
	h := newWalker(w.c, w.opts, &Result{})
	h.caching, h.tree, h.scanStart = w.caching, w.tree, w.scanStart
	return h
}

// merge adds a helper's partial result to w's.
func (w *walker) merge(h *walker) {
	r, hr := w.res, h.res
	r.Matches = append(r.Matches, hr.Matches...)
	r.BeyondCap = append(r.BeyondCap, hr.BeyondCap...)
	r.Errors = append(r.Errors, hr.Errors...)
	r.Stats.DirsRead += hr.Stats.DirsRead
	r.Stats.DirsReused += hr.Stats.DirsReused
	r.Stats.Entries += hr.Stats.Entries
	w.changed = w.changed || h.changed
	w.drift += h.drift
}
