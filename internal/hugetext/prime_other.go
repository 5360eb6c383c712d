//go:build !linux

package hugetext

import "errors"

var errLinux = errors.New("huge-page text is Linux's")

// Due is never true outside Linux.
func Due(string) (State, error) { return State{}, errLinux }
