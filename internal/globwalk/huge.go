package globwalk

import "unsafe"

// hugePage is the size of a transparent huge page on the platforms that
// have them (x86-64 and arm64 with 4 KiB base pages).
const hugePage = 2 << 20

// hugeMin is the smallest slice largeSlice places for huge pages: below
// it the 2 MiB a huge page takes would cost more memory than its first
// touch saves time.
const hugeMin = 512 << 10

// largeSlice returns make([]T, n), placed so that its memory can be
// backed by huge pages (adviseHuge): a slice of hugeMin bytes or more
// starts at the first element past a huge page boundary, in an
// allocation padded so that every huge page it touches is its own, and
// those are advised. The padding is never touched. Smaller slices are
// plain.
func largeSlice[T any](n int) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if size == 0 || n*size < hugeMin {
		return make([]T, n)
	}
	s := make([]T, n+hugePad(size))
	off, adv, advLen := hugePlace(uintptr(unsafe.Pointer(unsafe.SliceData(s))), n, size)
	base := unsafe.Pointer(unsafe.SliceData(s))
	adviseHuge(unsafe.Add(base, adv-uintptr(base)), int(advLen))
	return s[off : off+n : off+n]
}

// hugePad is the padding, in elements of size bytes, that largeSlice
// adds: up to a huge page before the slice, up to one after it.
func hugePad(size int) int { return 2*hugePage/size + 2 }

// hugePlace places n elements of size bytes in an allocation at p of
// n+hugePad(size) of them: the slice starts at element off, the first
// past a huge page boundary, and [adv, adv+advLen) are the huge pages
// it touches, all within the allocation.
func hugePlace(p uintptr, n, size int) (off int, adv, advLen uintptr) {
	adv = alignUp(p, hugePage)
	off = int((adv - p + uintptr(size) - 1) / uintptr(size))
	end := p + uintptr((off+n)*size)
	return off, adv, alignUp(end, hugePage) - adv
}

func alignUp(p, a uintptr) uintptr { return (p + a - 1) &^ (a - 1) }
