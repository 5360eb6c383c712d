package shim

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// forwarded are the signals polc passes on to the sandboxed command.
var forwarded = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// polc catches the forwarded signals once per process and never lets
// go: os/signal enables (and disables) each signal through a round trip
// to a thread of its own, which on a busy machine cost a launch about a
// millisecond each way. Registering in the background while the launch
// is planned, and never unregistering, takes that off the path. Outside
// a launch a caught signal gets its default action (re-raised with the
// handler reset), as if polc had never caught it.
var fwd struct {
	once  sync.Once
	ready chan struct{}
	mu    sync.Mutex
	to    chan os.Signal // the current launch's, or nil
}

// PrepareLaunch starts, in the background, what a Linux launch needs
// first and does not depend on the profile: catching the forwarded
// signals (a launch waits for it) and Go's one-time check that pidfds
// work, which forks and reaps a child the first time a process is
// started (os.FindProcess makes it). Calling it early (as polc exec
// does) moves both off the launch's path, onto the core that is idle
// while polc compiles the profile.
func PrepareLaunch() {
	fwd.once.Do(func() {
		fwd.ready = make(chan struct{})
		go func() {
			c := make(chan os.Signal, 16)
			signal.Notify(c, forwarded...)
			close(fwd.ready)
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				p.Release()
			}
			for s := range c {
				fwd.mu.Lock()
				to := fwd.to
				if to != nil {
					select {
					case to <- s:
					default: // the launch is not reading: drop, as a full channel does
					}
				}
				fwd.mu.Unlock()
				if to == nil {
					signal.Reset(s)
					syscall.Kill(os.Getpid(), s.(syscall.Signal))
				}
			}
		}()
	})
}

// catchSignals routes the forwarded signals to the returned channel
// until release is called (which closes it).
func catchSignals() (<-chan os.Signal, func()) {
	PrepareLaunch()
	<-fwd.ready
	c := make(chan os.Signal, 16)
	fwd.mu.Lock()
	fwd.to = c
	fwd.mu.Unlock()
	return c, func() {
		fwd.mu.Lock()
		if fwd.to == c {
			fwd.to = nil
		}
		close(c)
		fwd.mu.Unlock()
	}
}
