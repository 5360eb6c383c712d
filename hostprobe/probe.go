// Package hostprobe finds out what this host lets polc exec enforce on
// Linux, and when it cannot, why and what to do about it.
//
// Every host fact comes through one Probe: files (/proc/version, the
// user-namespace sysctls, container markers), the environment, where
// bubblewrap is, and three trials that find out by trying rather than
// guessing from files: a user namespace created in a child, a tiny
// sandbox made by bubblewrap with the profile's namespaces and seccomp
// filter, and a seccomp filter installed in a child. System is this
// host; Fake plays another one (WSL1, WSL2, a Docker container, a host
// whose AppArmor restricts user namespaces) so that `polc doctor` and
// the failure lines of `polc exec` are tested for hosts this machine is
// not.
//
// Inspect reports one row per capability for `polc doctor`; Diagnose
// turns the first host reason a launch cannot succeed into one line
// with a stable code (POL070, POL071, POL077, POL130–POL139) and the
// remedy that fits.
// Neither ever suggests, nor does polc ever make, a weaker sandbox on
// its own: the remedies that drop the sandbox name the flag the user
// must choose.
package hostprobe

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Probe is where Inspect and Diagnose get every host fact.
type Probe interface {
	// ReadFile reads a host file such as /proc/version.
	ReadFile(name string) ([]byte, error)
	// Exists reports whether a path exists (a container marker, /run/WSL).
	Exists(name string) bool
	// Getenv reads polc's environment.
	Getenv(key string) string
	// Uid is polc's effective user id.
	Uid() int
	// FindBwrap finds bubblewrap as polc exec does: the first bwrap on
	// PATH, then /usr/bin/bwrap, passing over any that lies in one of
	// skip (the project: a sandboxed command could have planted it).
	FindBwrap(skip []string) (Bwrap, error)
	// TryUserNS creates a user namespace in a child (its uid and gid
	// maps written) and returns why not.
	TryUserNS() error
	// TrySandbox runs bwrap with args and a tiny command: a read-only
	// view of / and whatever args ask (namespaces, /proc, /dev, a
	// seccomp filter read from the descriptor args name, given as
	// filter). It returns bwrap's message when it failed.
	TrySandbox(bwrap string, args []string, filter []byte) (stderr string, err error)
	// TrySeccomp installs a seccomp filter that allows everything in a
	// child and returns why not.
	TrySeccomp() error
	// LandlockABI is the kernel's Landlock ABI version (0: none).
	LandlockABI() int
}

// Bwrap is the bubblewrap polc exec would run.
type Bwrap struct {
	Path    string
	Version string // "bubblewrap 0.8.0", "" when it did not say
	Setuid  bool
}

// ErrNoBwrap is FindBwrap's answer when no bwrap was found.
var ErrNoBwrap = errors.New("bubblewrap (bwrap) not found on PATH nor at /usr/bin/bwrap")

// ErrNotTried is a trial's answer when it could not be tried at all:
// the answer says nothing about the host.
var ErrNotTried = errors.New("not tried")

// ErrNotLinux is a trial's answer on a host that is not Linux.
var ErrNotLinux = fmt.Errorf("%w: not a Linux host", ErrNotTried)

// Fake is a host made of fixed answers, for tests and goldens: Files
// (contents by path; a path with "" content exists and reads empty),
// Env, Root (polc runs as uid 0), Bwrap (nil: not found), and the
// trials' answers.
type Fake struct {
	Files map[string]string
	Env   map[string]string
	Root  bool
	Bwrap *Bwrap
	// UserNSErr is TryUserNS's answer.
	UserNSErr error
	// SandboxStderr and SandboxErr are TrySandbox's answer, whatever
	// it is asked; FilterStderr and FilterErr, when set, answer a trial
	// that loads a seccomp filter instead.
	SandboxStderr string
	SandboxErr    error
	FilterStderr  string
	FilterErr     error
	SeccompErr    error
	Landlock      int
	// Tried records the bwrap argument lists TrySandbox was given.
	Tried [][]string
}

func (f *Fake) ReadFile(name string) ([]byte, error) {
	if s, ok := f.Files[name]; ok {
		return []byte(s), nil
	}
	return nil, fs.ErrNotExist
}

func (f *Fake) Exists(name string) bool {
	if _, ok := f.Files[name]; ok {
		return true
	}
	// A directory exists when a file below it does.
	for k := range f.Files {
		if strings.HasPrefix(k, strings.TrimSuffix(name, "/")+"/") {
			return true
		}
	}
	return false
}

func (f *Fake) Getenv(key string) string { return f.Env[key] }

func (f *Fake) Uid() int {
	if f.Root {
		return 0
	}
	return 1000
}

func (f *Fake) FindBwrap(skip []string) (Bwrap, error) {
	if f.Bwrap == nil {
		return Bwrap{}, ErrNoBwrap
	}
	return *f.Bwrap, nil
}

func (f *Fake) TryUserNS() error { return f.UserNSErr }

func (f *Fake) TrySandbox(bwrap string, args []string, filter []byte) (string, error) {
	f.Tried = append(f.Tried, append([]string(nil), args...))
	if filter != nil && (f.FilterErr != nil || f.FilterStderr != "") {
		return f.FilterStderr, f.FilterErr
	}
	return f.SandboxStderr, f.SandboxErr
}

func (f *Fake) TrySeccomp() error { return f.SeccompErr }

func (f *Fake) LandlockABI() int { return f.Landlock }
