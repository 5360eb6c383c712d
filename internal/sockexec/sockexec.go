// Package sockexec makes a proxy-only sandbox's listening sockets in the
// sandbox's own network namespace, at the cost of an exec of a few
// hundred bytes.
//
// An unprivileged polc cannot enter bubblewrap's network namespace, and
// bubblewrap cannot be given one: a process inside must create the
// sockets, since a socket belongs to the namespace of the process that
// creates it. Program is that process: a tiny static ELF image
// (program_amd64.asm, assembled into zprogram.go) that bubblewrap runs
// as the sandboxed command's first image. It makes the sockets, sends
// them to polc over a socketpair, waits for polc's word, then execs the
// command itself, which keeps its pid and inherits neither the sockets
// nor the socketpair. polc binds and listens on the sockets outside the
// sandbox (they stay in the sandbox's namespace) and accepts on them
// for as long as it runs: nothing of the proxy lives inside the
// sandbox, and the command, which never holds a listening socket and
// starts only once polc listens, cannot take its ports.
//
// polc's mask stage, which runs before the command anyway when a launch
// needs it, speaks the same protocol from Go (Send): one message 'S'
// with the sockets as SCM_RIGHTS, or 'E' and an errno when they cannot
// be made; polc answers 'G' once it listens, or closes its end.
//
// Where there is no image for the architecture (Supported), polc runs
// its mask stage instead: polc itself, whose start costs tens of
// milliseconds on a small VM where this program's costs about one.
package sockexec

import (
	"encoding/binary"
	"fmt"
)

//go:generate go run polc/internal/asmgen -pkg sockexec -fields nsock,ctrl,self,ctllen,cmlen

// The protocol's one-byte messages.
const (
	// TagSockets starts the sandbox's message carrying the sockets.
	TagSockets byte = 'S'
	// TagFailed, followed by an errno byte, says the sockets could not
	// be made.
	TagFailed byte = 'E'
	// TagGo is polc's answer once it listens on the sockets.
	TagGo byte = 'G'
)

// Exit statuses of the program when it does not exec the command.
const (
	// ExitSetup: the sockets could not be made or sent, or polc did not
	// answer TagGo. The command did not run.
	ExitSetup = 125
	// ExitCannotRun: the command could not be executed (a line on
	// stderr names it), as a shell reports it.
	ExitCannotRun = 127
)

// MaxSockets is the most sockets one launch asks for: the HTTP and the
// SOCKS5 listener.
const MaxSockets = 2

// image is an assembled program and the offsets of the fields polc
// fills in (see program_amd64.asm).
type image struct {
	code                             []byte
	nsock, ctrl, self, ctllen, cmlen int
}

var images = map[string]*image{"amd64": &amd64Image}

// Supported reports whether there is a program for goarch.
func Supported(goarch string) bool { return images[goarch] != nil }

// Program returns the ELF image for goarch that makes n sockets (1 or
// MaxSockets), talks to polc on descriptor ctrl, and closes self (the
// descriptor it is run from, as /proc/self/fd/SELF) before it execs the
// command. Its arguments are PATH ARGV0 [ARGS...]: it executes the file
// PATH with ARGV0 [ARGS...], in the environment it was given.
func Program(goarch string, n, ctrl, self int) ([]byte, error) {
	im := images[goarch]
	if im == nil {
		return nil, fmt.Errorf("sockexec: no program for %s", goarch)
	}
	if n < 1 || n > MaxSockets {
		return nil, fmt.Errorf("sockexec: %d sockets (1 to %d)", n, MaxSockets)
	}
	if ctrl < 3 || self < 3 || ctrl == self || ctrl > 1<<30 || self > 1<<30 {
		return nil, fmt.Errorf("sockexec: bad descriptors %d and %d", ctrl, self)
	}
	b := append([]byte(nil), im.code...)
	le := binary.LittleEndian
	le.PutUint32(b[im.nsock:], uint32(n))
	le.PutUint32(b[im.ctrl:], uint32(ctrl))
	le.PutUint32(b[im.self:], uint32(self))
	// struct cmsghdr of n ints: CMSG_LEN and CMSG_SPACE on a 64-bit
	// kernel (a 16-byte header, data padded to 8 bytes).
	le.PutUint64(b[im.cmlen:], uint64(16+4*n))
	le.PutUint64(b[im.ctllen:], uint64(16+(4*n+7)&^7))
	return b, nil
}
