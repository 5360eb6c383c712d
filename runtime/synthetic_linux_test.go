package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeEntry(t *testing.T, dir, name string, e syntheticEntry) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), e.marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRegistrySweepsDeadLaunches: a launch that died leaves its empty
// mount points; the next launch removes them, except those a live
// launch still holds, those with content, and those made long after the
// dead launch (the user's).
func TestRegistrySweepsDeadLaunches(t *testing.T) {
	reg := &registry{dir: t.TempDir()}
	proj := t.TempDir()
	p := func(n string) string { return filepath.Join(proj, n) }
	os.Mkdir(p(".codex"), 0o755)
	os.WriteFile(p("held"), nil, 0o644)
	os.Mkdir(p(".agents"), 0o755)
	os.WriteFile(p(".agents/x"), []byte("x"), 0o644)
	os.Mkdir(p("late"), 0o755)

	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	self, ok := processStart(os.Getpid())
	if !ok {
		t.Fatal("no start time for this process")
	}
	now := time.Now()
	writeEntry(t, reg.dir, "dead.launch", syntheticEntry{Pid: dead.Process.Pid, Start: 1, Created: now.UnixNano(),
		Paths: []string{p(".codex"), p("held"), p(".agents")}})
	writeEntry(t, reg.dir, "old.launch", syntheticEntry{Pid: dead.Process.Pid, Start: 1, Created: now.Add(-time.Hour).UnixNano(),
		Paths: []string{p("late")}})
	writeEntry(t, reg.dir, "live.launch", syntheticEntry{Pid: os.Getpid(), Start: self, Created: now.UnixNano(),
		Paths: []string{p("held")}})

	name, swept := "", false
	if !reg.locked(func() { name, swept = reg.register([]string{p(".polc")}) }) {
		t.Fatal("no lock")
	}
	if !swept {
		t.Error("register removed a dead launch's mount point but did not say so (the plan must be made again)")
	}
	for n, gone := range map[string]bool{".codex": true, "held": false, ".agents": false, "late": false} {
		if _, err := os.Lstat(p(n)); (err != nil) != gone {
			t.Errorf("%s: removed = %v, want %v", n, err != nil, gone)
		}
	}
	for n, there := range map[string]bool{"dead.launch": false, "old.launch": false, "live.launch": true, name: true} {
		if _, err := os.Lstat(filepath.Join(reg.dir, n)); (err == nil) != there {
			t.Errorf("entry %s: present = %v, want %v", n, err == nil, there)
		}
	}

	// Releasing: its own mount point goes, one another live launch
	// holds stays.
	os.Mkdir(p(".polc"), 0o755)
	reg.locked(func() { reg.release(name, []string{p(".polc"), p("held")}) })
	if _, err := os.Lstat(p(".polc")); err == nil {
		t.Error(".polc left behind")
	}
	if _, err := os.Lstat(p("held")); err != nil {
		t.Error("removed a path another live launch holds")
	}
	if _, err := os.Lstat(filepath.Join(reg.dir, name)); err == nil {
		t.Error("own entry left behind")
	}
}

func TestProcessStart(t *testing.T) {
	if s, ok := processStart(os.Getpid()); !ok || s == 0 {
		t.Fatalf("start time %d %v", s, ok)
	}
	if _, ok := processStart(1 << 30); ok {
		t.Fatal("a pid that cannot exist has a start time")
	}
}

func TestEntryRoundTrip(t *testing.T) {
	e := syntheticEntry{Pid: 42, Start: 1234567, Created: 1700000000123456789, Paths: []string{"/p/.codex", "/p/dir with spaces/.polc", "/p/new\nline"}}
	var got syntheticEntry
	if err := got.unmarshal(e.marshal()); err != nil {
		t.Fatal(err)
	}
	if got.Pid != e.Pid || got.Start != e.Start || got.Created != e.Created || strings.Join(got.Paths, "|") != strings.Join(e.Paths, "|") {
		t.Fatalf("round trip: %+v, want %+v", got, e)
	}
	for _, bad := range []string{"", "1\x002", "x\x002\x003", "1\x002\x003\x00relative"} {
		if err := got.unmarshal([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}
