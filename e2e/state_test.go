//go:build linux

package e2e

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"polc/internal/conformance"
)

// stateConfig has a strict profile (the project writable, **/*.env
// denied) and two attackers' profiles: one may write ~/.cache and
// ~/.local, where polc keeps its glob cache and cleanup registry, the
// other all of ~ (so that it can rename ~/.cache, an ancestor of polc's
// read-only directory). Both may write one file of the project and
// nothing else there: a launch that may write the project makes and
// removes mount points in it, which changes its stats, and the forged
// cache must keep them.
const stateConfig = `default_permissions = "strict"

[permissions.strict.filesystem]
":minimal" = "read"
":project_roots" = { "." = "write", "**/*.env" = "none" }

[permissions.attacker.filesystem]
":minimal" = "read"
":project_roots" = { "." = "read", "notes.bin" = "write" }
"~/.cache" = "write"
"~/.local" = "write"

[permissions.home.filesystem]
":minimal" = "read"
":project_roots" = { "." = "read", "notes.bin" = "write" }
"~" = "write"
`

// stateWorld is a world for the state attacks, owned by u, with polc's
// state under its HOME (not the caller's XDG directories).
func stateWorld(t *testing.T, u conformance.User) *conformance.World {
	w := seedWorld(t, stateConfig)
	conformance.MkTree(t, w.Proj, "sub/", "sub/.env", "notes.bin")
	os.WriteFile(filepath.Join(w.Proj, "sub/.env"), []byte("SECRET=1\n"), 0o644)
	os.MkdirAll(filepath.Join(w.Home, ".cache"), 0o755)
	os.MkdirAll(filepath.Join(w.Home, ".local"), 0o755)
	u.Own(t, w.Root)
	return w
}

// execIn is polcExecAs with polc's state under the world's HOME.
func execIn(t *testing.T, u conformance.User, w *conformance.World, profile, stdin string, argv ...string) run {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("XDG_STATE_HOME", "")
	return polcExecAs(t, u, "", w, profile, stdin, argv...)
}

// TestForgedGlobCache: a sandbox whose profile may write ~/.cache forges
// polc's glob cache for the strict profile (the directory stats right,
// the nested .env's match left out) by writing the file, by replacing it
// with a link to a file in the project, and by renaming ~/.cache away
// and planting its own; each time the next two strict launches still
// mask the nested .env.
func TestForgedGlobCache(t *testing.T) {
	conformance.NeedSandbox(t)
	type variant struct{ profile, plant string }
	variants := map[string]variant{
		"write":          {"attacker", `cat > "$F"`},
		"symlink":        {"attacker", `cat > "$P/notes.bin" && ln -sf "$P/notes.bin" "$F.new" && mv -f "$F.new" "$F"`},
		"rename":         {"home", `mv "$HOME/.cache" "$HOME/.cache.moved" && mkdir -p "$(dirname "$F")" && cat > "$F"`},
		"rename+symlink": {"home", `cat > "$P/notes.bin" && mv "$HOME/.cache" "$HOME/.cache.moved" && mkdir -p "$(dirname "$F")" && ln -s "$P/notes.bin" "$F"`},
	}
	for _, u := range conformance.Users(t) {
		for name, v := range variants {
			t.Run(u.Name+"/"+name, func(t *testing.T) {
				w := stateWorld(t, u)
				masked := func(when string) {
					t.Helper()
					r := execIn(t, u, w, "strict", "", "/bin/sh", "-c", "cat sub/.env 2>/dev/null || echo masked")
					if r.code != 0 || r.stdout != "masked\n" {
						t.Fatalf("%s: strict launch: exit %d, stdout %q, stderr %q", when, r.code, r.stdout, r.stderr)
					}
				}
				masked("first launch")
				files, _ := filepath.Glob(filepath.Join(w.Home, ".cache/polc/globs/globwalk-*.cache"))
				if len(files) != 1 {
					t.Fatalf("glob cache files %q, want one", files)
				}
				forged := forgeGlobCache(t, files[0])
				script := "F=" + shellQuote(files[0]) + " P=" + shellQuote(w.Proj) + "; " + v.plant + " && echo planted"
				r := execIn(t, u, w, v.profile, string(forged), "/bin/sh", "-c", script)
				t.Logf("attack: exit %d, %s%s", r.code, r.stdout, r.stderr)
				if v.profile == "home" && r.stdout != "planted\n" {
					// Renaming an ancestor defeats any read-only bind: the
					// attack must really plant its file for the test to
					// show that polc refuses it.
					t.Fatalf("the rename attack did not plant its cache: exit %d %s%s", r.code, r.stdout, r.stderr)
				}
				masked("after the attack")
				masked("the launch after")
			})
		}
	}
}

