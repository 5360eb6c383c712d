//go:build !linux

package globwalk

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// Elsewhere the walk uses (*os.File).ReadDir, which also takes entry
// types from the directory listing where the OS provides them.

type dirHandle = *os.File

var noHandle dirHandle

func (d *dirState) openDir(parent dirHandle, name, path string, follow bool) (dirHandle, error) {
	if !follow {
		fi, err := os.Lstat(path)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, syscall.ENOTDIR
		}
	}
	return os.Open(path)
}

func closeDir(h dirHandle) { h.Close() }

func (d *dirState) statHandle(h dirHandle, path string) (dirStat, error) { return statFile(h) }

// dirState is the walker's directory reading state: none here (Linux
// keeps buffers, dir_linux.go).
type dirState struct{}

func statDir(parent dirHandle, path string, follow bool) (dirStat, error) {
	return statPath(path, follow)
}

func lstatType(h dirHandle, path, name string) entType {
	fi, err := os.Lstat(joinPath(path, name))
	if err != nil {
		return typOther
	}
	return typeOf(fi.Mode())
}

func typeOf(m fs.FileMode) entType {
	switch {
	case m&fs.ModeSymlink != 0:
		return typLink
	case m.IsDir():
		return typDir
	}
	return typOther
}

// readDir passes no inode: entryID looks it up for the rare match.
func (d *dirState) readDir(h dirHandle, path string, fn func(name string, typ entType, ino uint64)) error {
	ents, err := h.ReadDir(-1)
	for _, e := range ents {
		fn(e.Name(), typeOf(e.Type()), 0)
	}
	return err
}

func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
