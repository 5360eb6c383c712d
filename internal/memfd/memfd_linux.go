package memfd

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Sealed returns an anonymous file holding data, rewound and sealed
// against any change (a reader such as bwrap reads it once; nothing may
// edit it between). exec makes it executable, to be run as
// /proc/self/fd/N.
func Sealed(name string, data []byte, exec bool) (*os.File, error) {
	const mfdExec = 0x10 // MFD_EXEC (Linux 6.3): executable where memfd_noexec asks for a choice
	flags := unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	var fd int
	var err error
	if exec {
		fd, err = unix.MemfdCreate(name, flags|mfdExec)
	}
	if !exec || err == unix.EINVAL { // not asked for, or an older kernel
		fd, err = unix.MemfdCreate(name, flags)
	}
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	_, err = f.Write(data)
	if err == nil {
		_, err = unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
