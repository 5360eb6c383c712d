//go:build !linux

package globwalk

import "errors"

// Only Linux has the change feed (inotify); elsewhere Verify stats.
const watchSupported = false

var errNoWatch = errors.New("no change feed on this platform")

func askWatcher(sock string, gen, key []byte) ([]string, error) { return nil, errNoWatch }

// ServeWatch has no change feed to serve outside Linux.
func ServeWatch(dir, file string, mac []byte) error { return errNoWatch }
