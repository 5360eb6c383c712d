package shim

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"polc/backends/bwrap"
	"polc/internal/statekey"
	"polc/ir"
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
//
// The registry decides what polc deletes on the host, so no sandbox may
// write it: every sandbox sees polc's state directory read-only (see
// hostState), and each entry carries an HMAC under the user's state key
// (internal/statekey), because a sandbox that may write an ancestor can
// rename it away and plant a registry of its own. A dead launch's entry
// is swept only when authentic, and only its paths inside the sweeping
// launch's own writable roots (where a mount point of a launch of the
// same kind lies). An entry that is not authentic can only stop polc
// from removing something: a live one still counts as holding its
// paths, and none is ever swept.
//
// The registry also counts holders: the protected names held under the
// shared temporary directories (/tmp/.git while missing, say) are the
// same host path for every launch, so a launch that mounts on a path
// another live launch made registers it too, and the last holder
// removes it.

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
	// key authenticates entries; nil where the keyring is unavailable
	// (entries are then written with an empty MAC and never swept).
	key []byte
}

// registryDomain separates the registry's MACs from the glob cache's.
const registryDomain = "polc synthetic registry"

// seal is an entry's file: its MAC (over the entry's name and body, so
// that an authentic entry cannot be passed off under another name), then
// the body.
func (r *registry) seal(name string, e *syntheticEntry) []byte {
	body := e.marshal()
	mac := make([]byte, statekey.Size)
	if r.key != nil {
		mac = statekey.Sum(r.key, registryDomain, []byte(name), []byte{0}, body)
	}
	return append(mac, body...)
}

// unseal parses an entry's file and reports whether it is authentic.
func (r *registry) unseal(name string, b []byte) (e syntheticEntry, authentic bool, err error) {
	if len(b) < statekey.Size {
		return e, false, fmt.Errorf("short entry")
	}
	mac, body := b[:statekey.Size], b[statekey.Size:]
	if err := e.unmarshal(body); err != nil {
		return e, false, err
	}
	return e, r.key != nil && statekey.Verify(r.key, registryDomain, mac, []byte(name), []byte{0}, body), nil
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
func openRegistry(dir string, plan *bwrap.HostPlan, key []byte) *registry {
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
	return &registry{dir: dir, key: key}
}

// locked runs f holding the registry's lock (launches in parallel read
// and write it); false when the lock cannot be had.
func (r *registry) locked(f func()) bool {
	lock, err := os.OpenFile(filepath.Join(r.dir, "lock"), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return false
	}
	defer lock.Close()
	// Bounded: a sandbox that renamed polc's state directory away could
	// plant a lock of its own and hold it while it runs; a launch then
	// goes on without the registry rather than hang.
	for deadline := time.Now().Add(lockWait); ; time.Sleep(5 * time.Millisecond) {
		err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR || time.Now().After(deadline) {
			return false
		}
	}
	f()
	return true
}

// lockWait bounds how long a launch waits for the registry's lock (held
// by another launch for a few milliseconds at a time).
const lockWait = 3 * time.Second

// entries reads every entry but skip's (the caller's own): the live
// launches' (authentic or not: they only keep paths from being removed),
// the dead ones' that are authentic (to sweep), and the names of the
// rest (dead forgeries, garbage: their files are removed, their paths
// left alone).
func (r *registry) entries(skip string) (live, dead map[string]*syntheticEntry, junk []string) {
	live, dead = map[string]*syntheticEntry{}, map[string]*syntheticEntry{}
	names, _ := os.ReadDir(r.dir)
	for _, n := range names {
		if !strings.HasSuffix(n.Name(), ".launch") || n.Name() == skip {
			continue
		}
		b, err := readEntryFile(filepath.Join(r.dir, n.Name()))
		if err != nil {
			junk = append(junk, n.Name())
			continue
		}
		e, authentic, err := r.unseal(n.Name(), b)
		switch {
		case err != nil:
			junk = append(junk, n.Name())
		case alive(e.Pid, e.Start):
			live[n.Name()] = &e
		case authentic:
			dead[n.Name()] = &e
		default:
			junk = append(junk, n.Name())
		}
	}
	return live, dead, junk
}

// readEntryFile reads an entry without following a link (a planted link
// could point at a fifo or a huge file).
func readEntryFile(p string) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
		return nil, fmt.Errorf("not an entry")
	}
	return io.ReadAll(f)
}

