//go:build !linux

package hugetext

import "errors"

var errLinux = errors.New("huge-page text is Linux's")

// ErrShared is Linux's; Due never returns it elsewhere.
var ErrShared = errors.New("another process maps polc's executable")

// Status is Linux's: elsewhere it says so.
func Status() (State, error) { return State{}, errLinux }

// Due is never true outside Linux.
func Due(string) (State, error) { return State{}, errLinux }

// IsDone reports whether Due's error says there was nothing to do.
func IsDone(error) bool { return false }
