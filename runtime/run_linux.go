package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"polc/backends/bwrap"
	"polc/diag"
	"polc/ir"
)

// Run runs l.Argv under the Linux artifact l.Payload with bubblewrap and
// returns the command's exit status. A *Failure means polc itself could
// not run the command (the CLI exits 125).
func Run(l *Launch) (int, error) {
	PrepareSignals()
	art, err := bwrap.Decode(l.Payload)
	if err != nil {
		return 0, failf(diag.LinuxBadArtifact, "%v", err)
	}
	if len(l.Argv) == 0 {
		return 0, &Failure{Msg: "no command to run"}
	}
	dir := l.Dir
	if dir == "" {
		dir, _ = os.Getwd()
	}
	environ := commandEnv(l.Environ, art, dir)
	t0 := time.Now()
	if art.Unrestricted {
		l.ready()
		return runDirect(l, dir, environ)
	}
	state := loadHostState(l.Env)
	planHost := func() (*bwrap.HostPlan, error) {
		plan, err := bwrap.PlanHost(art, l.Env, state.planOptions())
		if err != nil {
			var pe *bwrap.PlanError
			if errors.As(err, &pe) {
				return nil, failf(pe.Code, "%s", pe.Msg)
			}
			return nil, failf(diag.LinuxSandboxSetup, "%v", err)
		}
		return plan, nil
	}
	plan, err := planHost()
	if err != nil {
		return 0, err
	}
	if os.Getenv("POLC_DEBUG_BWRAP") != "" {
		fmt.Fprintf(os.Stderr, "polc: planned in %v (%d masks)\n", time.Since(t0), len(plan.Masks))
	}
	bin, err := FindBwrap(dir, plan)
	if err != nil {
		return 0, err
	}
	// Record the mount points bwrap will make (see synthetic_linux.go);
	// a plan the host changed under (a dead launch's mount point swept,
	// another launch's placeholder gone) is made again.
	plan, release, err := holdSynthetic(state, plan, planHost)
	if err != nil {
		return 0, err
	}
	defer release()
	l.ready()
	chdir, why := directLaunch(plan, l.Argv, dir, environ)
	if why == "" {
		return runBwrapDirect(l, bin, plan, chdir, environ)
	}
	if os.Getenv("POLC_DEBUG_BWRAP") != "" {
		fmt.Fprintf(os.Stderr, "polc: inner stage: %s\n", why)
	}
	return runBwrap(l, bin, plan, dir, environ)
}

func failf(code diag.Code, format string, args ...any) *Failure {
	return &Failure{Msg: fmt.Sprintf(format, args...) + " [" + string(code) + "]"}
}

// commandEnv is the environment the reference gives a sandboxed command:
// the caller's, plus the artifact's variables (CODEX_SANDBOX_NETWORK_DISABLED=1
// without the network) and PWD set to the working directory.
func commandEnv(base []string, art *bwrap.Artifact, dir string) []string {
	if base == nil {
		base = os.Environ()
	}
	set := map[string]string{"PWD": dir}
	for k, v := range art.Env {
		set[k] = v
	}
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; ok {
			continue
		}
		out = append(out, kv)
	}
	for _, k := range sortedKeys(set) {
		out = append(out, k+"="+set[k])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// globCacheDir is where deny-glob expansions are cached between launches:
// $XDG_CACHE_HOME/polc, else ~/.cache/polc. PlanHost ignores it when the
// sandbox could write there.
func globCacheDir(env ir.Env) string {
	if d := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "polc", "globs")
	}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		return filepath.Join(h, ".cache", "polc", "globs")
	}
	return ""
}

// FindBwrap returns the first bwrap on PATH (then /usr/bin/bwrap) that
// the sandbox cannot have planted: not inside the project directory nor
// inside any writable mount of the plan.
func FindBwrap(project string, plan *bwrap.HostPlan) (string, error) {
	var cands []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if filepath.IsAbs(d) {
			cands = append(cands, filepath.Join(d, "bwrap"))
		}
	}
	cands = append(cands, "/usr/bin/bwrap")
	proj := ir.ResolvePath(project)
	for _, c := range cands {
		fi, err := os.Stat(c)
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		real := ir.ResolvePath(c)
		if ir.HasPathPrefix(real, proj) || writableIn(plan, real) {
			continue
		}
		return real, nil
	}
	return "", failf(diag.LinuxNoBwrap, "bubblewrap (bwrap) was not found on PATH outside the project; install it (apt-get install bubblewrap, dnf install bubblewrap)")
}