// register sweeps the dead launches' mount points, then records this
// launch's: the plan's Synthetic paths, and the paths it mounts on that
// another live launch holds (a placeholder that launch made and will
// otherwise remove under this one's mount). It returns the entry's name
// ("" when nothing was recorded), the paths recorded, and stale when the
// plan no longer matches the host: the sweep removed something, or a
// path the plan binds from is gone (another launch removed its
// placeholder between this plan and now). A stale plan is not recorded
// unless force is set; the caller plans again.
func (r *registry) register(plan *bwrap.HostPlan, force bool) (name string, paths []string, stale bool) {
	live, dead, junk := r.entries("")
	held := heldBy(live)
	for n, e := range dead {
		inside := withinWritableRoots(plan, e.Paths)
		if removeEmpty(inside, held, time.Unix(0, e.Created).Add(syntheticWindow)) > 0 {
			stale = true
		}
		// The entry goes once nothing it names outside this launch's
		// writable roots is left: a launch that may write there sweeps
		// those later (what is left inside was not a mount point).
		if !existsOutside(e.Paths, inside) {
			os.Remove(filepath.Join(r.dir, n))
		}
	}
	for _, n := range junk {
		os.Remove(filepath.Join(r.dir, n))
	}
	paths = append([]string(nil), plan.Synthetic...)
	mine := map[string]bool{}
	for _, p := range paths {
		mine[p] = true
	}
	for _, e := range plan.Entries {
		if held[e.Path] && !mine[e.Path] {
			mine[e.Path] = true
			paths = append(paths, e.Path)
		}
		if e.Kind == bwrap.KindBlocker && !mine[e.Path] {
			// An empty directory the plan holds (see PlanHost) that is
			// gone now: bwrap makes it again, so it is this launch's.
			if _, err := os.Lstat(e.Path); err != nil {
				mine[e.Path] = true
				paths = append(paths, e.Path)
			}
		}
		if e.Kind == bwrap.KindROBind || e.Kind == bwrap.KindBind {
			if _, err := os.Lstat(e.Path); err != nil {
				stale = true
			}
		}
	}
	if stale && !force {
		return "", nil, true
	}
	if len(paths) == 0 {
		return "", nil, stale
	}
	start, ok := processStart(os.Getpid())
	if !ok {
		return "", nil, stale
	}
	e := syntheticEntry{Pid: os.Getpid(), Start: start, Created: time.Now().UnixNano(), Paths: paths}
	name = fmt.Sprintf("%d-%d.launch", e.Pid, e.Created)
	tmp := filepath.Join(r.dir, "."+name+".tmp")
	if os.WriteFile(tmp, r.seal(name, &e), 0o600) != nil || os.Rename(tmp, filepath.Join(r.dir, name)) != nil {
		os.Remove(tmp)
		return "", nil, stale
	}
	return name, paths, stale
}

// existsOutside reports whether a path of paths not in inside exists.
func existsOutside(paths, inside []string) bool {
	in := map[string]bool{}
	for _, p := range inside {
		in[p] = true
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil && !in[p] {
			return true
		}
	}
	return false
}

// withinWritableRoots keeps the paths strictly inside one of the plan's
// writable mounts: a dead launch's mount points lie inside its own, and
// a launch sweeps only where its own sandbox could have written anyway,
// whatever an entry names.
func withinWritableRoots(plan *bwrap.HostPlan, paths []string) []string {
	var out []string
	for _, p := range paths {
		for _, e := range plan.Entries {
			if e.Kind == bwrap.KindRootRW || e.Kind == bwrap.KindBind && p != e.Path && ir.HasPathPrefix(p, e.Path) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// release removes this launch's mount points that no other live launch
// holds, and its entry.
func (r *registry) release(name string, paths []string) {
	live, _, _ := r.entries(name)
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
	paths = append([]string(nil), paths...)
	sort.SliceStable(paths, func(i, j int) bool { return ir.Depth(paths[i]) > ir.Depth(paths[j]) })
	n := 0
	for _, p := range paths {
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

// maxReplans bounds how often a launch plans again because the host
// changed under it (see register); the last plan is then used as it is,
// and bwrap fails the launch cleanly if a path it binds is gone.
const maxReplans = 4

// holdSynthetic records the plan's mount points in the registry (sweeping
// dead launches' first), planning again while the host changes under the
// plan, and returns the plan to launch and the func that removes its
// mount points after the run. Without a registry the plan's own mount
// points are removed after the run, as before there was one.
func holdSynthetic(st *hostState, plan *bwrap.HostPlan, replan func() (*bwrap.HostPlan, error)) (*bwrap.HostPlan, func(), error) {
	for attempt := 0; ; attempt++ {
		p := plan
		plain := func() { removeSynthetic(p.Synthetic) }
		reg := openRegistry(st.registry, p, st.key)
		if reg == nil {
			return p, plain, nil
		}
		var name string
		var paths []string
		stale := false
		if !reg.locked(func() { name, paths, stale = reg.register(p, attempt >= maxReplans) }) {
			return p, plain, nil
		}
		if !stale || attempt >= maxReplans {
			return p, func() {
				if !reg.locked(func() { reg.release(name, paths) }) {
					plain()
				}
			}, nil
		}
		var err error
		if plan, err = replan(); err != nil {
			return nil, nil, err
		}
	}
}
