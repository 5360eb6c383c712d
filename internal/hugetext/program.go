package hugetext

import (
	"encoding/binary"
	"fmt"
)

//go:generate go run polc/internal/asmgen -pkg hugetext -fields size,exe,wait,count,ranges

// image is an assembled primer and the offsets of its param block.
type image struct {
	code                           []byte
	size, exe, wait, count, ranges int
}

// MaxRanges is how many 2 MiB ranges one primer reads again.
const MaxRanges = 16

var images = map[string]*image{"amd64": &amd64Image}

// Supported reports whether there is a primer for goarch.
func Supported(goarch string) bool { return images[goarch] != nil }

// Program returns the primer for goarch (see program_amd64.asm): a
// static executable of a few hundred bytes, for polc to run from a
// memfd with its executable open at descriptor exe and a pipe's read
// end at wait. size is the executable's size, offs the file offsets of
// the 2 MiB ranges to read again (at most MaxRanges).
func Program(goarch string, exe, wait int, size int64, offs []int64) ([]byte, error) {
	im := images[goarch]
	if im == nil {
		return nil, fmt.Errorf("hugetext: no primer for %s", goarch)
	}
	if exe < 0 || wait < 0 || exe == wait || exe > 1<<30 || wait > 1<<30 || size <= 0 || len(offs) > MaxRanges {
		return nil, fmt.Errorf("hugetext: bad primer parameters %d, %d, %d, %d ranges", exe, wait, size, len(offs))
	}
	for _, o := range offs {
		if o < 0 || o%hugeSize != 0 || o+hugeSize > size {
			return nil, fmt.Errorf("hugetext: range at %#x is not a 2 MiB range of the file", o)
		}
	}
	b := append([]byte(nil), im.code...)
	le := binary.LittleEndian
	le.PutUint64(b[im.size:], uint64(size))
	le.PutUint32(b[im.exe:], uint32(exe))
	le.PutUint32(b[im.wait:], uint32(wait))
	le.PutUint32(b[im.count:], uint32(len(offs)))
	for i, o := range offs {
		le.PutUint64(b[im.ranges+8*i:], uint64(o))
	}
	return b, nil
}
