package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"

	winplan "polc/backends/windows"
	"polc/diag"
	"polc/ir"
)

// RunnerArg is argv[1] of the elevated runner: polc.exe started as the
// sandbox account, which derives the restricted token from its own token
// and runs the command. It is caught in init, before the CLI is built.
const RunnerArg = "__polc-windows-runner"

func init() {
	if len(os.Args) > 2 && os.Args[1] == RunnerArg {
		os.Exit(runnerMain(os.Args[2]))
	}
}

// Run applies the Windows plan and runs the command under it: verify the
// mode may run, bind the plan to this host (expanding deny globs now),
// set up the sandbox account once (elevated), write the ACEs
// (idempotently), start the command under a write-restricted token in a
// kill-on-close job, and afterwards remove the directories it created.
func Run(l *Launch) (int, error) {
	if len(l.Argv) == 0 {
		return 0, failf(diag.WindowsSandboxSetup, "no command to run")
	}
	plan, err := winplan.Decode(l.Payload)
	if err != nil {
		return 0, failure(diag.WindowsBadPlan, err)
	}
	if plan.Unrestricted {
		return runPlain(l)
	}
	mode := l.WindowsMode
	if mode == "" {
		mode = plan.PreferredMode
	}
	md, err := plan.Mode(mode)
	if err != nil {
		return 0, failure(diag.WindowsBadPlan, err)
	}
	if md.Refused && !md.AllowUnenforceable {
		var why []string
		for _, g := range md.Gaps {
			if g.Refuses {
				why = append(why, fmt.Sprintf("%s [%s]", g.Message, g.Code))
			}
		}
		return 0, failf(diag.WindowsUnenforceable, "windows %s mode refuses this policy: %s", mode, strings.Join(why, "; "))
	}
	env := l.Env
	b, err := plan.Bind(mode, env, winplan.GlobExpand)
	if err != nil {
		return 0, failure(diag.WindowsSandboxSetup, err)
	}
	if l.Stderr != nil {
		for _, g := range b.Gaps {
			if g.Op == "write" {
				fmt.Fprintf(l.Stderr, "polc: warning: %s [%s]\n", g.Message, g.Code)
			}
		}
	}
	// The firewall leaves the proxy's loopback ports open to the sandbox
	// account and nothing else: start the proxy there, before anything
	// on the host changes, for the command's life (the job ends every
	// process of the command before the proxy stops), or do not run.
	var eg *egress
	if plan.Network.Mode == string(ir.NetworkProxy) {
		if eg, err = startEgress(l, plan.Network.Proxy, diag.WindowsProxyStart); err != nil {
			return 0, err
		}
		defer eg.stop()
	}
	if mode == winplan.Elevated {
		// A drive root that lets every user read what it holds would let
		// the sandbox account read folders the policy leaves unreadable:
		// fail closed unless the plan grants read on everything anyway or
		// the user opted in to a weaker sandbox when building it.
		var broad []string
		auditDriveRoots(func(msg string) { broad = append(broad, msg) })
		if len(broad) > 0 && !grantsReadEverywhere(md) {
			if !md.AllowUnenforceable {
				return 0, failf(diag.WindowsUnenforceable, "windows elevated mode cannot confine reads on this host: %s", strings.Join(broad, "; ")).
					WithFix("deny those folders in the profile, or rebuild with --allow-unenforceable")
			}
			for _, msg := range broad {
				fmt.Fprintf(l.Stderr, "polc: warning: %s\n", msg)
			}
		}
		if err := ensureSetup(md); err != nil {
			return 0, failure(diag.WindowsSandboxSetup, err)
		}
	}
	sids, err := resolveSIDs(plan, env)
	if err != nil {
		return 0, failure(diag.WindowsSandboxSetup, err)
	}
	restricting, err := sidList(sids, b.Restricting)
	if err != nil {
		return 0, failure(diag.WindowsSandboxSetup, err)
	}
	created, err := applyACLs(b, sids, scopeKey(env, mode))
	defer removeCreated(created)
	if err != nil {
		return 0, failure(diag.WindowsSandboxSetup, err)
	}
	if err := grantNulDevice(restricting); err != nil {
		return 0, failure(diag.WindowsSandboxSetup, err)
	}
	environ := commandEnv(l.Environ, md)
	if eg != nil {
		environ = eg.env(environ, plan.Network.Proxy, false)
	}
	if mode == winplan.Unelevated {
		code, err := runRestricted(l.Argv, l.Dir, environ, l, restricting)
		if err != nil {
			return 0, failure(diag.WindowsSandboxSetup, err)
		}
		return code, nil
	}
	code, err := runAsSandboxUser(l, md, environ, restricting)
	if err != nil {
		return 0, failure(diag.WindowsSandboxSetup, err)
	}
	return code, nil
}

