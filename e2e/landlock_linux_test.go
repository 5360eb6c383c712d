//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"polc/hostprobe"
	"polc/internal/conformance"
	"polc/shim"
)

// Landlock mode (polc exec --landlock, features.use_legacy_landlock):
// under the real kernel, as root and as an unprivileged user, where
// bubblewrap cannot run (polc inside bwrap --disable-userns) as well as
// here.

func needLandlock(t *testing.T) {
	t.Helper()
	if abi := shim.LandlockABI(); abi < 3 {
		t.Skipf("this kernel's Landlock ABI is %d; these tests need 3", abi)
	}
}

// landlockWorld is hostWorld with a file to read in the project, a
// secret in the home directory, and config.toml in CODEX_HOME.
func landlockWorld(t *testing.T, u conformance.User, config string) (root, proj, home string, env []string) {
	t.Helper()
	root, proj, env = hostWorld(t, u)
	home = filepath.Join(root, "home")
	for name, body := range map[string]string{
		filepath.Join(proj, "a.txt"):                 "project file\n",
		filepath.Join(home, "secret"):                "home secret\n",
		filepath.Join(home, ".codex", "config.toml"): config,
	} {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u.Own(t, root)
	return root, proj, home, env
}

// noUserNS is the outer sandbox in which bubblewrap cannot make its own
// (bwrap --disable-userns), or nil when bubblewrap is not usable here.
func noUserNS(root string) []string {
	if _, err := exec.LookPath("bwrap"); err != nil {
		return nil
	}
	if err := exec.Command("bwrap", "--unshare-user", "--disable-userns", "--ro-bind", "/", "/", "true").Run(); err != nil {
		return nil
	}
	return []string{"bwrap", "--unshare-user", "--disable-userns", "--ro-bind", "/", "/", "--bind", root, root,
		"--proc", "/proc", "--dev", "/dev", "--"}
}

// places are where a Landlock launch runs: here, and inside an outer
// sandbox where bubblewrap cannot (when bubblewrap runs here).
func places(root string) map[string][]string {
	p := map[string][]string{"host": nil}
	if outer := noUserNS(root); outer != nil {
		p["no-userns"] = outer
	}
	return p
}

// writableLandlock reads the system and the project and writes one
// file of it. (A writable directory is never enforceable under Landlock:
// polc holds .git, .codex, ... read-only directly under it, present or
// not, and a Landlock grant covers its whole tree.)
const writableLandlock = `default_permissions = "ll"
[permissions.ll.filesystem]
":minimal" = "read"
[permissions.ll.filesystem.":workspace_roots"]
"." = "read"
"out.log" = "write"
[features]
use_legacy_landlock = true
`

// TestLandlockEnforcesTheProfile: :read-only reads the project and the
// home directory and writes nothing; a profile that reads the project
// and writes one file of it (asked for by the feature) writes that file
// only and reads no home directory; the command's status comes back.
func TestLandlockEnforcesTheProfile(t *testing.T) {
	needLandlock(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			root, proj, home, env := landlockWorld(t, u, writableLandlock)
			for place, outer := range places(root) {
				os.Remove(filepath.Join(proj, "b.txt"))
				out, errs, code := runAs(t, u, env, append(outer, polcBin, "exec", "--landlock", "-P", ":read-only", "-C", proj, "--",
					"sh", "-c", "cat a.txt "+home+"/secret; echo x > b.txt || echo WRITE-REFUSED; echo ok > /dev/null && echo DEVNULL; exit 3")...)
				if code != 3 || out != "project file\nhome secret\nWRITE-REFUSED\nDEVNULL\n" {
					t.Errorf("%s: :read-only: exit %d, stdout %q, stderr %s", place, code, out, errs)
				}
				if _, err := os.Stat(filepath.Join(proj, "b.txt")); err == nil {
					t.Errorf("%s: :read-only wrote b.txt", place)
				}

				os.WriteFile(filepath.Join(proj, "out.log"), nil, 0o666)
				os.Chmod(filepath.Join(proj, "out.log"), 0o666)
				out, errs, code = runAs(t, u, env, append(outer, polcBin, "exec", "-C", proj, "--",
					"sh", "-c", "echo x >> out.log && cat out.log; echo y > new.txt || echo NEW-REFUSED; cat "+home+"/secret || echo HOME-REFUSED; exit 7")...)
				if code != 7 || out != "x\nNEW-REFUSED\nHOME-REFUSED\n" {
					t.Errorf("%s: writable file: exit %d, stdout %q, stderr %s", place, code, out, errs)
				}
				if _, err := os.Stat(filepath.Join(proj, "new.txt")); err == nil {
					t.Errorf("%s: the command created new.txt", place)
				}

				_, errs, code = runAs(t, u, env, append(outer, polcBin, "exec", "--landlock", "-P", ":read-only", "-C", proj, "--", "no-such-command")...)
				if code != 127 {
					t.Errorf("%s: a missing command: exit %d, want 127: %s", place, code, errs)
				}
			}
		})
	}
}

