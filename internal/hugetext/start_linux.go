package hugetext

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"polc/internal/memfd"
)

// Start starts the primer (see Program) for exe, an executable of size
// bytes, to read the 2 MiB ranges at the file offsets offs again. It
// returns the primer's process and the write end of its pipe, a plain
// descriptor (no *os.File whose finalizer could close it): the primer
// waits until that is closed (when the caller exits, if it keeps it
// open), then does its work. The caller need not wait for it: the
// primer runs from a sealed memfd in /, in a session of its own, with
// nothing of the caller's but exe.
func Start(exe *os.File, size int64, offs []int64) (*os.Process, int, error) {
	prog, err := Program(runtime.GOARCH, 3, 4, size, offs)
	if err != nil {
		return nil, -1, err
	}
	img, err := memfd.Sealed("polc-hugetext", prog, true)
	if err != nil {
		return nil, -1, err
	}
	defer img.Close()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, -1, err
	}
	r, w := os.NewFile(uintptr(p[0]), "primer-wait"), p[1]
	defer r.Close()
	cmd := exec.Command("/proc/self/fd/5")
	cmd.ExtraFiles = []*os.File{exe, r, img}
	cmd.Dir = "/"                                        // holds no directory of the user's busy
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no terminal's signals
	if err := cmd.Start(); err != nil {
		unix.Close(w)
		return nil, -1, err
	}
	return cmd.Process, w, nil
}