// forgeGlobCache builds what a sandbox can: a cache file with the
// genuine file's header (format version and key, which it can read) and
// an index and a tree claiming that the scan root, with its current
// stats, holds no match and no subdirectory; in the MAC fields the
// SHA-256 of each part (the sandbox cannot compute a MAC).
func forgeGlobCache(t *testing.T, file string) []byte {
	t.Helper()
	const headerLen = 112 // magic, version, key, index length, two MACs
	good, err := os.ReadFile(file)
	if err != nil || len(good) < headerLen {
		t.Fatalf("reading the genuine cache: %v", err)
	}
	index := good[headerLen:]
	pos := 0
	for range 3 { // the tree's totals
		_, k := binary.Uvarint(index[pos:])
		pos += k
	}
	pos++ // clean
	n, k := binary.Uvarint(index[pos:])
	if n != 1 || k <= 0 {
		t.Fatalf("genuine cache has %d scan roots, the forger handles one", n)
	}
	pos += k
	l, k2 := binary.Uvarint(index[pos:])
	root := string(index[pos+k2 : pos+k2+int(l)])
	var st syscall.Stat_t
	if err := syscall.Stat(root, &st); err != nil {
		t.Fatal(err)
	}
	str := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	node := func(b []byte) []byte {
		b = str(b, filepath.Base(root))
		b = binary.AppendUvarint(b, uint64(st.Dev))
		b = binary.AppendUvarint(b, st.Ino)
		b = binary.AppendVarint(b, st.Mtim.Nano())
		b = binary.AppendVarint(b, st.Ctim.Nano()-st.Mtim.Nano())
		b = append(b, 0)                  // flags: not racy, present
		b = str(b, "")                    // no error
		b = binary.AppendUvarint(b, 0)    // no matches
		return binary.AppendUvarint(b, 0) // no children
	}
	var ni []byte
	for _, total := range []uint64{1, 0, 0} { // one node, no child, no match
		ni = binary.AppendUvarint(ni, total)
	}
	ni = append(ni, 1) // clean
	ni = binary.AppendUvarint(ni, 1)
	ni = str(ni, root)
	ni = append(ni, 1)
	ni = node(ni)
	ni = binary.AppendUvarint(ni, 0) // no directory below
	ni = binary.AppendUvarint(ni, 0) // no match below
	var nt []byte
	nt = binary.AppendUvarint(nt, 1)
	nt = str(nt, root)
	nt = append(nt, 1)
	nt = node(nt)
	out := append([]byte(nil), good[:44]...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(ni)))
	is, ts := sha256.Sum256(ni), sha256.Sum256(nt)
	out = append(append(out, is[:]...), ts[:]...)
	return append(append(out, ni...), nt...)
}

// TestPlantedRegistryEntry: a sandbox whose profile may write ~/.local
// plants, in polc's cleanup registry, an entry of a "dead launch" naming
// an empty file and an empty directory outside the project and an empty
// directory in the project's .git; it writes the registry directly and
// after renaming ~/.local/state away. The next launch deletes nothing.
func TestPlantedRegistryEntry(t *testing.T) {
	conformance.NeedSandbox(t)
	variants := map[string]string{
		"write":  `mkdir -p "$R" && printf "$E" > "$R/1-1.launch"`,
		"rename": `mv "$HOME/.local/state" "$HOME/.local/state.moved" && mkdir -p "$R" && printf "$E" > "$R/1-1.launch"`,
	}
	for _, u := range conformance.Users(t) {
		for name, plant := range variants {
			t.Run(u.Name+"/"+name, func(t *testing.T) {
				w := stateWorld(t, u)
				other := filepath.Join(w.Root, "other")
				victims := []string{filepath.Join(other, "empty-file"), filepath.Join(other, "empty-dir"), filepath.Join(w.Proj, ".git/refs/tags")}
				conformance.MkTree(t, w.Root, "other/empty-file", "other/empty-dir/", "proj/.git/refs/tags/", "proj/.git/HEAD")
				u.Own(t, w.Root)
				// A first launch makes the registry.
				if r := execIn(t, u, w, "strict", "", "/bin/true"); r.code != 0 {
					t.Fatalf("first launch: exit %d %s", r.code, r.stderr)
				}
				reg := filepath.Join(w.Home, ".local/state/polc/synthetic")
				// The entry, as a printf format: a dead pid, start time 1,
				// made now (so that the victims are older than its window
				// ends), the victims; the MAC field is what the sandbox
				// can write: anything.
				entry := fmt.Sprintf("%d\\000%d\\000%d", 1<<22-1, 1, time.Now().Add(time.Minute).UnixNano())
				for _, v := range victims {
					entry += "\\000" + v
				}
				var macs []string
				for _, withMAC := range []bool{false, true} {
					e := entry
					if withMAC {
						e = strings.Repeat("A", 32) + entry
					}
					macs = append(macs, e)
				}
				for i, e := range macs {
					script := "R=" + shellQuote(reg) + " E=" + shellQuote(e) + "; " + plant + " && echo planted"
					r := execIn(t, u, w, "attacker", "", "/bin/sh", "-c", script)
					t.Logf("attack: exit %d, %s%s", r.code, r.stdout, r.stderr)
					if name == "rename" && r.stdout != "planted\n" {
						t.Fatalf("attack %d: the rename attack did not plant its entry: exit %d %s%s", i, r.code, r.stdout, r.stderr)
					}
					if r := execIn(t, u, w, "strict", "", "/bin/true"); r.code != 0 {
						t.Fatalf("next launch: exit %d %s", r.code, r.stderr)
					}
					for _, v := range victims {
						if _, err := os.Lstat(v); err != nil {
							t.Errorf("%s deleted by the next launch after a planted registry entry", v)
						}
					}
					// Put the registry back for the next try.
					if _, err := os.Lstat(filepath.Join(w.Home, ".local/state.moved")); err == nil {
						os.RemoveAll(filepath.Join(w.Home, ".local/state"))
						os.Rename(filepath.Join(w.Home, ".local/state.moved"), filepath.Join(w.Home, ".local/state"))
					}
				}
			})
		}
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
