package shim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"

	winplan "polc/backends/windows"
)

var (
	modNetapi32                 = windows.NewLazySystemDLL("netapi32.dll")
	procNetUserAdd              = modNetapi32.NewProc("NetUserAdd")
	procNetUserSetInfo          = modNetapi32.NewProc("NetUserSetInfo")
	procNetLocalGroupAdd        = modNetapi32.NewProc("NetLocalGroupAdd")
	procNetLocalGroupAddMembers = modNetapi32.NewProc("NetLocalGroupAddMembers")
)

const (
	nerrGroupExists     = 2223
	nerrUserExists      = 2224
	errorAliasExists    = 1379
	errorMemberInAlias  = 1378
	userPrivUser        = 1
	ufScript            = 0x0001
	ufDontExpirePasswd  = 0x10000
	setupMarkerVersion  = 1
	secretFileExtension = ".dpapi"
)

type userInfo1 struct {
	Name, Password *uint16
	PasswordAge    uint32
	Priv           uint32
	HomeDir        *uint16
	Comment        *uint16
	Flags          uint32
	ScriptPath     *uint16
}

type localGroupInfo1 struct{ Name, Comment *uint16 }

type localGroupMembersInfo3 struct{ DomainAndName *uint16 }

// setupSteps are the machine-wide steps of the elevated mode (accounts,
// group, firewall): they need an administrator, so they run once and a
// marker records what was set up.
func setupSteps(m *winplan.Mode) []winplan.Step {
	var out []winplan.Step
	for _, s := range m.Steps {
		switch s.Op {
		case winplan.OpGroupEnsure, winplan.OpUserEnsure, winplan.OpFirewallRule:
			out = append(out, s)
		}
	}
	return out
}

