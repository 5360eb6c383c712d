package globwalk

import (
	"errors"
	"io/fs"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// On Linux the walk reads directories with getdents64 into one reused
// buffer and tests names in place: no per-entry allocation and no
// per-entry stat (the dirent carries the type). Children are opened with
// openat relative to their open parent.

type dirHandle = int

const noHandle dirHandle = -1

// openDir opens a directory to list it, by name relative to its open
// parent (by path without one).
func (d *dirState) openDir(parent dirHandle, name, path string, follow bool) (dirHandle, error) {
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	dirfd := parent
	if parent == noHandle {
		dirfd, name = unix.AT_FDCWD, path
	}
	for {
		fd, err := d.sys.syscall(unix.SYS_OPENAT, dirfd, name, flags, 0, nil)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// dirState is the walker's directory reading state: buf holds the
// directory entries getdents reads, sys the names of *at system calls.
type dirState struct {
	buf []byte
	sys sysBuf
}

// sysBuf holds one thread's NUL-terminated name for *at system calls:
// x/sys/unix would allocate a C string per call, and a walk makes a few
// per directory.
type sysBuf struct{ buf []byte }

// syscall runs a *at system call on (dirfd, name) with name copied into
// the buffer. Pointers are converted to uintptr only in the Syscall6
// call itself, as unsafe.Pointer's rules require (a stack-allocated
// Statx_t may move).
func (b *sysBuf) syscall(trap uintptr, dirfd int, name string, a3, a4 int, a5 unsafe.Pointer) (int, error) {
	b.buf = append(append(b.buf[:0], name...), 0)
	r, _, e := syscall.Syscall6(trap, uintptr(dirfd), uintptr(unsafe.Pointer(&b.buf[0])), uintptr(a3), uintptr(a4), uintptr(a5), 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// rawSyscall is syscall for the prefetcher's statx and O_PATH opens,
// without telling the scheduler: those calls take a few microseconds
// on a cached dentry, and entering and leaving a scheduled system call
// around each cost about a quarter of Verify's time (2 threads, 100,000
// stats: 170 ms with syscall.Syscall6, 134 ms without). While one runs
// its thread keeps its P, which Verify's workers are the only ones to
// need (the launch waits for them); a stat that has to read the disk
// holds it a little longer, and the goroutine is preempted between
// calls as usual.
func (b *sysBuf) rawSyscall(trap uintptr, dirfd int, name string, a3, a4 int, a5 unsafe.Pointer) (int, error) {
	b.buf = append(append(b.buf[:0], name...), 0)
	r, _, e := syscall.RawSyscall6(trap, uintptr(dirfd), uintptr(unsafe.Pointer(&b.buf[0])), uintptr(a3), uintptr(a4), uintptr(a5), 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func closeDir(h dirHandle) { unix.Close(h) }

// Directories are stat-ed with statx asking only for what the cache
// compares; it is measurably cheaper than a full stat here, and the same
// call serves the open directory (AT_EMPTY_PATH) and a path, so the two
// encode the device alike.
const statxMask = unix.STATX_TYPE | unix.STATX_INO | unix.STATX_MTIME | unix.STATX_CTIME

func fromStatx(sx *unix.Statx_t) dirStat {
	return dirStat{
		dev:   unix.Mkdev(sx.Dev_major, sx.Dev_minor),
		ino:   sx.Ino,
		mtime: sx.Mtime.Sec*1e9 + int64(sx.Mtime.Nsec),
		ctime: sx.Ctime.Sec*1e9 + int64(sx.Ctime.Nsec),
	}
}

func (d *dirState) statHandle(h dirHandle, path string) (dirStat, error) {
	var sx unix.Statx_t
	if _, err := d.sys.syscall(unix.SYS_STATX, h, "", unix.AT_EMPTY_PATH, statxMask, unsafe.Pointer(&sx)); err != nil {
		return dirStat{}, err
	}
	return fromStatx(&sx), nil
}

// statDir stats a directory for revalidation, relative to an open parent
// when there is one; it follows a symlink only for a walk root.
func statDir(parent dirHandle, path string, follow bool) (dirStat, error) {
	var sx unix.Statx_t
	dirfd, name, flags := unix.AT_FDCWD, path, 0
	if parent != noHandle {
		dirfd, name = parent, baseName(path)
	}
	if !follow {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	if err := unix.Statx(dirfd, name, flags, statxMask, &sx); err != nil {
		return dirStat{}, err
	}
	if sx.Mode&unix.S_IFMT != unix.S_IFDIR {
		return dirStat{}, unix.ENOTDIR
	}
	return fromStatx(&sx), nil
}

// lstatType types an entry whose dirent said DT_UNKNOWN (some file
// systems never fill it in).
func lstatType(h dirHandle, path, name string) entType {
	var st unix.Stat_t
	var err error
	if h != noHandle {
		err = unix.Fstatat(h, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	} else {
		err = unix.Lstat(joinPath(path, name), &st)
	}
	if err != nil {
		return typOther
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return typDir
	case unix.S_IFLNK:
		return typLink
	}
	return typOther
}

// handleDev is the device of an open directory (0 if it cannot be
// stat-ed: the identity is then merely unknown).
// (fstat, not statHandle's statx: statx's empty path costs an
// allocation per call; both encode the device as makedev does).
func handleDev(h dirHandle, path string) uint64 {
	var st unix.Stat_t
	if err := unix.Fstat(h, &st); err != nil {
		return 0
	}
	return uint64(st.Dev)
}

// entryID is a matched entry's device and inode: the dirent's inode on
// its directory's device, except for a directory, which is stat-ed (a
// mount point's dirent names the inode it covers, not what is mounted).
func entryID(h dirHandle, path, name string, typ entType, dirDev, ino uint64) (uint64, uint64) {
	if typ != typDir {
		return dirDev, ino
	}
	var sx unix.Statx_t
	if err := unix.Statx(h, name, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_INO, &sx); err != nil {
		return dirDev, ino
	}
	return unix.Mkdev(sx.Dev_major, sx.Dev_minor), sx.Ino
}

func (d *dirState) readDir(h dirHandle, path string, fn func(name string, typ entType, ino uint64)) error {
	if d.buf == nil {
		d.buf = make([]byte, 64<<10)
	}
	for {
		n, err := unix.Getdents(h, d.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		buf := d.buf[:n]
		for len(buf) > 0 {
			// struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }
			if len(buf) < 19 {
				return errors.New("short dirent record")
			}
			reclen := int(*(*uint16)(unsafe.Pointer(&buf[16])))
			if reclen < 19 || reclen > len(buf) {
				return errors.New("bad dirent record length")
			}
			rec := buf[:reclen]
			buf = buf[reclen:]
			nameb := rec[19:]
			for i, b := range nameb {
				if b == 0 {
					nameb = nameb[:i]
					break
				}
			}
			if len(nameb) == 0 || nameb[0] == '.' && (len(nameb) == 1 || len(nameb) == 2 && nameb[1] == '.') {
				continue
			}
			var typ entType
			switch rec[18] {
			case unix.DT_DIR:
				typ = typDir
			case unix.DT_LNK:
				typ = typLink
			case unix.DT_UNKNOWN:
				typ = typUnknown
			default:
				typ = typOther
			}
			fn(unsafe.String(&nameb[0], len(nameb)), typ, *(*uint64)(unsafe.Pointer(&rec[0])))
		}
	}
}

func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR)
}

func errText(err error) string { return err.Error() }