func scopeKey(env ir.Env, mode string) string {
	return mode + "\x00" + winplan.Key(env.Bindings[ir.VarWorkspaceRoot])
}

// commandEnv adds the mode's env.set values where the caller has none.
func commandEnv(environ []string, md *winplan.Mode) []string {
	have := map[string]bool{}
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		have[strings.ToUpper(k)] = true
	}
	out := append([]string(nil), environ...)
	for _, s := range md.Steps {
		if s.Op != winplan.OpEnvSet {
			continue
		}
		keys := make([]string, 0, len(s.Env))
		for k := range s.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !have[strings.ToUpper(k)] {
				out = append(out, k+"="+s.Env[k])
			}
		}
	}
	return out
}

// runPlain runs an unrestricted profile's command in a kill-on-close job.
func runPlain(l *Launch) (int, error) {
	code, err := runCmd(l.Argv, l.Dir, l.Environ, l, nil)
	if err != nil {
		return 0, failure(diag.WindowsSandboxSetup, err)
	}
	return code, nil
}

// runnerSpec is what the launcher hands the elevated runner.
type runnerSpec struct {
	Argv        []string `json:"argv"`
	Dir         string   `json:"dir"`
	Environ     []string `json:"environ"`
	Restricting []string `json:"restricting"`
}

