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

// trustedCacheFile refuses a cache file that is not a plain file of
// ours: another user's, one others can write, a hard link (to a file
// elsewhere that someone else may write), or one that is not really at
// file (where the platform can tell). The MAC is what authenticates the
// content; these checks keep a planted file from being read at all.
func trustedCacheFile(f *os.File, file string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("not a regular file (mode %o)", st.Mode)
	}
	if err := ownedPrivately(&st); err != nil {
		return err
	}
	if st.Nlink != 1 {
		return fmt.Errorf("%d hard links", st.Nlink)
	}
	if real, err := openedPath(f); err == nil && real != file {
		return fmt.Errorf("opened %s, which is not where the cache belongs", real)
	}
	return nil
}

// trustedDir refuses a cache directory that is not ours alone.
func trustedDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return ownedPrivately(&st)
}

func ownedPrivately(st *unix.Stat_t) error {
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("owned by uid %d, not %d", st.Uid, os.Geteuid())
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("writable by group or others (mode %04o)", st.Mode&0o7777)
	}
	return nil
}
