package shim

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"polc/backends/bwrap"
	"polc/internal/statekey"
)

func writeEntry(t *testing.T, reg *registry, name string, e syntheticEntry) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(reg.dir, name), reg.seal(name, &e), 0o600); err != nil {
		t.Fatal(err)
	}
}

var testKey = bytes.Repeat([]byte{9}, statekey.Size)

// writablePlan is a plan whose sandbox may write dir, holding paths.
func writablePlan(dir string, paths ...string) *bwrap.HostPlan {
	return &bwrap.HostPlan{Entries: []bwrap.Entry{{Path: "/", Kind: bwrap.KindRootRO}, {Path: dir, Kind: bwrap.KindBind}}, Synthetic: paths}
}

// TestRegistrySweepsDeadLaunches: a launch that died leaves its empty
// mount points; the next launch removes them, except those a live
// launch still holds, those with content, and those made long after the
// dead launch (the user's).
func TestRegistrySweepsDeadLaunches(t *testing.T) {
	reg := &registry{dir: t.TempDir(), key: testKey}
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
	writeEntry(t, reg, "dead.launch", syntheticEntry{Pid: dead.Process.Pid, Start: 1, Created: now.UnixNano(),
		Paths: []string{p(".codex"), p("held"), p(".agents")}})
	writeEntry(t, reg, "old.launch", syntheticEntry{Pid: dead.Process.Pid, Start: 1, Created: now.Add(-time.Hour).UnixNano(),
		Paths: []string{p("late")}})
	writeEntry(t, reg, "live.launch", syntheticEntry{Pid: os.Getpid(), Start: self, Created: now.UnixNano(),
		Paths: []string{p("held")}})

	name, swept := "", false
	if !reg.locked(func() { name, _, swept = reg.register(writablePlan(proj, p(".polc")), true) }) {
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

// TestRegistryForgedEntries: a sandbox that renamed polc's state
// directory away can write entries naming any path, but not their MAC
// under the user's key: a dead launch's entry that is not authentic, or
// names paths outside the sweeping launch's writable roots, deletes
// nothing; a forged entry's file is dropped.
func TestRegistryForgedEntries(t *testing.T) {
	reg := &registry{dir: t.TempDir(), key: testKey}
	proj, outside := t.TempDir(), t.TempDir()
	victims := []string{filepath.Join(outside, "empty-file"), filepath.Join(outside, "empty-dir"), filepath.Join(proj, ".git", "refs")}
	os.WriteFile(victims[0], nil, 0o644)
	os.Mkdir(victims[1], 0o755)
	os.MkdirAll(victims[2], 0o755)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixNano()
	forger := &registry{dir: reg.dir, key: bytes.Repeat([]byte{1}, statekey.Size)}
	writeEntry(t, forger, "forged.launch", syntheticEntry{Pid: dead.Process.Pid, Start: 1, Created: now, Paths: victims})
	writeEntry(t, &registry{dir: reg.dir}, "unkeyed.launch", syntheticEntry{Pid: dead.Process.Pid, Start: 1, Created: now, Paths: victims})
	// Authentic, but outside this launch's writable roots (proj/.git/refs
	// is inside proj, which this plan does not make writable).
	writeEntry(t, reg, "elsewhere.launch", syntheticEntry{Pid: dead.Process.Pid, Start: 1, Created: now, Paths: victims})
	other := t.TempDir()
	reg.locked(func() { reg.register(writablePlan(other), true) })
	for _, v := range victims {
		if _, err := os.Lstat(v); err != nil {
			t.Errorf("%s deleted by a forged or foreign entry", v)
		}
	}
	// Forgeries go; the authentic entry stays for a launch that may
	// write where its paths lie.
	for n, kept := range map[string]bool{"forged.launch": false, "unkeyed.launch": false, "elsewhere.launch": true} {
		if _, err := os.Lstat(filepath.Join(reg.dir, n)); (err == nil) != kept {
			t.Errorf("entry %s: kept = %v, want %v", n, err == nil, kept)
		}
	}
}

// TestRegistryCountsHolders: a launch that mounts on a placeholder
// another live launch made holds it too; the first launch's release
// leaves it, the last one's removes it. A plan that binds a path that
// vanished since planning is stale.
func TestRegistryCountsHolders(t *testing.T) {
	reg := &registry{dir: t.TempDir(), key: testKey}
	tmp := t.TempDir()
	ph := filepath.Join(tmp, ".git")
	// Launch A (this process) planned while .git was missing.
	var a, b string
	var aPaths, bPaths []string
	reg.locked(func() { a, aPaths, _ = reg.register(writablePlan(tmp, ph), true) })
	os.Mkdir(ph, 0o755) // what A's bwrap makes
	// Launch B planned after: .git exists, it binds it read-only.
	planB := writablePlan(tmp)
	planB.Entries = append(planB.Entries, bwrap.Entry{Path: ph, Kind: bwrap.KindROBind})
	stale := false
	reg.locked(func() { b, bPaths, stale = reg.register(planB, false) })
	if stale || b == "" || len(bPaths) != 1 || bPaths[0] != ph {
		t.Fatalf("B registered %q %q (stale %v), want it to hold %s", b, bPaths, stale, ph)
	}
	reg.locked(func() { reg.release(a, aPaths) })
	if _, err := os.Lstat(ph); err != nil {
		t.Fatal("A removed the placeholder B still holds")
	}
	reg.locked(func() { reg.release(b, bPaths) })
	if _, err := os.Lstat(ph); err == nil {
		t.Fatal("the last holder left the placeholder behind")
	}
	// C planned on the placeholder, which is gone by registration: stale.
	reg.locked(func() { _, _, stale = reg.register(planB, false) })
	if !stale {
		t.Error("a plan binding a vanished placeholder is not stale")
	}
}
