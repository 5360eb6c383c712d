//go:build !linux

package hostprobe

import "os"

// System is this host. Off Linux it reads files and the environment;
// every trial answers ErrNotLinux.
func System() Probe { return system{} }

type system struct{}

func (system) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

func (system) Exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

func (system) Getenv(key string) string { return os.Getenv(key) }

func (system) Uid() int { return os.Geteuid() }

func (system) FindBwrap([]string) (Bwrap, error) { return Bwrap{}, ErrNoBwrap }

func (system) TryUserNS() error { return ErrNotLinux }

func (system) TrySandbox(string, []string, []byte) (string, error) { return "", ErrNotLinux }

func (system) TrySeccomp() error { return ErrNotLinux }

func (system) LandlockABI() int { return 0 }

// CatchChild does nothing off Linux: no trial starts a child there.
func CatchChild() {}