// TestLandlockRefusesWhatItCannotEnforce: a deny under a readable tree,
// and a protected .git under a writable project, are refused by check
// (exit 1) and exec (exit 125, one line), located, and nothing runs.
func TestLandlockRefusesWhatItCannotEnforce(t *testing.T) {
	needLandlock(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			config := "default_permissions = \"p\"\n[permissions.p.filesystem]\n\":root\" = \"read\"\n\"~/secret\" = \"deny\"\n"
			root, proj, home, env := landlockWorld(t, u, config)
			cfg := filepath.Join(home, ".codex", "config.toml")
			// The config lies outside the project (-C): its path stays absolute.
			want := cfg + `:4:1: error: Landlock (asked by --landlock) cannot enforce this exactly: deny rule "~/secret" at ` + cfg +
				`:4:1 denies ` + home + `/secret, which lies under the read rule ":root" at ` + cfg + `:3:1: Landlock grants whole trees and cannot carve ` + home + `/secret out [POL235]`
			out, errs, code := runAs(t, u, env, polcBin, "check", "--landlock", "-C", proj)
			if code != 1 || !strings.Contains(errs, want) {
				t.Errorf("check: exit %d\n%s%s\nwant the line %s", code, out, errs, want)
			}
			for place, outer := range places(root) {
				stdout, stderr, code := runAs(t, u, env, append(outer, polcBin, "exec", "--landlock", "-C", proj, "--",
					"sh", "-c", "echo RAN; touch "+filepath.Join(proj, "ran"))...)
				wantRefused(t, proj, stdout, stderr, code, "refusing to run: "+want+"; fix: run under bubblewrap, or replace the grant above it by grants on the siblings the command needs (keep the narrower rule)")
				if t.Failed() {
					t.Logf("place %s", place)
				}
			}

			// :workspace holds .git read-only under the writable project.
			stdout, stderr, code := runAs(t, u, env, polcBin, "exec", "-P", ":workspace", "-c", "features.use_legacy_landlock=true", "-C", proj, "--",
				"sh", "-c", "echo RAN; touch "+filepath.Join(proj, "ran"))
			if code != 125 || !strings.Contains(stderr, "-c:1:30: error: features.use_legacy_landlock = true cannot enforce profile `:workspace` exactly: ") ||
				!strings.Contains(stderr, "[POL165]") || strings.Contains(stdout, "RAN") {
				t.Errorf(":workspace: exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
}

// TestLandlockNetworkAndHostSockets: with the network off the command
// reaches neither the host's loopback TCP nor a Unix socket of the host
// (path or abstract), which no namespace hides here; socketpairs work.
// With the network on, TCP works and host Unix sockets stay refused.
func TestLandlockNetworkAndHostSockets(t *testing.T) {
	needLandlock(t)
	attacker := buildAttacker(t)
	config := "[permissions.net]\nextends = \":read-only\"\n[permissions.net.network]\nenabled = true\n"
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			root, proj, _, env := landlockWorld(t, u, config)
			bin := filepath.Join(proj, "attacker")
			b, err := os.ReadFile(attacker)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(bin, b, 0o755); err != nil {
				t.Fatal(err)
			}
			u.Own(t, bin)
			var reached atomic.Int32
			serve := func(network, addr string) net.Listener {
				ln, err := net.Listen(network, strings.Replace(addr, "@", "\x00", 1))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ln.Close() })
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						reached.Add(1)
						c.Close()
					}
				}()
				return ln
			}
			sock := filepath.Join(root, "host.sock")
			serve("unix", sock)
			os.Chmod(sock, 0o777)
			abstract := fmt.Sprintf("@polc-e2e-landlock-%08x", rand.Uint32())
			serve("unix", abstract)
			tcp := serve("tcp4", "127.0.0.1:0").Addr().String()

			script := fmt.Sprintf("%s connect %s %s; %s tcp %s; %s pairs", bin, sock, abstract, bin, tcp, bin)
			for place, outer := range places(root) {
				out, errs, code := runAs(t, u, env, append(outer, polcBin, "exec", "--landlock", "-P", ":read-only", "-C", proj, "--", "sh", "-c", script)...)
				want := fmt.Sprintf("err EPERM connect %s\nerr EPERM connect %s\nerr EPERM tcp %s\nok pairs\n", sock, abstract, tcp)
				if code != 0 || out != want {
					t.Errorf("%s: network off: exit %d\ngot:\n%swant:\n%sstderr: %s", place, code, out, want, errs)
				}
				if n := reached.Load(); n != 0 {
					t.Errorf("%s: network off: the host's listeners were reached %d times", place, n)
				}
			}
			out, errs, code := runAs(t, u, env, polcBin, "exec", "--landlock", "-P", "net", "-C", proj, "--", "sh", "-c", script)
			want := fmt.Sprintf("err EPERM connect %s\nerr EPERM connect %s\nok tcp %s\nok pairs\n", sock, abstract, tcp)
			if code != 0 || out != want {
				t.Errorf("network on: exit %d\ngot:\n%swant:\n%sstderr: %s", code, out, want, errs)
			}
		})
	}
}

