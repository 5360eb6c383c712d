//go:build !linux

package hugeheap

var result error = errNotTried
