//go:build !linux

package hostprobe

// Off Linux every trial answers ErrNotLinux.

func (system) FindBwrap([]string) (Bwrap, error) { return Bwrap{}, ErrNoBwrap }

func (system) TryUserNS() error { return ErrNotLinux }

func (system) TrySandbox(string, []string, []byte) (string, error) { return "", ErrNotLinux }

func (system) TrySeccomp() error { return ErrNotLinux }

func (system) LandlockABI() int { return 0 }

// CatchChild does nothing off Linux: no trial starts a child there.
func CatchChild() {}
