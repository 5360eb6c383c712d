package conformance

import (
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// User is an identity a sandbox test runs polc as. Users run polc as
// themselves while CI runs as root, and the two differ where it matters
// (bubblewrap's nested user namespace, what root may write in /proc), so
// every enforcement test runs as both.
type User struct {
	// Name labels subtests: "root", "user" (an unprivileged user), or
	// "self" when the test itself runs unprivileged.
	Name     string
	Uid, Gid int
	// Switch is set when commands must change identity to run as it.
	Switch bool
}

// TestUserEnv names the unprivileged account tests switch to when they
// run as root (.ci/run creates it); without it they use uid and gid
// fallbackUID, which needs no account.
const TestUserEnv = "POLC_TEST_USER"

const fallbackUID = 64123

// Users are the identities an enforcement test runs under: this
// process's own, and, when that is root, an unprivileged one.
func Users(t testing.TB) []User {
	t.Helper()
	if os.Geteuid() != 0 {
		return []User{{Name: "self", Uid: os.Geteuid(), Gid: os.Getegid()}}
	}
	return []User{{Name: "root", Uid: 0, Gid: 0}, Unprivileged(t)}
}

// Unprivileged is the non-root identity tests switch to (only meaningful
// when the test runs as root).
func Unprivileged(t testing.TB) User {
	t.Helper()
	u := User{Name: "user", Uid: fallbackUID, Gid: fallbackUID, Switch: true}
	if name := os.Getenv(TestUserEnv); name != "" {
		acct, err := user.Lookup(name)
		if err != nil {
			t.Fatalf("%s=%s: %v", TestUserEnv, name, err)
		}
		u.Uid, _ = strconv.Atoi(acct.Uid)
		u.Gid, _ = strconv.Atoi(acct.Gid)
	}
	return u
}

// Own gives the user every path below each root (for a world it runs
// in: its project, home and temp directory must be its own).
func (u User) Own(t testing.TB, roots ...string) {
	t.Helper()
	if !u.Switch {
		return
	}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, u.Uid, u.Gid)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
