package shim

import (
	"fmt"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Calls x/sys/windows lacks, loaded lazily from the system directory.
var (
	modAdvapi32                 = windows.NewLazySystemDLL("advapi32.dll")
	modNtdll                    = windows.NewLazySystemDLL("ntdll.dll")
	procCreateRestrictedToken   = modAdvapi32.NewProc("CreateRestrictedToken")
	procCreateProcessWithLogonW = modAdvapi32.NewProc("CreateProcessWithLogonW")
	procNtResumeProcess         = modNtdll.NewProc("NtResumeProcess")
)

// CreateRestrictedToken flags.
const (
	disableMaxPrivilege = 0x1
	luaToken            = 0x4
	writeRestricted     = 0x8
)

// restrictedToken derives a write-restricted primary token from base:
// every privilege but SeChangeNotify dropped, the restricting SIDs
// consulted for writes only, and a default DACL naming the token user
// and the capability SIDs (so that pipes and other objects the command
// creates pass both halves of the check).
func restrictedToken(base windows.Token, restricting []*windows.SID) (windows.Token, error) {
	if len(restricting) == 0 {
		return 0, fmt.Errorf("no restricting SIDs: the token would not confine writes")
	}
	attrs := make([]windows.SIDAndAttributes, len(restricting))
	for i, s := range restricting {
		attrs[i] = windows.SIDAndAttributes{Sid: s}
	}
	var tok windows.Token
	r, _, err := procCreateRestrictedToken.Call(uintptr(base), disableMaxPrivilege|luaToken|writeRestricted,
		0, 0, 0, 0, uintptr(len(attrs)), uintptr(unsafe.Pointer(&attrs[0])), uintptr(unsafe.Pointer(&tok)))
	if r == 0 {
		return 0, fmt.Errorf("CreateRestrictedToken: %w", err)
	}
	user, err := base.GetTokenUser()
	if err != nil {
		tok.Close()
		return 0, err
	}
	var entries []windows.EXPLICIT_ACCESS
	for _, s := range append([]*windows.SID{user.User.Sid}, restricting...) {
		entries = append(entries, windows.EXPLICIT_ACCESS{AccessPermissions: windows.GENERIC_ALL, AccessMode: windows.GRANT_ACCESS,
			Trustee: windows.TRUSTEE{TrusteeForm: windows.TRUSTEE_IS_SID, TrusteeValue: windows.TrusteeValueFromSID(s)}})
	}
	acl, err := windows.ACLFromEntries(entries, nil)
	if err != nil {
		tok.Close()
		return 0, err
	}
	dd := struct{ DefaultDacl *windows.ACL }{acl}
	if err := windows.SetTokenInformation(tok, windows.TokenDefaultDacl, (*byte)(unsafe.Pointer(&dd)), uint32(unsafe.Sizeof(dd))); err != nil {
		tok.Close()
		return 0, fmt.Errorf("setting the token's default DACL: %w", err)
	}
	if err := enablePrivilege(tok, "SeChangeNotifyPrivilege"); err != nil {
		tok.Close()
		return 0, err
	}
	return tok, nil
}

func enablePrivilege(tok windows.Token, name string) error {
	var luid windows.LUID
	n, _ := windows.UTF16PtrFromString(name)
	if err := windows.LookupPrivilegeValue(nil, n, &luid); err != nil {
		return err
	}
	tp := windows.Tokenprivileges{PrivilegeCount: 1}
	tp.Privileges[0] = windows.LUIDAndAttributes{Luid: luid, Attributes: windows.SE_PRIVILEGE_ENABLED}
	return windows.AdjustTokenPrivileges(tok, false, &tp, 0, nil, nil)
}

// ownToken opens this process's token with what CreateRestrictedToken
// and CreateProcessAsUser need.
func ownToken() (windows.Token, error) {
	var tok windows.Token
	err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY|windows.TOKEN_ASSIGN_PRIMARY|
		windows.TOKEN_ADJUST_DEFAULT|windows.TOKEN_ADJUST_SESSIONID|windows.TOKEN_ADJUST_PRIVILEGES, &tok)
	return tok, err
}

// killOnCloseJob is a job whose processes all die when its last handle
// closes: nothing the command started outlives the run.
func killOnCloseJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("CreateJobObject: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return 0, fmt.Errorf("SetInformationJobObject: %w", err)
	}
	return job, nil
}

// runInJob starts cmd suspended, puts it in a kill-on-close job before
// it runs a single instruction, resumes it and waits. The job closes on
// return, killing whatever the command left behind.
func runInJob(cmd *exec.Cmd) (int, error) {
	job, err := killOnCloseJob()
	if err != nil {
		return 0, err
	}
	defer windows.CloseHandle(job)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_SUSPENDED
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	ph, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE|windows.PROCESS_SUSPEND_RESUME, false, uint32(cmd.Process.Pid))
	if err == nil {
		err = windows.AssignProcessToJobObject(job, ph)
		if err == nil {
			if r, _, e := procNtResumeProcess.Call(uintptr(ph)); r != 0 {
				err = fmt.Errorf("NtResumeProcess: %v (status %#x)", e, r)
			}
		}
		windows.CloseHandle(ph)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, fmt.Errorf("putting the command in its job: %w", err)
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// runRestricted runs argv under a restricted version of this process's
// own token (the unelevated mode, and the elevated runner).
func runRestricted(argv []string, dir string, environ []string, l *Launch, restricting []*windows.SID) (int, error) {
	base, err := ownToken()
	if err != nil {
		return 0, fmt.Errorf("opening the process token: %w", err)
	}
	defer base.Close()
	tok, err := restrictedToken(base, restricting)
	if err != nil {
		return 0, err
	}
	defer tok.Close()
	return runCmd(argv, dir, environ, l, &tok)
}

func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

func newCmd(path string, argv []string, dir string, environ []string, l *Launch) *exec.Cmd {
	return &exec.Cmd{Path: path, Args: argv, Dir: dir, Env: environ, Stdin: l.Stdin, Stdout: l.Stdout, Stderr: l.Stderr}
}
