package globwalk

import "unsafe"

// hugePage is the size of a transparent huge page on the platforms that
// have them (x86-64 and arm64 with 4 KiB base pages).
const hugePage = 2 << 20

// largeSlice returns make([]T, n), placed so that its memory can be
// backed by huge pages (adviseHuge): a slice of a few MiB or more starts
// on a huge page boundary (the allocation is padded by one huge page,
// which is never touched) and is advised. Smaller ones are plain.
func largeSlice[T any](n int) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if size == 0 || n < hugePage/size {
		return make([]T, n)
	}
	s := make([]T, n+hugePage/size+1)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	off := int((alignUp(p, hugePage) - p + uintptr(size) - 1) / uintptr(size))
	s = s[off : off+n : off+n]
	adviseHuge(unsafe.Pointer(unsafe.SliceData(s)), n*size)
	return s
}

func alignUp(p, a uintptr) uintptr { return (p + a - 1) &^ (a - 1) }
