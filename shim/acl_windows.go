package shim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"unsafe"

	"golang.org/x/sys/windows"

	winplan "polc/backends/windows"
)

const inheritedAce = 0x10 // INHERITED_ACE

// applyACLs writes the bound ACL table: it materializes missing paths,
// adds each ACE unless an equal or stronger one is already there
// (idempotent), and revokes the ACEs a previous run of the same workspace
// wrote that are no longer wanted. It returns the directories it created,
// deepest first, for removal after the run.
func applyACLs(b *winplan.Bound, sids map[string]*windows.SID, scope string) (created []string, err error) {
	keys := make([]string, 0, len(b.Nodes))
	for k := range b.Nodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var want []winplan.AppliedACE
	for _, k := range keys {
		n := b.Nodes[k]
		var aces []winplan.ACE
		for _, a := range n.ACEs {
			if !a.Baseline {
				aces = append(aces, a)
			}
		}
		if len(aces) == 0 {
			continue
		}
		for _, target := range hostTargets(n) {
			if n.Materialize {
				if _, err := os.Lstat(target); os.IsNotExist(err) {
					made, err := mkdirAllRecord(target)
					created = append(created, made...)
					if err != nil {
						return created, fmt.Errorf("creating %s to protect it: %w", target, err)
					}
				}
			} else if _, err := os.Lstat(target); err != nil {
				continue // nothing there to protect, and the plan did not ask to create it
			}
			if err := addACEs(target, aces, sids); err != nil {
				return created, err
			}
			for _, a := range aces {
				want = append(want, winplan.AppliedACE{Path: target, SID: sids[a.SID].String(), Deny: a.Deny})
			}
		}
	}
	sort.SliceStable(created, func(i, j int) bool { return len(created[i]) > len(created[j]) })
	return created, reconcile(scope, want)
}

func mkdirAllRecord(p string) ([]string, error) {
	var made []string
	for cur := p; ; cur = filepath.Dir(cur) {
		if _, err := os.Lstat(cur); err == nil || filepath.Dir(cur) == cur {
			break
		}
		made = append(made, cur)
	}
	return made, os.MkdirAll(p, 0o755)
}

// removeCreated removes the directories polc created, if still empty.
func removeCreated(dirs []string) {
	for _, d := range dirs {
		_ = os.Remove(d) // fails, as it should, when the command put something there
	}
}

func addACEs(path string, aces []winplan.ACE, sids map[string]*windows.SID) error {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the ACL of %s: %w", path, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("reading the DACL of %s: %w", path, err)
	}
	wanted := make([]winplan.ACE, 0, len(aces))
	for _, a := range aces {
		sid := sids[a.SID]
		if sid == nil {
			return fmt.Errorf("%s: principal %s has no SID on this machine", path, a.SID)
		}
		a.SID = sid.String()
		wanted = append(wanted, a)
	}
	var entries []windows.EXPLICIT_ACCESS
	for _, a := range winplan.MissingACEs(explicitACEs(dacl), wanted) {
		sid, err := windows.StringToSid(a.SID)
		if err != nil {
			return err
		}
		mode := windows.GRANT_ACCESS
		if a.Deny {
			mode = windows.DENY_ACCESS
		}
		inherit := uint32(windows.NO_INHERITANCE)
		if a.Inherit {
			inherit = windows.SUB_CONTAINERS_AND_OBJECTS_INHERIT
		}
		entries = append(entries, windows.EXPLICIT_ACCESS{AccessPermissions: windows.ACCESS_MASK(a.Mask), AccessMode: windows.ACCESS_MODE(mode),
			Inheritance: inherit, Trustee: windows.TRUSTEE{TrusteeForm: windows.TRUSTEE_IS_SID, TrusteeType: windows.TRUSTEE_IS_UNKNOWN,
				TrusteeValue: windows.TrusteeValueFromSID(sid)}})
	}
	if len(entries) == 0 {
		return nil
	}
	// SetEntriesInAcl keeps the canonical order: denies before allows.
	acl, err := windows.ACLFromEntries(entries, dacl)
	if err != nil {
		return fmt.Errorf("building the ACL of %s: %w", path, err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION, nil, nil, acl, nil); err != nil {
		return fmt.Errorf("writing the ACL of %s: %w", path, err)
	}
	return nil
}

// explicitACEs reads a DACL's explicit allow and deny ACEs, SIDs as
// strings, for winplan.MissingACEs.
func explicitACEs(dacl *windows.ACL) []winplan.ACE {
	if dacl == nil {
		return nil
	}
	var out []winplan.ACE
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if windows.GetAce(dacl, i, &ace) != nil || ace.Header.AceFlags&inheritedAce != 0 {
			continue
		}
		t := ace.Header.AceType
		if t != windows.ACCESS_ALLOWED_ACE_TYPE && t != windows.ACCESS_DENIED_ACE_TYPE {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		out = append(out, winplan.ACE{Deny: t == windows.ACCESS_DENIED_ACE_TYPE, SID: sid.String(), Mask: uint32(ace.Mask),
			Inherit: ace.Header.AceFlags&0x3 == 0x3})
	}
	return out
}

