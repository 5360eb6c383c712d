package hugetext

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// hugeSize is the size of a huge page mapping a page-cache folio on the
// architectures polc supports (a PMD on amd64 and arm64 with 4 KiB pages).
const hugeSize = 2 << 20

// State says how a process maps its executable's read-only segments.
type State struct {
	// Ranges are the 2 MiB ranges a huge page could map: inside one of
	// the executable's read-only private mappings, with the mapping's
	// address and file offset congruent modulo 2 MiB.
	Ranges []Range
	// Eligible is their total size, Huge the bytes of those mappings
	// the kernel maps with huge pages.
	Eligible, Huge int64
	// Shared is the size of the mappings' pages some other process maps
	// too.
	Shared int64
	// Size is the executable's size.
	Size int64
}

// Range is an address range [Start, End) of the process, which maps the
// executable from file offset Off.
type Range struct {
	Start, End uintptr
	Off        int64
}

// Offsets returns the file offsets of the 2 MiB ranges in s's Ranges, at
// most max of them.
func (s State) Offsets(max int) []int64 {
	var offs []int64
	for _, r := range s.Ranges {
		for a := r.Start; a < r.End && len(offs) < max; a += hugeSize {
			offs = append(offs, r.Off+int64(a-r.Start))
		}
	}
	return offs
}

// Done reports whether every eligible range is mapped huge.
func (s State) Done() bool { return s.Huge >= s.Eligible }

func (s State) String() string {
	return fmt.Sprintf("%.1f of %.1f MiB on huge pages", float64(s.Huge)/(1<<20), float64(s.Eligible)/(1<<20))
}

// parseSmaps reads a /proc/PID/smaps listing and returns the State of
// the mappings of the file with the given device (major, minor) and
// inode.
func parseSmaps(r io.Reader, major, minor uint32, ino uint64) (State, error) {
	var st State
	dev := fmt.Sprintf("%02x:%02x", major, minor)
	sc := bufio.NewScanner(r)
	in := false // inside a mapping of the executable
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = false
			if f[3] != dev || f[4] != strconv.FormatUint(ino, 10) || len(f[1]) != 4 || f[1][1] == 'w' || f[1][3] != 'p' {
				continue
			}
			lo, hi, ok := strings.Cut(f[0], "-")
			if !ok {
				return State{}, fmt.Errorf("smaps: bad range %q", f[0])
			}
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			off, err3 := strconv.ParseUint(f[2], 16, 64)
			if err1 != nil || err2 != nil || err3 != nil || end < start {
				return State{}, fmt.Errorf("smaps: bad mapping %q", line)
			}
			in = true
			if (start-off)%hugeSize != 0 {
				continue // no file folio lines up with a huge page here
			}
			a := (start + hugeSize - 1) &^ (hugeSize - 1)
			b := end &^ (hugeSize - 1)
			if a < b {
				st.Ranges = append(st.Ranges, Range{uintptr(a), uintptr(b), int64(off + a - start)})
				st.Eligible += int64(b - a)
			}
			continue
		}
		if !in || len(f) < 2 {
			continue
		}
		switch f[0] {
		case "FilePmdMapped:", "Shared_Clean:", "Shared_Dirty:":
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return State{}, fmt.Errorf("smaps: bad line %q", line)
			}
			if f[0] == "FilePmdMapped:" {
				st.Huge += kb << 10
			} else {
				st.Shared += kb << 10
			}
		}
	}
	return st, sc.Err()
}

// ErrShared says another process maps the executable: the primer
// could not drop its pages.
var ErrShared = errors.New("another process maps polc's executable")

// errDone: nothing to do.
var errDone = errors.New("already on huge pages")

// IsDone reports whether Due's error says there was nothing to do.
func IsDone(err error) bool { return err == errDone }

// thpDisabled reports whether a /sys/kernel/mm/transparent_hugepage/enabled
// listing says transparent huge pages are off.
func thpDisabled(enabled string) bool {
	return strings.Contains(enabled, "[never]")
}
