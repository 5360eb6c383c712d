//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"polc/internal/conformance"
	"polc/internal/hugetext"
)

// TestOwnCodeOnHugePages: a polc whose executable the page cache holds in
// small folios (a new copy) says so when debugged and leaves a primer
// behind; once that has run, the next polc maps all its code that huge
// pages can map with them. The copy belongs to root and the launches run
// as each test user: priming needs no write access to the executable.
// Through the mask stage too, which is a polc mapping the executable
// while the command runs.
func TestOwnCodeOnHugePages(t *testing.T) {
	conformance.NeedSandbox(t)
	if !hugetext.Supported(runtime.GOARCH) {
		t.Skipf("no primer for %s", runtime.GOARCH)
	}
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(b), "[never]") {
		t.Skip("transparent huge pages are off")
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(polcBin), &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type != unix.EXT4_SUPER_MAGIC && fs.Type != unix.XFS_SUPER_MAGIC {
		t.Skipf("polc's test binary is on a file system (%#x) that may not keep large folios", fs.Type)
	}
	line := regexp.MustCompile(`(?m)^polc: own code: ([0-9.]+) of ([0-9.]+) MiB on huge pages(; primer ([0-9]+) starts when polc exits)?$`)
	for _, u := range conformance.Users(t) {
		for _, stage := range stages {
			t.Run(u.Name+"/"+stage, func(t *testing.T) { ownCodeOnHugePages(t, u, stage, line) })
		}
	}
}

func ownCodeOnHugePages(t *testing.T, u conformance.User, stage string, line *regexp.Regexp) {
	bin := filepath.Join(filepath.Dir(polcBin), "polc-hugetext-"+u.Name+"-"+stage)
	src, err := os.ReadFile(polcBin)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(bin)
	f, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	// In 4 KiB writes, as a build's linker or cp leave it: one
	// large write can fill the page cache with large folios.
	for len(src) > 0 && err == nil {
		n := min(len(src), 4096)
		_, err = f.Write(src[:n])
		src = src[n:]
	}
	if cerr := f.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	t.Cleanup(func() { os.Remove(bin) })
	w := stateWorld(t, u)
	t.Setenv("XDG_CACHE_HOME", "")
	launch := func(when string) []string {
		t.Helper()
		cmd := polcCmd(u, stage, w, "exec", "-P", "strict", "-C", w.Proj, "--", "/bin/true")
		cmd.Path, cmd.Args[0] = bin, bin
		cmd.Env = append(cmd.Env, "POLC_DEBUG_BWRAP=1")
		out, err := cmd.CombinedOutput()
		m := line.FindStringSubmatch(string(out))
		if err != nil || m == nil {
			t.Fatalf("%s: %v; no line on polc's own code in:\n%s", when, err, out)
		}
		return m
	}
	first := launch("first launch")
	if first[1] == first[2] {
		t.Skipf("a new copy of polc is already on huge pages (%s MiB): nothing to show", first[2])
	}
	pid, err := strconv.Atoi(first[4])
	if err != nil {
		t.Fatalf("first launch: %s MiB of %s on huge pages and no primer", first[1], first[2])
	}
	// The primer starts once polc has exited and ends within a few
	// tens of ms; it is no child of the test's to wait for.
	for deadline := time.Now().Add(10 * time.Second); ; {
		b, err := os.ReadFile("/proc/" + first[4] + "/stat")
		if err != nil || strings.Contains(string(b), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("primer %d still runs after 10 s", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	second := launch("second launch")
	if second[1] != second[2] || second[2] != first[2] || second[4] != "" {
		t.Errorf("after the primer: %s of %s MiB on huge pages (primer %q)", second[1], second[2], second[4])
	}
}

// TestHeapOnHugePage: a launch, as each test user and through each
// stage, says its heap started on a huge page (package hugeheap), which
// needs no privilege. The kernel may refuse a collapse for a moment
// (EAGAIN, ENOMEM: pages it could not take just then), so a refusal of
// that kind is retried a few times; any other answer fails.
func TestHeapOnHugePage(t *testing.T) {
	conformance.NeedSandbox(t)
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(b), "[never]") {
		t.Skip("transparent huge pages are off")
	}
	line := regexp.MustCompile(`(?m)^polc: heap: (.*)$`)
	transient := map[string]bool{unix.EAGAIN.Error(): true, unix.ENOMEM.Error(): true}
	for _, u := range conformance.Users(t) {
		for _, stage := range stages {
			t.Run(u.Name+"/"+stage, func(t *testing.T) {
				w := stateWorld(t, u)
				var said []string
				for range 5 {
					cmd := polcCmd(u, stage, w, "exec", "-P", "strict", "-C", w.Proj, "--", "/bin/true")
					cmd.Env = append(cmd.Env, "POLC_DEBUG_BWRAP=1")
					out, err := cmd.CombinedOutput()
					m := line.FindSubmatch(out)
					if err != nil || m == nil {
						t.Fatalf("%v; no line on polc's heap in:\n%s", err, out)
					}
					got := string(m[1])
					if got == "on a huge page" {
						return
					}
					why, _ := strings.CutPrefix(got, "on 4 KiB pages: ")
					if !transient[why] {
						t.Fatalf("polc: heap: %s", got)
					}
					said = append(said, why)
				}
				t.Skipf("the kernel refused every collapse for a moment: %q", said)
			})
		}
	}
}
