//go:build !windows

package globwalk

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func fromUnix(st *unix.Stat_t) dirStat {
	return dirStat{dev: uint64(st.Dev), ino: uint64(st.Ino), mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
}

func statFile(f *os.File) (dirStat, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return dirStat{}, err
	}
	return fromUnix(&st), nil
}

func statPath(path string, follow bool) (dirStat, error) {
	var st unix.Stat_t
	var err error
	if follow {
		err = unix.Stat(path, &st)
	} else {
		err = unix.Lstat(path, &st)
	}
	if err != nil {
		return dirStat{}, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return dirStat{}, unix.ENOTDIR
	}
	return fromUnix(&st), nil
}

// trustedCacheFile refuses a cache file another user owns or others can
// write: whoever can write it decides what the sandbox masks.
func trustedCacheFile(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("owned by uid %d, not %d", st.Uid, os.Geteuid())
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("writable by group or others (mode %04o)", st.Mode&0o7777)
	}
	return nil
}