// TestLandlockDoctor: doctor's Landlock row on this kernel; with
// --landlock the verdict is Landlock's (exit 0 where bubblewrap cannot
// run), and without it the refusal offers --landlock.
func TestLandlockDoctor(t *testing.T) {
	needLandlock(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			root, proj, _, env := landlockWorld(t, u, "")
			for place, outer := range places(root) {
				out, errs, code := runAs(t, u, env, append(outer, polcBin, "doctor", "--landlock", "-P", ":read-only", "-C", proj, "--format", "json")...)
				var r hostprobe.Report
				if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || !r.Enforceable {
					t.Fatalf("%s: doctor --landlock: exit %d %v\n%s%s", place, code, err, out, errs)
				}
				found := false
				for _, row := range r.Rows {
					if row.Name == "landlock" {
						found = true
						want := fmt.Sprintf("ABI %d: :read-only can be enforced exactly under Landlock and seccomp", shim.LandlockABI())
						if row.Status != hostprobe.OK || !strings.HasPrefix(row.Detail, want) {
							t.Errorf("%s: landlock row %+v, want ok: %s", place, row, want)
						}
					}
				}
				if !found {
					t.Errorf("%s: no landlock row: %+v", place, r.Rows)
				}
			}
			if outer := noUserNS(root); outer != nil {
				out, _, code := runAs(t, u, env, append(outer, polcBin, "doctor", "-P", ":read-only", "-C", proj)...)
				if code != 1 || !strings.Contains(out, "or run with polc exec --landlock: Landlock enforces :read-only exactly here") {
					t.Errorf("doctor where bubblewrap cannot run: exit %d, no --landlock offered:\n%s", code, out)
				}
			}
		})
	}
}

// TestLandlockOfferedWhereBwrapCannotRun: inside bwrap --disable-userns
// polc exec -P :read-only fails for the host reason (exit 125, nothing
// runs) and its line offers --landlock, which Landlock enforces exactly;
// :workspace is not offered it.
func TestLandlockOfferedWhereBwrapCannotRun(t *testing.T) {
	needLandlock(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			root, proj, _, env := landlockWorld(t, u, "")
			outer := noUserNS(root)
			if outer == nil {
				t.Skip("bubblewrap cannot run here")
			}
			offer := fmt.Sprintf("; or run polc exec --landlock: Landlock (ABI %d) enforces :read-only exactly here", shim.LandlockABI())
			stdout, stderr, code := runAs(t, u, env, append(outer, polcBin, "exec", "-P", ":read-only", "-C", proj, "--",
				"sh", "-c", "echo RAN; touch "+filepath.Join(proj, "ran"))...)
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if code != 125 || !strings.HasSuffix(lines[len(lines)-1], offer) || !strings.Contains(lines[len(lines)-1], "[POL132]") || strings.Contains(stdout, "RAN") {
				t.Errorf(":read-only: exit %d, want 125 and a last line with POL132 ending %q\n%s%s", code, offer, stdout, stderr)
			}
			_, stderr, code = runAs(t, u, env, append(outer, polcBin, "exec", "-P", ":workspace", "-C", proj, "--", "true")...)
			if code != 125 || strings.Contains(stderr, "--landlock") {
				t.Errorf(":workspace: exit %d, and Landlock, which cannot enforce it, must not be offered:\n%s", code, stderr)
			}
		})
	}
}
