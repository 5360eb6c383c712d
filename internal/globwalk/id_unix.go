//go:build unix && !linux

package globwalk

import (
	"os"
	"syscall"
)

// handleDev is the device of an open directory (0 if unknown).
func handleDev(h dirHandle, path string) uint64 {
	fi, err := h.Stat()
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev)
	}
	return 0
}

// entryID is a matched entry's device and inode, from an lstat (the
// portable listing carries no inode numbers; matches are few).
func entryID(h dirHandle, path, name string, typ entType, dirDev, ino uint64) (uint64, uint64) {
	fi, err := os.Lstat(joinPath(path, name))
	if err != nil {
		return dirDev, ino
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return dirDev, ino
}
