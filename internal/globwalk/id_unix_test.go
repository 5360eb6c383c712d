//go:build unix

package globwalk

import (
	"os"
	"syscall"
)

func lstatID(p string) (dev, ino uint64, ok bool) {
	fi, err := os.Lstat(p)
	if err != nil {
		return 0, 0, false
	}
	st := fi.Sys().(*syscall.Stat_t)
	return uint64(st.Dev), uint64(st.Ino), true
}
