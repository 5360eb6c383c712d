//go:build !linux && !windows

package globwalk

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// statFile is the portable walker's (dir_portable.go) stat of an open
// directory; Linux walks with its own (dir_linux.go).
func statFile(f *os.File) (dirStat, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return dirStat{}, err
	}
	return fromUnix(&st), nil
}

// openedPath is unknown here: the real-path check is skipped.
func openedPath(f *os.File) (string, error) {
	return "", errors.New("no path for open files on this platform")
}
