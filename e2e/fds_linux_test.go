package e2e

import "golang.org/x/sys/unix"

// closeExtraFiles marks every descriptor above the standard streams
// close-on-exec.
func closeExtraFiles() { unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC) }