// runAsSandboxUser starts polc.exe as the sandbox account (its password
// from the DPAPI store), suspended, puts it in a kill-on-close job and
// lets it run the command as the runner.
func runAsSandboxUser(l *Launch, md *winplan.Mode, environ []string, restricting []*windows.SID) (int, error) {
	user := winplan.AccountName(md.Identity)
	pw, err := loadSecret(user)
	if err != nil {
		return 0, err
	}
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	// The spec goes in a private directory the sandbox account may read.
	dir, err := os.MkdirTemp("", "polc-run-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	specFile := filepath.Join(dir, "spec.json")
	raw, _ := json.Marshal(runnerSpec{Argv: l.Argv, Dir: l.Dir, Environ: environ, Restricting: sidStrings(restricting)})
	if err := os.WriteFile(specFile, raw, 0o600); err != nil {
		return 0, err
	}
	usid, _, _, err := windows.LookupSID("", user)
	if err != nil {
		return 0, err
	}
	if err := addACEs(dir, []winplan.ACE{{SID: "runner", Mask: winplan.MaskReadExec, Inherit: true}}, map[string]*windows.SID{"runner": usid}); err != nil {
		return 0, err
	}

	job, err := killOnCloseJob()
	if err != nil {
		return 0, err
	}
	defer windows.CloseHandle(job)
	cmdline := windows.EscapeArg(self) + " " + RunnerArg + " " + windows.EscapeArg(specFile)
	si := windows.StartupInfo{Flags: windows.STARTF_USESTDHANDLES}
	si.Cb = uint32(unsafe.Sizeof(si))
	si.StdInput, si.StdOutput, si.StdErr = stdHandle(l.Stdin, windows.STD_INPUT_HANDLE), stdHandle(l.Stdout, windows.STD_OUTPUT_HANDLE), stdHandle(l.Stderr, windows.STD_ERROR_HANDLE)
	var pi windows.ProcessInformation
	u16 := func(s string) uintptr { p, _ := windows.UTF16PtrFromString(s); return uintptr(unsafe.Pointer(p)) }
	cl, _ := windows.UTF16FromString(cmdline)
	const logonWithProfile = 0x1
	r, _, e := procCreateProcessWithLogonW.Call(u16(user), u16("."), u16(pw), logonWithProfile, u16(self),
		uintptr(unsafe.Pointer(&cl[0])), windows.CREATE_SUSPENDED|windows.CREATE_UNICODE_ENVIRONMENT|windows.CREATE_NO_WINDOW,
		0, u16(l.Dir), uintptr(unsafe.Pointer(&si)), uintptr(unsafe.Pointer(&pi)))
	if r == 0 {
		if e == windows.ERROR_ACCESS_DENIED || e == windows.ERROR_DIRECTORY {
			return 0, fmt.Errorf("CreateProcessWithLogonW as %s: %w: the sandbox account must be able to read %s and enter %s (install polc where BUILTIN\\Users can read it, e.g. under Program Files)", user, e, self, l.Dir)
		}
		return 0, fmt.Errorf("CreateProcessWithLogonW as %s: %w", user, e)
	}
	defer windows.CloseHandle(pi.Process)
	defer windows.CloseHandle(pi.Thread)
	if err := windows.AssignProcessToJobObject(job, pi.Process); err != nil {
		_ = windows.TerminateProcess(pi.Process, 125)
		return 0, fmt.Errorf("putting the runner in its job: %w", err)
	}
	if _, err := windows.ResumeThread(pi.Thread); err != nil {
		_ = windows.TerminateProcess(pi.Process, 125)
		return 0, fmt.Errorf("ResumeThread: %w", err)
	}
	if _, err := windows.WaitForSingleObject(pi.Process, windows.INFINITE); err != nil {
		return 0, err
	}
	var code uint32
	if err := windows.GetExitCodeProcess(pi.Process, &code); err != nil {
		return 0, err
	}
	return int(code), nil
}

// stdHandle is the OS handle behind a Launch stream, or the process's own.
func stdHandle(v any, std uint32) windows.Handle {
	if f, ok := v.(*os.File); ok && f != nil {
		return windows.Handle(f.Fd())
	}
	h, _ := windows.GetStdHandle(std)
	return h
}

// runnerMain is the elevated runner: as the sandbox account, restrict
// its own token and run the command. Its exit status is the command's;
// 125 is the runner's own failure.
func runnerMain(specFile string) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "polc: windows runner: "+format+"\n", args...)
		return 125
	}
	raw, err := os.ReadFile(specFile)
	if err != nil {
		return fail("%v", err)
	}
	var spec runnerSpec
	if err := json.Unmarshal(raw, &spec); err != nil || len(spec.Argv) == 0 {
		return fail("bad spec %s", specFile)
	}
	var restricting []*windows.SID
	for _, s := range spec.Restricting {
		sid, err := windows.StringToSid(s)
		if err != nil {
			return fail("restricting SID %s: %v", s, err)
		}
		restricting = append(restricting, sid)
	}
	// The sandbox account's own profile variables win over the caller's.
	environ := overlayProfile(spec.Environ)
	l := &Launch{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	code, err := runRestricted(spec.Argv, spec.Dir, environ, l, restricting)
	if err != nil {
		return fail("%v", err)
	}
	return code
}

// overlayProfile puts the sandbox account's identity and profile
// variables over the caller's. TEMP and TMP stay the caller's: the
// account's own profile is not writable under the restricted token (its
// SID is not a restricting SID), while the policy's :tmpdir grant is.
func overlayProfile(environ []string) []string {
	own := []string{"USERNAME", "USERPROFILE", "HOMEDRIVE", "HOMEPATH", "APPDATA", "LOCALAPPDATA"}
	out := make([]string, 0, len(environ))
	drop := map[string]bool{}
	for _, k := range own {
		if _, ok := os.LookupEnv(k); ok {
			drop[k] = true
		}
	}
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[strings.ToUpper(k)] {
			out = append(out, kv)
		}
	}
	for _, k := range own {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// runCmd runs argv with an optional token in a kill-on-close job.
func runCmd(argv []string, dir string, environ []string, l *Launch, tok *windows.Token) (int, error) {
	path, err := lookPath(argv[0])
	if err != nil {
		return 0, err
	}
	cmd := newCmd(path, argv, dir, environ, l)
	if tok != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Token: syscall.Token(*tok)}
	}
	return runInJob(cmd)
}

// grantsReadEverywhere reports whether the mode grants the sandbox group
// read on "/" (every drive): then what the drive roots grant adds nothing.
func grantsReadEverywhere(md *winplan.Mode) bool {
	for _, st := range md.Steps {
		if st.Op == winplan.OpACLAllow && st.Path == "/" && st.SID == winplan.SIDSandboxGroup {
			return true
		}
	}
	return false
}
