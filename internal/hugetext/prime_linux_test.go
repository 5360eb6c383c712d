package hugetext

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestClaimBackoff: a primer that did not take is retried after 5 s,
// then 10, 20, ...; another executable's old record goes.
func TestClaimBackoff(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	stale := filepath.Join(dir, "hugetext-fe00-41")
	if err := os.WriteFile(stale, []byte("3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(stale, t0.Add(-2*retryMax), t0.Add(-2*retryMax))
	at := t0
	for i, wait := range []time.Duration{0, retryBase, 2 * retryBase, 4 * retryBase} {
		at = at.Add(wait)
		if wait > 0 {
			if err := claim(dir, 0xfe00, 42, at.Add(-time.Second)); err == nil {
				t.Fatalf("try %d: claimed %v after the last, before %v", i+1, wait-time.Second, wait)
			}
		}
		if err := claim(dir, 0xfe00, 42, at); err != nil {
			t.Fatalf("try %d, %v after the last: %v", i+1, wait, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "hugetext-fe00-2a")); string(b) != "4\n" {
		t.Errorf("record holds %q, not 4 tries", b)
	}
	if _, err := os.Lstat(stale); err == nil {
		t.Error("another executable's old record stayed")
	}
	// Long after, the count starts again.
	if err := claim(dir, 0xfe00, 42, at.Add(retryMax)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "hugetext-fe00-2a")); string(b) != "1\n" {
		t.Errorf("record holds %q after an hour, not 1", b)
	}
}

// TestPrimer runs the primer on a fresh copy of an executable (this
// test's) and checks, by mapping the copy as polc's start does, that its
// 2 MiB ranges come in as huge pages afterwards and did not before.
func TestPrimer(t *testing.T) {
	if !Supported(runtime.GOARCH) {
		t.Skipf("no primer for %s", runtime.GOARCH)
	}
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || thpDisabled(string(b)) {
		t.Skip("transparent huge pages are off")
	}
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type != unix.EXT4_SUPER_MAGIC && fs.Type != unix.XFS_SUPER_MAGIC {
		t.Skipf("%s is on a file system (%#x) that may not keep large folios", dir, fs.Type)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "exe")
	copyFile(t, self, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for o := int64(0); o+hugeSize <= fi.Size() && len(offs) < MaxRanges; o += hugeSize {
		offs = append(offs, o)
	}
	if len(offs) == 0 {
		t.Skipf("%s is smaller than 2 MiB", self)
	}
	want := int64(len(offs)) * hugeSize
	if got := mappedHuge(t, path, fi.Size()); got >= want {
		t.Skipf("a new copy is already in huge folios (%d KiB): nothing to show", got>>10)
	}

	exe, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	p, hold, err := Start(exe, fi.Size(), offs)
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		st, err := p.Wait()
		if err == nil && !st.Success() {
			err = fmt.Errorf("primer: %v", st)
		}
		exited <- err
	}()
	select {
	case err := <-exited:
		t.Fatalf("the primer did not wait for the pipe's end: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	unix.Close(hold)
	if err := <-exited; err != nil {
		t.Fatal(err)
	}
	if got := mappedHuge(t, path, fi.Size()); got < want {
		t.Errorf("after the primer: %d of %d KiB mapped huge", got>>10, want>>10)
	}
}

// copyFile copies in 4 KiB writes, as a build's linker or cp leave a
// file: one large write can fill the page cache with large folios.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	for len(b) > 0 && err == nil {
		n := min(len(b), 4096)
		_, err = dst.Write(b[:n])
		b = b[n:]
	}
	if cerr := dst.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
}

// mappedHuge maps the file at path (size bytes) at a 2 MiB boundary, as
// an executable's text is, faults it in, and returns how much of it the
// kernel mapped with huge pages; it unmaps it again.
func mappedHuge(t *testing.T, path string, size int64) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := unix.Mmap(-1, 0, int(size)+hugeSize, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(res)
	at := unsafe.Pointer(&res[(hugeSize-uintptr(unsafe.Pointer(&res[0]))%hugeSize)%hugeSize])
	if _, err := unix.MmapPtr(int(f.Fd()), 0, at, uintptr(size), unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_FIXED); err != nil {
		t.Fatal(err)
	}
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, uintptr(at), uintptr(size), unix.MADV_POPULATE_READ); e != 0 {
		t.Fatalf("madvise(MADV_POPULATE_READ): %v", e)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseSmaps(strings.NewReader(string(smaps)), unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	if err != nil {
		t.Fatal(err)
	}
	return s.Huge
}
