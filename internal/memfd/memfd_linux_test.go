package memfd

import (
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSealedAndRewound: what bwrap and the stage read from a memfd
// is the data given, from its start, and nothing can change it after
// (a write fails, every seal is set); asking for an executable one opens
// no extra descriptor.
func TestSealedAndRewound(t *testing.T) {
	for _, exec := range []bool{false, true} {
		before := openFDs(t)
		f, err := Sealed("polc-test", []byte("payload"), exec)
		if err != nil {
			t.Fatal(err)
		}
		if n := openFDs(t); n != before+1 {
			t.Errorf("exec=%v: %d descriptors open after memfd, want %d", exec, n, before+1)
		}
		got, err := io.ReadAll(f)
		if err != nil || string(got) != "payload" {
			t.Errorf("exec=%v: read %q, %v", exec, got, err)
		}
		if _, err := f.WriteAt([]byte("x"), 0); err == nil {
			t.Errorf("exec=%v: a write to the sealed memfd succeeded", exec)
		}
		seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
		want := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
		if err != nil || seals&want != want {
			t.Errorf("exec=%v: seals %#x (%v), want %#x", exec, seals, err, want)
		}
		f.Close()
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
