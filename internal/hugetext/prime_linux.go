package hugetext

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A primer that did not take is tried again after retryBase, then after
// twice as long each time up to retryMax: a polc starting while the
// primer runs can keep a range in small folios, but where the kernel or
// the file system cannot keep the file in large ones at all, each
// attempt only reads it again.
const (
	retryBase = 5 * time.Second
	retryMax  = time.Hour
)

// status reads how this process maps its executable, and stats it.
func status() (State, *unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return State{}, nil, err
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return State{}, nil, err
	}
	defer f.Close()
	s, err := parseSmaps(f, unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	s.Size = st.Size
	return s, &st, err
}

// Due says whether polc should start the primer for its executable now,
// and returns the executable's State either way: a nil error means it
// should. It should when transparent huge pages are on, some eligible
// range is not mapped huge, no other process maps the executable, and
// no primer ran for it too recently (see retryBase), which dir records
// (polc's cache directory: none, no primer). A due primer is recorded as
// run.
func Due(dir string) (State, error) {
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || thpDisabled(string(b)) {
		return State{}, errors.New("transparent huge pages are off")
	}
	s, st, err := status()
	switch {
	case err != nil:
		return s, err
	case s.Done():
		return s, errDone
	case s.Shared > 0:
		return s, fmt.Errorf("%w (%d KiB)", ErrShared, s.Shared>>10)
	case dir == "":
		// Without a record a host where priming cannot take would run a
		// primer on every launch.
		return s, errors.New("no cache directory to record primers in")
	}
	return s, claim(dir, st.Dev, st.Ino, time.Now())
}

// claim records in dir that a primer runs now for the executable with
// device dev and inode ino, unless the last one for it ran too recently;
// it removes the records of other executables older than retryMax.
func claim(dir string, dev, ino uint64, now time.Time) error {
	name := fmt.Sprintf("hugetext-%x-%x", dev, ino)
	path := filepath.Join(dir, name)
	tries := 0
	if fi, err := os.Lstat(path); err == nil && now.Sub(fi.ModTime()) < retryMax {
		b, _ := os.ReadFile(path)
		tries, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		wait := retryMax
		if tries >= 1 && tries < 20 {
			wait = min(retryBase<<(tries-1), retryMax)
		}
		if ago := now.Sub(fi.ModTime()); ago < wait {
			return fmt.Errorf("%d primers ran, the last %v ago, and polc's code is still on small pages (the file system may not keep large folios); next try in %v", tries, ago.Round(time.Second), (wait - ago).Round(time.Second))
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(tries+1)+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Chtimes(path, now, now); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "hugetext-*"))
	for _, p := range old {
		if fi, err := os.Lstat(p); err == nil && filepath.Base(p) != name && now.Sub(fi.ModTime()) >= retryMax {
			os.Remove(p)
		}
	}
	return nil
}
