//go:build linux && (amd64 || arm64)

package hugeheap

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestHeapOnHugePage checks what polc's start relies on: after the
// package's init, the heap range it advised is one huge page.
func TestHeapOnHugePage(t *testing.T) {
	tried, e := Result()
	if !tried {
		t.Fatal("init did not try to collapse the heap")
	}
	if err := syscall.Errno(e); e != 0 {
		if err == syscall.EINVAL || err == syscall.EAGAIN || err == syscall.ENOMEM {
			t.Skipf("the kernel did not collapse the heap (%v): no THP or MADV_COLLAPSE here", err)
		}
		t.Fatalf("init did not collapse the heap: %v", err)
	}
	addr := uintptr(unsafe.Pointer(probe))
	kb, err := anonHugeKB(addr)
	if err != nil {
		t.Fatal(err)
	}
	if kb < hugePage>>10 {
		t.Errorf("the mapping holding the heap probe (%#x) has %d kB on huge pages, want at least %d", addr, kb, hugePage>>10)
	}
}

// anonHugeKB is smaps' AnonHugePages of the mapping holding addr.
func anonHugeKB(addr uintptr) (int, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "AnonHugePages:") {
			var kb int
			_, err := fmt.Sscanf(strings.TrimPrefix(line, "AnonHugePages:"), "%d kB", &kb)
			return kb, err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no mapping holds %#x", addr)
}

func TestDisabled(t *testing.T) {
	for _, c := range []struct {
		env  []string
		want bool
	}{
		{nil, false},
		{[]string{"GODEBUG="}, false},
		{[]string{"GODEBUG=disablethp=1"}, true},
		{[]string{"GODEBUG=disablethp=0"}, false},
		{[]string{"GODEBUG=madvdontneed=1,disablethp=1"}, true},
		{[]string{"GODEBUG=disablethp=1,madvdontneed=1"}, true},
		{[]string{"GODEBUG=disablethp=1,disablethp=0"}, false},
		{[]string{"GODEBUG=xdisablethp=1"}, false},
		{[]string{"GODEBUG=disablethp=10"}, false},
		{[]string{"GODEBUG=gctrace=1,,disablethp=1,"}, true},
		{[]string{"XGODEBUG=disablethp=1"}, false},
		{[]string{"HOME=/", "GODEBUG=disablethp=1"}, true},
		// The runtime reads the first GODEBUG, as Getenv does.
		{[]string{"GODEBUG=disablethp=1", "GODEBUG=disablethp=0"}, true},
		{[]string{"GODEBUG=", "GODEBUG=disablethp=1"}, false},
	} {
		if got := disabled(c.env); got != c.want {
			t.Errorf("disabled(%q) = %v, want %v", c.env, got, c.want)
		}
	}
}
