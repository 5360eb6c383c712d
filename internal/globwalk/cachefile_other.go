//go:build !linux

package globwalk

import (
	"os"
	"syscall"
)

// openNoFollow refuses a cache file that is a symlink (the directory
// above it is resolved by the caller). There is no openat2 here; the
// check and the open are two steps, which is acceptable because the
// cache is authenticated by its MAC whatever file is read.
func openNoFollow(file string) (*os.File, error) {
	fi, err := os.Lstat(file)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return nil, &os.PathError{Op: "open", Path: file, Err: syscall.ELOOP}
	}
	return os.Open(file)
}

// syscallNoFollow: the cache directory's own checks stand in for it.
const syscallNoFollow = 0
