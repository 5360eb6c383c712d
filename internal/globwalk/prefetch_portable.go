//go:build !linux

package globwalk

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// startPrefetch: elsewhere the stats start once the cache is decoded.
func (w *walker) startPrefetch() (decodeHook, func([]*node)) {
	return nil, func(old []*node) {
		if old != nil {
			w.prefetch(old)
		}
	}
}

// prefetch stats every directory of the cached trees on several threads:
// a warm run is nothing but these stats, and on two cores two threads of
// stat calls take half the wall time of one.
func (w *walker) prefetch(trees []*node) {
	type job struct {
		n    *node
		path string
		root bool
	}
	var jobs []job
	var add func(n *node, path string, root bool)
	add = func(n *node, path string, root bool) {
		jobs = append(jobs, job{n, path, root})
		for _, c := range n.children {
			add(c, joinPath(path, c.name), false)
		}
	}
	for i, t := range trees {
		if t != nil {
			add(t, w.c.roots[i], true)
		}
	}
	const chunk = 64
	workers := min(runtime.GOMAXPROCS(0), 4, (len(jobs)+chunk-1)/chunk)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(chunk)) - chunk
				if i >= len(jobs) {
					return
				}
				for _, j := range jobs[i:min(i+chunk, len(jobs))] {
					j.n.setPre(statDir(noHandle, j.path, j.root))
				}
			}
		}()
	}
	wg.Wait()
}

// statTrees stats every directory of trees (below roots) on several
// threads and leaves each outcome in the node (node.pre).
func statTrees(roots []string, trees []*node) {
	(&walker{c: &compiled{roots: roots}}).prefetch(trees)
}