func writableIn(plan *bwrap.HostPlan, p string) bool {
	for _, e := range plan.Entries {
		if e.Kind == bwrap.KindRootRW {
			return false // everything is writable: the check cannot help; rely on PATH
		}
		if e.Kind == bwrap.KindBind && ir.HasPathPrefix(p, e.Path) {
			return true
		}
	}
	return false
}

// memfd returns a sealed-size, rewound anonymous file holding data.
func memfd(name string, data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func runBwrap(l *Launch, bin string, plan *bwrap.HostPlan, dir string, environ []string) (int, error) {
	art := plan.Artifact
	dirs := []string{dir}
	if real := ir.ResolvePath(dir); real != dir {
		dirs = append(dirs, real)
	}
	spec, err := json.Marshal(innerSpec{Masks: plan.Masks, Seccomp: art.Seccomp, Dirs: dirs, Argv: l.Argv})
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	args := bwrap.NamespaceArgs(art, len(plan.Masks) > 0)
	args = append(args, plan.Args...)
	args = append(args, "--info-fd", fmt.Sprint(fdInfo))
	if os.Getenv("POLC_DEBUG_BWRAP") != "" {
		fmt.Fprintf(os.Stderr, "polc: %s %s\n", bin, strings.Join(args, " "))
		for _, m := range plan.Masks {
			fmt.Fprintf(os.Stderr, "polc: mask %s\n", m.Path)
		}
	}
	var buf bytes.Buffer
	for _, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return 0, failf(diag.LinuxSandboxSetup, "NUL byte in a sandbox argument %q", a)
		}
		buf.WriteString(a)
		buf.WriteByte(0)
	}
	argsFile, err := memfd("polc-bwrap-args", buf.Bytes())
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "creating the argument file: %v", err)
	}
	defer argsFile.Close()
	specFile, err := memfd("polc-inner-spec", spec)
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "creating the plan file: %v", err)
	}
	defer specFile.Close()
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "opening polc's own executable: %v", err)
	}
	defer exe.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	defer statusR.Close()
	infoR, infoW, err := os.Pipe()
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	defer infoR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	defer errR.Close()
	stderr := l.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	stderrFile, closeStderr, err := asFile(stderr)
	if err != nil {
		return 0, failf(diag.LinuxSandboxSetup, "%v", err)
	}
	defer closeStderr()

	// bwrap reads options only from --args; the command must follow on
	// its own command line. The user's argv travels in the inner spec.
	cmd := exec.Command(bin, "--args", fmt.Sprint(fdArgs), "--", fmt.Sprintf("/proc/self/fd/%d", fdExe), InnerArg)
	cmd.Env = environ
	// bwrap starts the sandbox in its own working directory and sets PWD
	// to it: make that -C, as the direct launch's --chdir does.
	cmd.Dir = dir
	cmd.Stdin = l.Stdin
	cmd.Stdout = l.Stdout
	if cmd.Stdin == nil {
		cmd.Stdin = os.Stdin
	}
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stdout
	}
	cmd.Stderr = errW
	cmd.ExtraFiles = []*os.File{argsFile, exe, specFile, statusW, stderrFile, infoW}
	// bwrap gets its own process group, so that a terminal's ^C reaches
	// polc only, which forwards it to the command; and it dies with polc.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	sigs, release := catchSignals()
	defer release()
	if err := cmd.Start(); err != nil {
		statusW.Close()
		infoW.Close()
		errW.Close()
		return 0, failf(diag.LinuxSandboxSetup, "starting %s: %v", bin, err)
	}
	statusW.Close()
	infoW.Close()
	errW.Close()

	// bwrap's own messages: held until the command starts (so a setup
	// failure becomes one line), then passed through.
	var setupErr bytes.Buffer
	var mu sync.Mutex
	started := false
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		r := bufio.NewReader(errR)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				mu.Lock()
				if started {
					io.WriteString(stderr, line)
				} else {
					setupErr.WriteString(line)
				}
				mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	statusCh := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(statusR)
		s := string(b)
		if strings.HasPrefix(s, "ok") {
			mu.Lock()
			started = true
			io.WriteString(stderr, setupErr.String())
			setupErr.Reset()
			mu.Unlock()
		}
		statusCh <- s
	}()
	pidCh := make(chan int, 1)
	go func() {
		var info struct {
			ChildPid int `json:"child-pid"`
		}
		json.NewDecoder(infoR).Decode(&info)
		pidCh <- info.ChildPid
	}()
	waitCh := make(chan error, 1)
	go func() { waitCh <- cmd.Wait() }()
	// Signals go to the inner stage (the sandbox's pid 1), which passes
	// them on to the command; it can take them only once it has said
	// "ok" (its handlers are set before it forks the command; before
	// that, pid 1 would drop them). Earlier ones wait.
	child := 0
	var pending []syscall.Signal
	var werr error
	var status string
	gotStatus := false
	deliver := func() {
		if child <= 0 || !strings.HasPrefix(status, "ok") {
			return
		}
		for _, s := range pending {
			syscall.Kill(child, s)
		}
		pending = nil
	}
