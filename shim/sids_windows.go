package shim

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"

	winplan "polc/backends/windows"
	"polc/ir"
)

// stateDir is polc's per-user state on Windows (capability SIDs, ACL
// records, sandbox account secrets). It lives in the user's private
// profile, which the sandbox accounts cannot read.
func stateDir() (string, error) {
	base, err := os.UserCacheDir() // %LOCALAPPDATA%
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "polc", "windows")
	return dir, os.MkdirAll(dir, 0o700)
}

// capStore maps writable roots (by Windows path key) to their capability
// SIDs. A SID must stay stable across runs: the ACEs written for it are
// persistent. So a damaged store is an error, never regenerated.
type capStore struct {
	Version  int               `json:"version"`
	ReadOnly string            `json:"readonly"`
	Roots    map[string]string `json:"roots"`
}

func loadCapStore(dir string) (*capStore, string, error) {
	file := filepath.Join(dir, "cap_sids.json")
	s := &capStore{Version: 1, Roots: map[string]string{}}
	raw, err := os.ReadFile(file)
	switch {
	case os.IsNotExist(err):
		return s, file, nil
	case err != nil:
		return nil, file, err
	}
	if err := json.Unmarshal(raw, s); err != nil || s.Version != 1 {
		return nil, file, fmt.Errorf("capability SID store %s is damaged; refusing to regenerate it (existing ACEs name its SIDs): move it aside to start over", file)
	}
	if s.Roots == nil {
		s.Roots = map[string]string{}
	}
	return s, file, nil
}

func (s *capStore) save(file string) error {
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(file, raw)
}

func writeFileAtomic(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// newCapSID makes a random S-1-5-21-a-b-c-d SID string, as the
// reference does: it names no account, so only our ACEs mention it.
func newCapSID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("S-1-5-21-%d-%d-%d-%d", binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4:]),
		binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:])), nil
}

// resolveSIDs gives every principal ref of the plan a real SID.
// Accounts that do not exist yet (before the elevated setup) are left
// out; the caller runs the setup and resolves again.
func resolveSIDs(plan *winplan.Plan, env ir.Env) (map[string]*windows.SID, error) {
	dir, err := stateDir()
	if err != nil {
		return nil, err
	}
	store, file, err := loadCapStore(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]*windows.SID{}
	dirty := false
	for _, p := range plan.Principals {
		var sidStr string
		switch p.Kind {
		case "capability":
			if p.Ref == winplan.SIDReadOnlyCap {
				if store.ReadOnly == "" {
					if store.ReadOnly, err = newCapSID(); err != nil {
						return nil, err
					}
					dirty = true
				}
				sidStr = store.ReadOnly
				break
			}
			host, ok := env.Bindings.BindOK(p.Root)
			if !ok {
				return nil, fmt.Errorf("capability root %s: variable not bound", p.Root)
			}
			k := winplan.Key(ir.ResolvePath(host))
			if store.Roots[k] == "" {
				if store.Roots[k], err = newCapSID(); err != nil {
					return nil, err
				}
				dirty = true
			}
			sidStr = store.Roots[k]
		case "well_known":
			sidStr = p.SID
		case "group", "user":
			if p.Ref == winplan.SIDRealUser {
				tu, err := windows.GetCurrentProcessToken().GetTokenUser()
				if err != nil {
					return nil, fmt.Errorf("current user: %w", err)
				}
				out[p.Ref], err = tu.User.Sid.Copy()
				if err != nil {
					return nil, err
				}
				continue
			}
			sid, _, _, err := windows.LookupSID("", p.Name)
			if err != nil {
				continue // not set up yet
			}
			out[p.Ref] = sid
			continue
		default:
			return nil, fmt.Errorf("principal %s: unknown kind %q", p.Ref, p.Kind)
		}
		sid, err := windows.StringToSid(sidStr)
		if err != nil {
			return nil, fmt.Errorf("principal %s: %w", p.Ref, err)
		}
		out[p.Ref] = sid
	}
	for ref, wk := range map[string]windows.WELL_KNOWN_SID_TYPE{
		winplan.SIDEveryone: windows.WinWorldSid, winplan.SIDAuthUsers: windows.WinAuthenticatedUserSid, winplan.SIDUsers: windows.WinBuiltinUsersSid,
	} {
		if out[ref] == nil {
			if sid, err := windows.CreateWellKnownSid(wk); err == nil {
				out[ref] = sid
			}
		}
	}
	if dirty {
		if err := store.save(file); err != nil {
			return nil, fmt.Errorf("saving capability SIDs: %w", err)
		}
	}
	return out, nil
}

// sidList resolves refs, failing on any that has no SID.
func sidList(sids map[string]*windows.SID, refs []string) ([]*windows.SID, error) {
	var out []*windows.SID
	for _, r := range refs {
		s := sids[r]
		if s == nil {
			return nil, fmt.Errorf("principal %s has no SID on this machine", r)
		}
		out = append(out, s)
	}
	return out, nil
}

func sidStrings(l []*windows.SID) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = s.String()
	}
	return out
}

// fixedDriveRoots are the targets of the universal root "/".
func fixedDriveRoots() []string {
	mask, err := windows.GetLogicalDrives()
	if err != nil {
		return nil
	}
	var out []string
	for i := 0; i < 26; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		root := string(rune('A'+i)) + `:\`
		p, _ := windows.UTF16PtrFromString(root)
		if windows.GetDriveType(p) == windows.DRIVE_FIXED {
			out = append(out, root)
		}
	}
	return out
}

func hostTargets(n *winplan.Node) []string {
	if winplan.Key(n.Path) == "/" {
		return fixedDriveRoots()
	}
	if !winplan.IsWindowsPath(n.Path) {
		return nil // a POSIX path (e.g. /tmp): nothing to protect on Windows
	}
	return []string{filepath.FromSlash(strings.ReplaceAll(n.Path, "/", `\`))}
}