func setupDigest(steps []winplan.Step) string {
	raw, _ := json.Marshal(steps)
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

// ensureSetup runs the machine-wide steps unless the marker says they
// are in place and the accounts exist. Without administrator rights it
// fails with the one command that fixes it.
func ensureSetup(m *winplan.Mode) error {
	dir, err := stateDir()
	if err != nil {
		return err
	}
	steps := setupSteps(m)
	marker := filepath.Join(dir, "setup-"+strings.TrimPrefix(m.Identity, "user:")+".json")
	digest := setupDigest(steps)
	if raw, err := os.ReadFile(marker); err == nil {
		var mk struct {
			Version int    `json:"version"`
			Digest  string `json:"digest"`
		}
		if json.Unmarshal(raw, &mk) == nil && mk.Version == setupMarkerVersion && mk.Digest == digest && accountsExist(steps) && secretExists(dir, m) {
			return nil
		}
	}
	if !windows.GetCurrentProcessToken().IsElevated() {
		return fmt.Errorf("the elevated Windows sandbox needs a one-time setup (sandbox account, group, firewall rules): run this polc exec once from an administrator prompt")
	}
	for _, s := range steps {
		var err error
		switch s.Op {
		case winplan.OpGroupEnsure:
			err = ensureGroup(s.Name)
		case winplan.OpUserEnsure:
			err = ensureUser(dir, s)
		case winplan.OpFirewallRule:
			err = ensureFirewallRule(s)
		}
		if err != nil {
			return fmt.Errorf("windows setup, %s %s: %w", s.Op, s.Name, err)
		}
	}
	raw, _ := json.Marshal(map[string]any{"version": setupMarkerVersion, "digest": digest})
	return writeFileAtomic(marker, raw)
}

func accountsExist(steps []winplan.Step) bool {
	for _, s := range steps {
		if s.Op == winplan.OpGroupEnsure || s.Op == winplan.OpUserEnsure {
			if _, _, _, err := windows.LookupSID("", s.Name); err != nil {
				return false
			}
		}
	}
	return true
}

func secretExists(dir string, m *winplan.Mode) bool {
	for _, s := range m.Steps {
		if s.Op == winplan.OpUserEnsure {
			if _, err := os.Stat(filepath.Join(dir, s.Name+secretFileExtension)); err != nil {
				return false
			}
		}
	}
	return true
}

func ensureGroup(name string) error {
	n, _ := windows.UTF16PtrFromString(name)
	c, _ := windows.UTF16PtrFromString("polc sandbox group (managed)")
	info := localGroupInfo1{Name: n, Comment: c}
	r, _, _ := procNetLocalGroupAdd.Call(0, 1, uintptr(unsafe.Pointer(&info)), 0)
	if r != 0 && r != nerrGroupExists && r != errorAliasExists {
		return fmt.Errorf("NetLocalGroupAdd: error %d", r)
	}
	return nil
}

// ensureUser creates the sandbox account (or resets its password), puts
// it in its groups, and stores the password DPAPI-protected for the
// signed-in user.
func ensureUser(dir string, s winplan.Step) error {
	pw, err := randomPassword()
	if err != nil {
		return err
	}
	n, _ := windows.UTF16PtrFromString(s.Name)
	p, _ := windows.UTF16PtrFromString(pw)
	c, _ := windows.UTF16PtrFromString("polc sandbox account (managed)")
	info := userInfo1{Name: n, Password: p, Priv: userPrivUser, Comment: c, Flags: ufScript | ufDontExpirePasswd}
	r, _, _ := procNetUserAdd.Call(0, 1, uintptr(unsafe.Pointer(&info)), 0)
	if r == nerrUserExists {
		set := struct{ Password *uint16 }{p}
		r, _, _ = procNetUserSetInfo.Call(0, uintptr(unsafe.Pointer(n)), 1003, uintptr(unsafe.Pointer(&set)), 0)
	}
	if r != 0 {
		return fmt.Errorf("creating account %s: error %d", s.Name, r)
	}
	for _, g := range s.Members {
		group := winplan.GroupName
		if g == winplan.SIDUsers {
			sid, _ := windows.CreateWellKnownSid(windows.WinBuiltinUsersSid)
			name, _, _, err := sid.LookupAccount("")
			if err != nil {
				return err
			}
			group = name
		}
		gn, _ := windows.UTF16PtrFromString(group)
		mem := localGroupMembersInfo3{DomainAndName: n}
		r, _, _ := procNetLocalGroupAddMembers.Call(0, uintptr(unsafe.Pointer(gn)), 3, uintptr(unsafe.Pointer(&mem)), 1)
		if r != 0 && r != errorMemberInAlias {
			return fmt.Errorf("adding %s to %s: error %d", s.Name, group, r)
		}
	}
	return storeSecret(dir, s.Name, pw)
}

func randomPassword() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "Pc1!" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func storeSecret(dir, name, secret string) error {
	in := windows.DataBlob{Size: uint32(len(secret)), Data: unsafe.SliceData([]byte(secret))}
	var out windows.DataBlob
	if err := windows.CryptProtectData(&in, nil, nil, 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return fmt.Errorf("CryptProtectData: %w", err)
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return writeFileAtomic(filepath.Join(dir, name+secretFileExtension), append([]byte(nil), unsafe.Slice(out.Data, out.Size)...))
}

func loadSecret(name string) (string, error) {
	dir, err := stateDir()
	if err != nil {
		return "", err
	}
	raw, err := os.ReadFile(filepath.Join(dir, name+secretFileExtension))
	if err != nil || len(raw) == 0 {
		return "", fmt.Errorf("the sandbox account's password is missing: run polc exec once from an administrator prompt")
	}
	in := windows.DataBlob{Size: uint32(len(raw)), Data: &raw[0]}
	var out windows.DataBlob
	if err := windows.CryptUnprotectData(&in, nil, nil, 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return "", fmt.Errorf("CryptUnprotectData: %w", err)
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return string(unsafe.Slice(out.Data, out.Size)), nil
}

// ensureFirewallRule (re)creates one named rule scoped to the sandbox
// account with PowerShell's NetSecurity module: x/sys/windows has no
// firewall COM bindings.
func ensureFirewallRule(s winplan.Step) error {
	account := winplan.AccountName(s.SID)
	sid, _, _, err := windows.LookupSID("", account)
	if err != nil {
		return fmt.Errorf("looking up %s: %w", account, err)
	}
	dir := "Outbound"
	if s.Direction == "in" {
		dir = "Inbound"
	}
	args := []string{"-Name", psQuote(s.Name), "-DisplayName", psQuote(s.Name), "-Direction", dir, "-Action", "Block",
		"-Profile", "Any", "-Protocol", psProto(s.Protocol), "-RemoteAddress", psList(s.RemoteAddrs),
		"-LocalUser", psQuote("O:LSD:(A;;CC;;;" + sid.String() + ")")}
	if s.RemotePorts != "" && s.RemotePorts != "*" {
		args = append(args, "-RemotePort", psList(s.RemotePorts))
	}
	script := "$ErrorActionPreference='Stop'; Remove-NetFirewallRule -Name " + psQuote(s.Name) +
		" -ErrorAction SilentlyContinue; New-NetFirewallRule " + strings.Join(args, " ") + " | Out-Null"
	out, err := exec.Command("powershell.exe", "-NoProfile", "-NonInteractive", "-Command", script).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func psList(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = psQuote(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func psProto(p string) string {
	switch p {
	case "tcp":
		return "TCP"
	case "udp":
		return "UDP"
	}
	return "Any"
}
