package statekey

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Key permissions: the possessor may do everything; the owning uid may
// find and read the key (a polc started from another session of the same
// user, or through su, does not possess the user keyring); nobody else
// may see it.
const keyPerm = 0x3f000000 | // KEY_POS_ALL
	0x00010000 | 0x00020000 | 0x00080000 // KEY_USR_VIEW | KEY_USR_READ | KEY_USR_SEARCH

var (
	once   sync.Once
	cached []byte
	err    error
)

// Key returns the current user's state key, creating it when the user
// keyring has none. lockDir is a directory of polc's state (created if
// missing) where a lock file serialises the creation: add_key replaces
// the payload of an existing key of the same description, so two
// launches racing to create it would otherwise each keep a different
// key and reject each other's state. The result is fetched once per
// process.
func Key(lockDir string) ([]byte, error) {
	once.Do(func() { cached, err = load(lockDir) })
	return cached, err
}

func load(lockDir string) ([]byte, error) {
	if k, err := find(); err == nil || !errors.Is(err, unix.ENOKEY) {
		return k, err
	}
	if lockDir == "" {
		return nil, errors.New("no state directory to create the key under")
	}
	if err := os.MkdirAll(lockDir, 0o700); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(lockDir, "statekey.lock"), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, err
	}
	if k, err := find(); err == nil || !errors.Is(err, unix.ENOKEY) {
		return k, err
	}
	k := make([]byte, Size)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	id, err := unix.AddKey("user", Description, k, unix.KEY_SPEC_USER_KEYRING)
	if err != nil {
		return nil, fmt.Errorf("adding the state key to the user keyring: %w", err)
	}
	if err := unix.KeyctlSetperm(id, keyPerm); err != nil {
		// A key we cannot make readable to our own later launches is no
		// key at all: take it out again.
		unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
		return nil, fmt.Errorf("setting the state key's permissions: %w", err)
	}
	return read(id)
}

// find looks the key up in the user keyring (ENOKEY: there is none).
func find() ([]byte, error) {
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", Description, 0)
	if err != nil {
		if errors.Is(err, unix.ENOKEY) || errors.Is(err, unix.EKEYEXPIRED) || errors.Is(err, unix.EKEYREVOKED) {
			return nil, unix.ENOKEY
		}
		return nil, fmt.Errorf("searching the user keyring: %w", err)
	}
	return read(id)
}

func read(id int) ([]byte, error) {
	buf := make([]byte, Size+1)
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
	if err != nil {
		return nil, fmt.Errorf("reading the state key: %w", err)
	}
	if n != Size {
		return nil, fmt.Errorf("the user keyring's %q key holds %d bytes, want %d", Description, n, Size)
	}
	return buf[:Size], nil
}
