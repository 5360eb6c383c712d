package hugetext

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A process like polc: its text from file offset 0 at 0x400000, its
// read-only data right after, its data, an anonymous mapping, and a
// read-only mapping of another file.
const smaps = `00400000-00a63000 r-xp 00000000 fe:00 9986150                            /opt/polc
Size:               6540 kB
Rss:                5260 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
FilePmdMapped:      4096 kB
VmFlags: rd ex mr mw me
00a63000-010c1000 r--p 00663000 fe:00 9986150                            /opt/polc
Rss:                4148 kB
Shared_Clean:         12 kB
Shared_Dirty:          0 kB
FilePmdMapped:         0 kB
VmFlags: rd mr mw me
010c1000-0112e000 rw-p 00cc1000 fe:00 9986150                            /opt/polc
Rss:                 240 kB
Shared_Clean:        100 kB
FilePmdMapped:         0 kB
c000000000-c000400000 rw-p 00000000 00:00 0
Rss:                 800 kB
FilePmdMapped:         0 kB
7f0000000000-7f0000800000 r--p 00000000 fe:00 1234                             /usr/lib/locale/archive
Shared_Clean:       4000 kB
FilePmdMapped:      2048 kB
7f0000800000-7f0000c01000 r--p 00001000 fe:00 9986150                            /opt/polc
Shared_Clean:          0 kB
FilePmdMapped:         0 kB
`

func TestParseSmaps(t *testing.T) {
	got, err := parseSmaps(strings.NewReader(smaps), 0xfe, 0, 9986150)
	if err != nil {
		t.Fatal(err)
	}
	want := State{
		// The text's three whole 2 MiB ranges; the data's two (at file
		// offsets 8 and 10 MiB); not the writable data, nor the last
		// mapping, whose offset does not line up with its address.
		Ranges: []Range{
			{0x400000, 0xa00000, 0},
			{0xc00000, 0x1000000, 0x800000},
		},
		Eligible: 10 << 20,
		Huge:     4 << 20,
		Shared:   12 << 10,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("-want +got:\n%s", d)
	}
	if got.Done() {
		t.Error("4 of 10 MiB on huge pages is not done")
	}
	if d := cmp.Diff([]int64{0, 2 << 20, 4 << 20, 8 << 20, 10 << 20}, got.Offsets(16)); d != "" {
		t.Errorf("offsets -want +got:\n%s", d)
	}
	if d := cmp.Diff([]int64{0, 2 << 20}, got.Offsets(2)); d != "" {
		t.Errorf("offsets, at most 2, -want +got:\n%s", d)
	}
	if got.String() != "4.0 of 10.0 MiB on huge pages" {
		t.Errorf("String() = %q", got.String())
	}

	// Another file (same inode on another device) is not polc.
	other, err := parseSmaps(strings.NewReader(smaps), 0xfe, 1, 9986150)
	if err != nil || other.Eligible != 0 || !other.Done() {
		t.Errorf("another device: %+v, %v", other, err)
	}
	if _, err := parseSmaps(strings.NewReader("zz-00a63000 r-xp 00000000 fe:00 9986150 /opt/polc\n"), 0xfe, 0, 9986150); err == nil {
		t.Error("a bad range parsed")
	}
}

func TestTHPDisabled(t *testing.T) {
	for in, want := range map[string]bool{
		"always [madvise] never\n": false,
		"[always] madvise never\n": false,
		"always madvise [never]\n": true,
	} {
		if got := thpDisabled(in); got != want {
			t.Errorf("thpDisabled(%q) = %v", in, got)
		}
	}
}