loop:
	for {
		select {
		case pid := <-pidCh:
			child = pid
			deliver()
		case status = <-statusCh:
			gotStatus = true
			deliver()
		case s := <-sigs:
			pending = append(pending, s.(syscall.Signal))
			deliver()
		case werr = <-waitCh:
			break loop
		}
	}
	if !gotStatus {
		status = <-statusCh
	}
	<-errDone
	if !strings.HasPrefix(status, "ok") {
		if msg, ok := strings.CutPrefix(strings.TrimSpace(status), "err "); ok {
			return 0, failf(diag.LinuxSandboxSetup, "%s", msg)
		}
		return 0, setupFailure(setupErr.String(), werr)
	}
	code := 0
	if werr != nil {
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			return 0, failf(diag.LinuxSandboxSetup, "waiting for bwrap: %v", werr)
		}
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		} else {
			code = ws.ExitStatus()
		}
	}
	return code, nil
}

// setupFailure turns bwrap's complaint into one line, with the fix for
// the usual one: user namespaces disabled.
func setupFailure(stderr string, werr error) error {
	msg := strings.TrimSpace(stderr)
	if i := strings.LastIndex(msg, "\n"); i >= 0 {
		msg = strings.TrimSpace(msg[i+1:])
	}
	for _, s := range []string{"No permissions to create new namespace", "setting up uid map: Permission denied",
		"Creating new namespace failed", "unprivileged_userns_clone", "loopback: Failed RTM_NEWADDR",
		"loopback: Failed RTM_NEWLINK", "user namespace"} {
		if strings.Contains(stderr, s) {
			return failf(diag.LinuxNoUserNS, "bubblewrap cannot create the sandbox's namespaces (%s); enable unprivileged user namespaces: sysctl -w kernel.unprivileged_userns_clone=1 and user.max_user_namespaces=15000, or on Ubuntu 24.04+ sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or give bwrap an AppArmor profile)", msg)
		}
	}
	if msg == "" {
		msg = fmt.Sprintf("bwrap exited before the command started (%v)", werr)
	}
	return failf(diag.LinuxSandboxSetup, "sandbox setup failed: %s", msg)
}

// asFile returns w as an *os.File for a child's descriptor table, through
// a pipe when it is not one.
func asFile(w io.Writer) (*os.File, func(), error) {
	if f, ok := w.(*os.File); ok {
		return f, func() {}, nil
	}
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() { io.Copy(w, r); r.Close(); close(done) }()
	return pw, func() { pw.Close(); <-done }, nil
}

// removeSynthetic removes the mount points bwrap left on the host for
// missing paths it held (empty directories and files only: anything with
// content was not ours).
func removeSynthetic(paths []string) {
	removeEmpty(paths, nil, time.Time{})
}

// runDirect runs an unrestricted profile's command without a sandbox.
func runDirect(l *Launch, dir string, environ []string) (int, error) {
	cmd := l.command(l.Argv[0], l.Argv[1:], dir, environ)
	sigs, release := catchSignals()
	defer release()
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || os.IsNotExist(err) {
			fmt.Fprintf(cmd.Stderr, "polc: %s: %v\n", l.Argv[0], err)
			return 127, nil
		}
		return 126, nil
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ws.ExitStatus(), nil
	}
	return 0, failf(diag.LinuxSandboxSetup, "%v", err)
}
