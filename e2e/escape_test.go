//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"polc/internal/conformance"
	"polc/internal/maskstage"
	"polc/internal/statekey"

	"golang.org/x/sys/unix"
)

// The attacks in this file are the sandboxed command's: each test runs
// one under both launches (bwrap applies the masks, or polc's mask
// stage does) and as root and an unprivileged user, and requires it to
// fail. docs/security.md lists the guarantees they test.

// manyMasks lays out more deny-glob matches than bwrap applies itself,
// so that polc's own mask stage takes part in the launch.
func manyMasks(t *testing.T, w *conformance.World) {
	t.Helper()
	for i := 0; i < 40; i++ {
		if err := os.WriteFile(filepath.Join(w.Proj, fmt.Sprintf("s%02d.env", i)), []byte("SECRET=1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// eachLaunch runs f for every user and stage, in a fresh seed world the
// user owns; the inner stage's world has more masks than bwrap takes, as
// a launch that chooses polc's mask stage would.
func eachLaunch(t *testing.T, f func(t *testing.T, u conformance.User, stage string, w *conformance.World)) {
	conformance.NeedSandbox(t)
	for _, u := range conformance.Users(t) {
		for _, stage := range stages {
			t.Run(u.Name+"/"+stage, func(t *testing.T) {
				w := seedWorld(t, seedConfig)
				if stage == "inner" {
					manyMasks(t, w)
				}
				u.Own(t, w.Root)
				f(t, u, stage, w)
			})
		}
	}
}

// TestNoPrivilegedProcessWithinReach: the command looks for another
// process in its sandbox it could take over: one whose memory it can
// open for writing (the /proc/N/mem patch that once let a command drive
// polc's pid 1, whose other threads kept CAP_SYS_ADMIN, into unmounting
// every mask) or whose root it can enter (/proc/N/root), and that holds
// a capability, runs without the seccomp filter or sees other mounts
// (the mask stage masks in a mount namespace of its own). polc's mask
// stage is out of reach altogether. The command itself holds nothing:
// no capability in any set, no_new_privs, the filter on, and no
// descriptor beyond its standard streams.
func TestNoPrivilegedProcessWithinReach(t *testing.T) {
	script := `self=$$
for d in /proc/[0-9]*; do
  p=${d#/proc/}
  [ "$p" = "$self" ] && continue
  [ -r "$d/status" ] || continue
  pp=$(sed -n 's/^PPid:[[:space:]]*//p' "$d/status")
  [ "$pp" = "$self" ] && continue
  mem=denied; (exec 3<>"$d/mem") 2>/dev/null && mem=OPEN
  root=denied; ls "$d/root/" >/dev/null 2>&1 && root=OPEN
  caps=$(sed -n 's/^CapEff:[[:space:]]*//p' "$d/status")
  sec=$(sed -n 's/^Seccomp:[[:space:]]*//p' "$d/status")
  ns=$(readlink "$d/ns/mnt" 2>/dev/null) || ns=denied
  [ "$ns" = "$(readlink /proc/self/ns/mnt)" ] && ns=same
  cmd=$(tr '\0' ' ' < "$d/cmdline")
  echo "proc $p mem=$mem root=$root ns=$ns caps=$caps seccomp=$sec cmd=$cmd"
done
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status
`
	eachLaunch(t, func(t *testing.T, u conformance.User, stage string, w *conformance.World) {
		r := polcExecAs(t, u, stage, w, "workspace", script, "/bin/sh", "-s")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if stage == "direct" && !r.direct {
			t.Errorf("not a direct launch")
		}
		procs := 0
		for _, l := range strings.Split(r.stdout, "\n") {
			if !strings.HasPrefix(l, "proc ") {
				continue
			}
			procs++
			reachable := strings.Contains(l, "mem=OPEN") || strings.Contains(l, "root=OPEN")
			if !reachable {
				continue
			}
			if strings.Contains(l, maskstage.Arg) {
				t.Errorf("polc's mask stage is within the command's reach: %s", l)
			}
			// A process the command can take over must give it nothing it
			// does not have: no capability, the filter, the same mounts.
			if !strings.Contains(l, "caps=0000000000000000") || !strings.Contains(l, "seccomp=2") || !strings.Contains(l, "ns=same") {
				t.Errorf("the command can reach a process with capabilities, without the filter or with other mounts: %s", l)
			}
		}
		if procs == 0 {
			t.Errorf("saw no other process (bwrap's pid 1 should be there):\n%s", r.stdout)
		}
		for _, want := range []string{"CapInh:\t0000000000000000", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000",
			"CapBnd:\t0000000000000000", "CapAmb:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("the command: want %q in\n%s", want, r.stdout)
			}
		}
		// ls's own directory descriptor is the fourth.
		if r := polcExecAs(t, u, stage, w, "workspace", "", "/bin/ls", "/proc/self/fd"); r.code != 0 || r.stdout != "0\n1\n2\n3\n" {
			t.Errorf("the command inherited descriptors beyond its standard streams: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// TestRenameDuringLaunchLeaksNothing: while the command's sandbox is set
// up, a concurrent process (another sandbox writing the same project)
// renames the directory holding a secret back and forth, so that the
// glob walk misses it or a mask lands where it no longer is. No launch
// may read the secret: it runs with the masks on the secret wherever it
// now is, or polc refuses (POL120) after planning again.
func TestRenameDuringLaunchLeaksNothing(t *testing.T) {
	eachLaunch(t, func(t *testing.T, u conformance.User, stage string, w *conformance.World) {
		a, b := filepath.Join(w.Proj, "a"), filepath.Join(w.Proj, "b")
		if err := os.MkdirAll(a, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(a, "x.env"), []byte("SECRET=1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		u.Own(t, a)
		stop := make(chan struct{})
		done := make(chan int)
		go func() {
			swaps := 0
			for {
				select {
				case <-stop:
					done <- swaps
					return
				default:
				}
				if os.Rename(a, b) == nil {
					swaps++
				}
				time.Sleep(300 * time.Microsecond)
				if os.Rename(b, a) == nil {
					swaps++
				}
				time.Sleep(300 * time.Microsecond)
			}
		}()
		ran, refused := 0, 0
		for i := 0; i < 30; i++ {
			r := polcExecAs(t, u, stage, w, "workspace", "", "/bin/sh", "-c", "cat a/x.env b/x.env 2>/dev/null; exit 0")
			if strings.Contains(r.stdout, "SECRET") {
				t.Errorf("launch %d read the secret: %q %s", i+1, r.stdout, r.stderr)
			}
			switch r.code {
			case 0:
				ran++
			case 125:
				refused++
			default:
				t.Errorf("launch %d: exit %d: %s", i+1, r.code, r.stderr)
			}
		}
		close(stop)
		swaps := <-done
		t.Logf("%d launches ran, %d refused, %d renames", ran, refused, swaps)
		if swaps == 0 {
			t.Fatal("the renames never happened")
		}
		// A refused launch takes back what bwrap made for a mask whose
		// file had moved away: one directory holds the secret, no other.
		_, errA := os.Stat(a)
		_, errB := os.Stat(b)
		if (errA == nil) == (errB == nil) {
			t.Errorf("a and b both exist (or neither): bwrap's mount targets were left behind (%v, %v)", errA, errB)
		}
	})
}

// TestStateKeyOutOfReach: the key that authenticates polc's glob cache
// and cleanup registry lives in the user's kernel keyring; a sandboxed
// command can neither find and read it nor plant its own (the seccomp
// filter denies the keyring calls), so it cannot forge state the next
// launch trusts.
func TestStateKeyOutOfReach(t *testing.T) {
	attacker := buildAttacker(t)
	eachLaunch(t, func(t *testing.T, u conformance.User, stage string, w *conformance.World) {
		bin := installAttacker(t, attacker, w)
		u.Own(t, bin)
		r := polcExecAs(t, u, stage, w, "workspace", "", bin, "keyring", statekey.Description)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if !strings.HasPrefix(l, "err EPERM ") {
				t.Errorf("the sandbox reached the keyring: %q", l)
			}
		}
		if !u.Switch {
			// The launch made the key the attack is after: it is there.
			if _, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", statekey.Description, 0); err != nil {
				t.Errorf("no state key in the user keyring after a launch (%v): the attack above proves nothing", err)
			}
		}
	})
}

// TestRootWriteProfileRunsAsEveryUser: a profile that writes everywhere
// runs as a normal user too (polc held placeholders for a missing /.git
// and the like, which such a user cannot create, so bwrap failed), and
// /.git stays uncreatable whoever runs it (root: the placeholder).
func TestRootWriteProfileRunsAsEveryUser(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			w := seedWorld(t, "default_permissions = \"all\"\n\n[permissions.all.filesystem]\n\":root\" = \"write\"\n")
			u.Own(t, w.Root)
			if _, err := os.Lstat("/.git"); err == nil {
				t.Skip("this host has a /.git")
			}
			r := polcExecAs(t, u, "", w, "all", "", "/bin/sh", "-c", "echo ran; touch new && echo wrote; mkdir /.git 2>/dev/null && echo PLANTED; exit 0")
			if r.code != 0 || !strings.Contains(r.stdout, "ran\nwrote\n") {
				t.Fatalf("exit %d: %q %s", r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout, "PLANTED") {
				t.Errorf("the command created /.git")
			}
			if _, err := os.Lstat("/.git"); err == nil {
				t.Errorf("/.git left behind")
			}
		})
	}
}
