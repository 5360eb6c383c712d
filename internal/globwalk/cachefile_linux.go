package globwalk

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openNoFollow opens a cache file following no symlink anywhere on its
// path (openat2 RESOLVE_NO_SYMLINKS). Kernels before 5.6, or a seccomp
// filter, may refuse openat2: then the last component is opened with
// O_NOFOLLOW and trustedCacheFile's real-path check catches a link
// above it.
func openNoFollow(file string) (*os.File, error) {
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	for range 8 {
		fd, err := unix.Openat2(unix.AT_FDCWD, file, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), file), nil
		case err == unix.EINTR || err == unix.EAGAIN:
			continue
		case err == unix.ENOSYS || err == unix.EPERM:
			return os.OpenFile(file, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		default:
			return nil, &os.PathError{Op: "openat2", Path: file, Err: err}
		}
	}
	return nil, &os.PathError{Op: "openat2", Path: file, Err: unix.EAGAIN}
}

// openedPath is where an open file really is (the kernel's name for it).
func openedPath(f *os.File) (string, error) {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return "", err
	}
	if p == "" || p[0] != '/' {
		return "", errors.New("no path for the open file")
	}
	return p, nil
}

// syscallNoFollow keeps an open from following a symlink in the last
// component.
const syscallNoFollow = unix.O_NOFOLLOW
