package shim

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"polc/backends/bwrap"
	"polc/internal/globwalk"
)

// The scan-to-mount race: polc plans its masks on the paths it saw, and
// bwrap (or the mask stage) mounts them a few milliseconds later. A
// concurrent process (another sandbox writing the same project) that
// renames a parent in between leaves the mask on a path the secret no
// longer has, and the secret readable at its new one. So every launch
// checks, once the sandbox's mounts are made and before the command
// starts, each path the plan hides (bwrap.HostPlan.Guards):
//   - on the host, the path still holds the file it held when planned
//     (same device and inode): it was not moved away or replaced;
//   - in the sandbox, seen through the setup process's root
//     (/proc/PID/root), the path shows something else: the mask.
// Mounts stick to the directory entries they cover, so once both hold,
// later renames move the masks with the files. A failed check plans and
// launches again, a few times, then refuses (docs/security.md).

// maxLaunchAttempts bounds the plans a launch makes when the tree keeps
// changing under it: three on the tree as it is, and one more because a
// warm launch's first plan trusts the glob cache and is refused when the
// cache is out of date (globwalk.Options.DeferRevalidation).
const maxLaunchAttempts = 4

// raceError is a check that failed because the tree changed: the launch
// is retried. Its message names the path and what happened to it.
type raceError struct{ msg string }

func (e *raceError) Error() string { return e.msg }

func changed(path, why string) *raceError { return &raceError{path + ": " + why} }

// checkPlan checks, once the sandbox's mounts are made, that the walk
// that found the deny globs' matches saw the tree as it is (a walk that
// ran during a rename can have missed one: bwrap.HostPlan.CheckWalk),
// and every guard. The two are independent and run side by side (the
// walk's check is a stat of every directory it saw, on every core; the
// guards, two lstat each, fill the gaps); the walk's failure is the
// one reported when both fail.
func checkPlan(plan *bwrap.HostPlan, root string) error {
	guards := make(chan error, 1)
	go func() { guards <- checkGuards(plan.Guards, root) }()
	err := plan.CheckWalk()
	gerr := <-guards
	if err != nil {
		var ce *globwalk.ChangeError
		if errors.As(err, &ce) {
			return changed(ce.Path, ce.Why)
		}
		return changed("the deny-glob walk", err.Error())
	}
	return gerr
}

// checkGuards checks every guard against the host and the sandbox,
// whose root is the host path root (a /proc/PID/root path).
func checkGuards(guards []bwrap.Guard, root string) error {
	for _, g := range guards {
		var st unix.Stat_t
		if err := unix.Lstat(g.Path, &st); err != nil {
			return changed(g.Path, fmt.Sprintf("gone from the host since it was planned (%v)", err))
		}
		if st.Dev != g.Dev || st.Ino != g.Ino {
			return changed(g.Path, "moved or replaced on the host since it was planned")
		}
		// The plan masks only what the sandbox would show, so the path
		// is reachable there: anything but a view of the mask fails
		// closed, bwrap's layout changing included.
		var in unix.Stat_t
		if err := unix.Lstat(root+g.Path, &in); err != nil {
			return changed(g.Path, fmt.Sprintf("cannot be checked in the sandbox (%v)", err))
		}
		if in.Dev == g.Dev && in.Ino == g.Ino {
			return changed(g.Path, "not covered in the sandbox")
		}
	}
	return nil
}

// removeCreated undoes what bwrap made on the host for a launch that
// failed its check: a file mask whose path was missing when bwrap bound
// it (a concurrent rename moved it away) is created by bwrap, empty,
// with the directories leading to it. Only empty files and directories
// born since the attempt began are removed.
func removeCreated(guards []bwrap.Guard, since time.Time) {
	born := func(p string, dir bool) bool {
		var sx unix.Statx_t
		if unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME|unix.STATX_TYPE|unix.STATX_SIZE, &sx) != nil ||
			sx.Mask&unix.STATX_BTIME == 0 || time.Unix(sx.Btime.Sec, int64(sx.Btime.Nsec)).Before(since) {
			return false
		}
		if dir {
			return sx.Mode&unix.S_IFMT == unix.S_IFDIR
		}
		return sx.Mode&unix.S_IFMT == unix.S_IFREG && sx.Size == 0
	}
	for _, g := range guards {
		var st unix.Stat_t
		if unix.Lstat(g.Path, &st) != nil || (st.Dev == g.Dev && st.Ino == g.Ino) || !born(g.Path, false) {
			continue
		}
		if unix.Unlink(g.Path) != nil {
			continue
		}
		for d := filepath.Dir(g.Path); d != "/" && born(d, true); d = filepath.Dir(d) {
			if unix.Rmdir(d) != nil { // not empty: someone's
				break
			}
		}
	}
}
