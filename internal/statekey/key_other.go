//go:build !linux

package statekey

import "errors"

// Key has no keyring to keep the key in outside Linux: polc keeps no
// authenticated state there (its runtimes there use none).
func Key(lockDir string) ([]byte, error) {
	return nil, errors.New("no kernel keyring on this platform")
}
