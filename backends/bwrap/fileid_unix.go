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
// in dir from inside the sandbox, or make itself able to: the directory
// is writable for it, or it owns the directory (and so may chmod it).
//
// Root is root inside the sandbox only over files of root: bubblewrap's
// user namespace maps uid and gid 0 alone, and the kernel grants a
// capability over an inode only when both its owner and its group are
// mapped. In another user's directory root is "other" to the mode bits,
// as bwrap finds when it makes a mount point there (and a placeholder
// polc asked for would fail the launch).
func mayCreateIn(dir string) bool {
	var st unix.Stat_t
	if os.Geteuid() == 0 {
		if unix.Stat(dir, &st) != nil {
			return true
		}
		const wx = 0o3
		mode := uint32(st.Mode)
		switch {
		case st.Uid == 0 && st.Gid == 0:
			return true
		case st.Uid == 0:
			return true // the owner may chmod it
		case st.Gid == 0 && mode>>3&wx == wx:
			return true
		}
		return mode&wx == wx
	}
	if unix.Access(dir, unix.W_OK) == nil {
		return true
	}
	return unix.Stat(dir, &st) != nil || int(st.Uid) == os.Geteuid()
}
