package globwalk

import (
	"testing"
	"unsafe"
)

// TestHugePlace: wherever the allocation lands, the slice starts within
// one element of a huge page boundary, and the huge pages advised cover
// the slice, lie within the allocation, and are whole.
func TestHugePlace(t *testing.T) {
	for _, size := range []int{1, 8, 88, 4096, 3 << 20} {
		for _, n := range []int{hugeMin, hugeMin/size + 1, 101112, 5 * hugePage / size} {
			for _, p := range []uintptr{0x7f0000000000, 0x7f0000000008, 0x7f00000fffd0, 0x7f00001ffff8, 0x7f0000123450} {
				off, adv, advLen := hugePlace(p, n, size)
				alloc := uintptr((n + hugePad(size)) * size)
				start, end := p+uintptr(off*size), p+uintptr((off+n)*size)
				switch {
				case adv%hugePage != 0 || advLen%hugePage != 0:
					t.Errorf("size %d n %d p %#x: advised %#x+%#x, not whole huge pages", size, n, p, adv, advLen)
				case start < adv || start >= adv+uintptr(size):
					t.Errorf("size %d n %d p %#x: starts at %#x, huge page at %#x", size, n, p, start, adv)
				case end > adv+advLen:
					t.Errorf("size %d n %d p %#x: ends at %#x past the advice's end %#x", size, n, p, end, adv+advLen)
				case adv < p || adv+advLen > p+alloc:
					t.Errorf("size %d n %d p %#x: advised %#x-%#x outside the allocation %#x-%#x", size, n, p, adv, adv+advLen, p, p+alloc)
				}
			}
		}
	}
}

// TestLargeSlice: the slice has the length and capacity asked for,
// zeroed, large or small.
func TestLargeSlice(t *testing.T) {
	for _, n := range []int{0, 1, hugeMin/88 - 1, hugeMin/88 + 1, 101112} {
		s := largeSlice[node](n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("n %d: len %d cap %d", n, len(s), cap(s))
		}
		for i := range s {
			if s[i].name != "" || s[i].children != nil || s[i].x != nil {
				t.Fatalf("n %d: element %d not zero", n, i)
			}
		}
		if n*int(unsafe.Sizeof(node{})) >= hugeMin && uintptr(unsafe.Pointer(unsafe.SliceData(s)))%hugePage >= unsafe.Sizeof(node{}) {
			t.Errorf("n %d: not at a huge page", n)
		}
	}
}