// reconcile revokes the ACEs the last run for this scope wrote that this
// run does not want, then records this run's. Scopes keep concurrent
// runs in other workspaces from revoking each other's denies.
func reconcile(scope string, want []winplan.AppliedACE) error {
	dir, err := stateDir()
	if err != nil {
		return err
	}
	h := sha256.Sum256([]byte(scope))
	file := filepath.Join(dir, "acl-"+hex.EncodeToString(h[:8])+".json")
	var prev []winplan.AppliedACE
	if raw, err := os.ReadFile(file); err == nil {
		if json.Unmarshal(raw, &prev) != nil {
			_ = os.Rename(file, file+".corrupt")
			prev = nil
		}
	}
	for _, a := range winplan.StaleACEs(prev, want) {
		if err := revoke(a.Path, a.SID); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("revoking a stale ACE on %s: %w", a.Path, err)
		}
	}
	raw, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(file, raw)
}

// revoke removes every explicit ACE for sid on path.
func revoke(path, sidStr string) error {
	if _, err := os.Lstat(path); err != nil {
		return err
	}
	sid, err := windows.StringToSid(sidStr)
	if err != nil {
		return err
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	acl, err := windows.ACLFromEntries([]windows.EXPLICIT_ACCESS{{AccessMode: windows.REVOKE_ACCESS,
		Trustee: windows.TRUSTEE{TrusteeForm: windows.TRUSTEE_IS_SID, TrusteeValue: windows.TrusteeValueFromSID(sid)}}}, dacl)
	if err != nil {
		return err
	}
	return windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION, nil, nil, acl, nil)
}

// grantNulDevice lets each capability SID open \\.\NUL: tools write to
// it, and the restricted check would otherwise refuse.
func grantNulDevice(caps []*windows.SID) error {
	sd, err := windows.GetNamedSecurityInfo(`\\.\NUL`, windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the ACL of NUL: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	have := explicitACEs(dacl)
	var entries []windows.EXPLICIT_ACCESS
	for _, c := range caps {
		if len(winplan.MissingACEs(have, []winplan.ACE{{SID: c.String(), Mask: winplan.MaskNulDevice}})) == 0 {
			continue
		}
		entries = append(entries, windows.EXPLICIT_ACCESS{AccessPermissions: windows.ACCESS_MASK(winplan.MaskNulDevice),
			AccessMode: windows.GRANT_ACCESS, Inheritance: windows.NO_INHERITANCE,
			Trustee: windows.TRUSTEE{TrusteeForm: windows.TRUSTEE_IS_SID, TrusteeValue: windows.TrusteeValueFromSID(c)}})
	}
	if len(entries) == 0 {
		return nil
	}
	acl, err := windows.ACLFromEntries(entries, dacl)
	if err != nil {
		return err
	}
	return windows.SetNamedSecurityInfo(`\\.\NUL`, windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION, nil, nil, acl, nil)
}

// auditDriveRoots checks the elevated mode's host assumption (the plan's
// "assumptions"): outside the system directories the sandbox account
// reads only what the plan grants. A drive root that lets BUILTIN\Users,
// Authenticated Users or Everyone read, inheritably, breaks it for every
// folder outside user profiles on that drive (on a default install: C:\
// and its non-profile folders). polc does not rewrite whole drives, so it
// says so, once per drive, on every run.
func auditDriveRoots(warn func(string)) {
	var broad []*windows.SID
	for _, wk := range []windows.WELL_KNOWN_SID_TYPE{windows.WinBuiltinUsersSid, windows.WinAuthenticatedUserSid, windows.WinWorldSid} {
		if s, err := windows.CreateWellKnownSid(wk); err == nil {
			broad = append(broad, s)
		}
	}
	for _, root := range fixedDriveRoots() {
		sd, err := windows.GetNamedSecurityInfo(root, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
		if err != nil {
			continue
		}
		dacl, _, err := sd.DACL()
		if err != nil || dacl == nil {
			continue
		}
		for i := uint32(0); i < uint32(dacl.AceCount); i++ {
			var ace *windows.ACCESS_ALLOWED_ACE
			if windows.GetAce(dacl, i, &ace) != nil || ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
				continue
			}
			if ace.Header.AceFlags&0x2 == 0 || uint32(ace.Mask)&(winplan.FileReadData|windows.GENERIC_READ|windows.GENERIC_ALL) == 0 {
				continue // not inherited by folders, or no read
			}
			sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
			for _, b := range broad {
				if windows.EqualSid(sid, b) {
					name, _, _, _ := b.LookupAccount("")
					warn(fmt.Sprintf("%s lets %s read the folders it inherits to: outside user profiles the elevated sandbox can read them unless the profile denies them", root, name))
					goto next
				}
			}
		}
	next:
	}
}
