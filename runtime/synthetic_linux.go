package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"polc/backends/bwrap"
)

// The synthetic registry: bwrap creates, on the host, an empty file or
// directory for every missing path it holds (.codex, .polc, a denied
// path inside a writable mount); polc removes them after the run. A polc
// killed with SIGKILL never gets there, so each launch first records its
// mount points in a registry the sandbox cannot write, and every launch
// sweeps the entries of launches that died. A path is removed only when
// no live launch still holds it (removing a mount point from the host
// detaches the mount inside the other sandbox), only when it is still
// empty, and, for a dead launch's entry, only when it was made within
// syntheticWindow of that launch (an empty directory made later is the
// user's). As the reference does (its registry under $TMPDIR), but kept
// in polc's state directory: $XDG_STATE_HOME/polc/synthetic, else
// ~/.local/state/polc/synthetic.

// syntheticWindow bounds how long after its launch bwrap can have made a
// mount point: its setup runs before the command.
const syntheticWindow = 10 * time.Second

// syntheticEntry is one launch's record.
type syntheticEntry struct {
	Pid int
	// Start is the launch's process start time (/proc/PID/stat field
	// 22), so that a reused pid is not mistaken for it.
	Start   uint64
	Created int64 // unix nanoseconds
	Paths   []string
}

// An entry's file is its fields separated by NUL bytes (no path holds
// one): pid, start, created, then the paths. Not JSON: a launch would
// pay for encoding/json's reflection on every start.
func (e *syntheticEntry) marshal() []byte {
	var b []byte
	b = strconv.AppendInt(b, int64(e.Pid), 10)
	b = append(b, 0)
	b = strconv.AppendUint(b, e.Start, 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, e.Created, 10)
	for _, p := range e.Paths {
		b = append(b, 0)
		b = append(b, p...)
	}
	return b
}

func (e *syntheticEntry) unmarshal(b []byte) error {
	f := strings.Split(string(b), "\x00")
	if len(f) < 3 {
		return fmt.Errorf("short entry")
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	created, err3 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return fmt.Errorf("bad entry")
	}
	*e = syntheticEntry{Pid: pid, Start: start, Created: created}
	for _, p := range f[3:] {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("bad path in entry")
		}
		e.Paths = append(e.Paths, filepath.Clean(p))
	}
	return nil
}

type registry struct {
	dir string
}

// syntheticStateDir is where the registry lives ("" when HOME and
// XDG_STATE_HOME are both unusable).
func syntheticStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "polc", "synthetic")
	}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", "polc", "synthetic")
	}
	return ""
}

// openRegistry opens (creating) the registry, or returns nil when there
// is none this plan's sandbox could not write: entries decide what polc
// deletes.
func openRegistry(dir string, plan *bwrap.HostPlan) *registry {
	if dir == "" || plan.Writable(plan.Resolve(dir)) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR ||
		st.Uid != uint32(os.Geteuid()) || st.Mode&0o022 != 0 {
		return nil // a link, or someone else's: refuse it
	}
	return &registry{dir: dir}
}

// locked runs f holding the registry's lock (launches in parallel read
// and write it); false when the lock cannot be had.
func (r *registry) locked(f func()) bool {
	lock, err := os.OpenFile(filepath.Join(r.dir, "lock"), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return false
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return false
	}
	f()
	return true
}

// entries reads every entry: the live launches' and the dead ones'.
func (r *registry) entries() (live, dead map[string]*syntheticEntry) {
	live, dead = map[string]*syntheticEntry{}, map[string]*syntheticEntry{}
	names, _ := os.ReadDir(r.dir)
	for _, n := range names {
		if !strings.HasSuffix(n.Name(), ".launch") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.dir, n.Name()))
		var e syntheticEntry
		if err != nil || e.unmarshal(b) != nil {
			continue
		}
		if alive(e.Pid, e.Start) {
			live[n.Name()] = &e
		} else {
			dead[n.Name()] = &e
		}
	}
	return live, dead
}

// register sweeps the dead launches' mount points, then records this
// launch's. It returns the entry's name ("" when nothing was recorded)
// and whether the sweep removed anything from the host.
func (r *registry) register(paths []string) (name string, swept bool) {
	live, dead := r.entries()
	held := heldBy(live)
	for n, e := range dead {
		if removeEmpty(e.Paths, held, time.Unix(0, e.Created).Add(syntheticWindow)) > 0 {
			swept = true
		}
		os.Remove(filepath.Join(r.dir, n))
	}
	if len(paths) == 0 {
		return "", swept
	}
	start, ok := processStart(os.Getpid())
	if !ok {
		return "", swept
	}
	e := syntheticEntry{Pid: os.Getpid(), Start: start, Created: time.Now().UnixNano(), Paths: paths}
	b := e.marshal()
	name = fmt.Sprintf("%d-%d.launch", e.Pid, e.Created)
	tmp := filepath.Join(r.dir, "."+name+".tmp")
	if os.WriteFile(tmp, b, 0o600) != nil || os.Rename(tmp, filepath.Join(r.dir, name)) != nil {
		os.Remove(tmp)
		return "", swept
	}
	return name, swept
}

// release removes this launch's mount points that no other live launch
// holds, and its entry.
func (r *registry) release(name string, paths []string) {
	live, _ := r.entries()
	delete(live, name)
	removeEmpty(paths, heldBy(live), time.Time{})
	if name != "" {
		os.Remove(filepath.Join(r.dir, name))
	}
}

func heldBy(live map[string]*syntheticEntry) map[string]bool {
	held := map[string]bool{}
	for _, e := range live {
		for _, p := range e.Paths {
			held[p] = true
		}
	}
	return held
}

// removeEmpty removes, deepest first, the paths that are empty files or
// directories, not held, and (when before is set) changed no later than
// before. It returns how many it removed.
func removeEmpty(paths []string, held map[string]bool, before time.Time) int {
	n := 0
	for i := len(paths) - 1; i >= 0; i-- {
		p := paths[i]
		if held[p] {
			continue
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			continue
		}
		if !before.IsZero() && time.Unix(st.Ctim.Unix()).After(before) {
			continue
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if unix.Rmdir(p) == nil { // fails, harmlessly, on a non-empty directory
				n++
			}
		case unix.S_IFREG:
			if st.Size == 0 && unix.Unlink(p) == nil {
				n++
			}
		}
	}
	return n
}

// processStart is a process's start time in clock ticks since boot.
func processStart(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces and parentheses: count
	// fields after its closing parenthesis; starttime is field 22.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(f[19], 10, 64)
	return n, err == nil
}

func alive(pid int, start uint64) bool {
	s, ok := processStart(pid)
	return ok && s == start
}
