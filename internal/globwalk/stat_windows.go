package globwalk

import (
	"os"
	"syscall"
)

// Windows has no ctime or inode in os.FileInfo; the cache compares the
// last-write time (NTFS stamps it with 100 ns resolution).

func fromInfo(fi os.FileInfo) dirStat { return dirStat{mtime: fi.ModTime().UnixNano()} }

func statFile(f *os.File) (dirStat, error) {
	fi, err := f.Stat()
	if err != nil {
		return dirStat{}, err
	}
	return fromInfo(fi), nil
}

func statPath(path string, follow bool) (dirStat, error) {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	fi, err := stat(path)
	if err != nil {
		return dirStat{}, err
	}
	if !fi.IsDir() {
		return dirStat{}, syscall.ENOTDIR
	}
	return fromInfo(fi), nil
}

// trustedCacheFile: on Windows the cache directory's ACL (under the
// user's profile) is what keeps the sandbox out, and the MAC what
// authenticates the content.
func trustedCacheFile(f *os.File, file string) error { return nil }

// trustedDir: see trustedCacheFile.
func trustedDir(dir string) error { return nil }
