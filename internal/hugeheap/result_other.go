//go:build !linux || !(amd64 || arm64)

package hugeheap

// Result reports that nothing was asked of the kernel: the package acts
// on Linux on amd64 and arm64 only.
func Result() (tried bool, errno uintptr) { return false, 0 }
