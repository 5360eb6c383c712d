//go:build unix

package bwrap

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileID is the device and inode of what an Lstat described.
func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}

// mayCreateIn reports whether this process's user could create an entry
// in dir, or make itself able to: the directory is writable for it, or it
// owns the directory (and so may chmod it), or it is root.
func mayCreateIn(dir string) bool {
	if os.Geteuid() == 0 || unix.Access(dir, unix.W_OK) == nil {
		return true
	}
	var st unix.Stat_t
	return unix.Stat(dir, &st) != nil || int(st.Uid) == os.Geteuid()
}
