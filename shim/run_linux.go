package shim

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"polc/backends/bwrap"
	"polc/diag"
	"polc/hostprobe"
	"polc/ir"
)

// Run runs l.Argv under the Linux artifact l.Linux with bubblewrap and
// returns the command's exit status. An error means polc itself could
// not run the command (the CLI exits 125).
func Run(l *Launch) (int, error) {
	PrepareLaunch()
	art, dir, environ, err := l.start()
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if art.Unrestricted {
		l.ready()
		return runDirect(l, dir, environ)
	}
	host := hostProbe()
	if err := refuseHost(host); err != nil {
		return 0, err
	}
	state := loadHostState(l.Debug)
	planHost := func() (*bwrap.HostPlan, error) {
		plan, err := bwrap.PlanHost(art, l.Env, state.planOptions())
		if err != nil {
			if d, ok := diag.AsDiagnostic(err); ok && d.Code == diag.LinuxTreeChanged {
				return nil, &raceError{d.Message}
			}
			return nil, failure(diag.LinuxSandboxSetup, err)
		}
		maskInterop(host, plan)
		return plan, nil
	}
	for attempt := 1; ; attempt++ {
		code, err := launchPlanned(l, state, planHost, dir, environ, t0)
		var race *raceError
		if !errors.As(err, &race) {
			return code, err
		}
		if attempt == maxLaunchAttempts {
			return 0, failf(diag.LinuxTreeChanged, "%s: the tree kept changing while polc set up the sandbox (%d attempts); run the command again once nothing else moves files in it", race, attempt)
		}
		if l.Debug != nil {
			fmt.Fprintf(l.Debug, "polc: attempt %d: %v; planning again\n", attempt, race)
		}
		t0 = time.Now()
	}
}

// start settles what every Linux launch needs first: the artifact, the
// command's working directory and its environment.
func (l *Launch) start() (art *bwrap.Artifact, dir string, environ []string, err error) {
	art = l.Linux
	if art == nil {
		return nil, "", nil, failf(diag.LinuxBadArtifact, "no Linux artifact to run")
	}
	if len(l.Argv) == 0 {
		return nil, "", nil, failf(diag.LinuxSandboxSetup, "no command to run")
	}
	dir = l.Dir
	if dir == "" {
		dir, _ = os.Getwd()
	}
	return art, dir, commandEnv(l.Environ, art, dir), nil
}

// launchPlanned plans the launch on the host as it is now and runs it; a
// *raceError says the tree changed under the setup (guard_linux.go).
func launchPlanned(l *Launch, state *hostState, planHost func() (*bwrap.HostPlan, error), dir string, environ []string, t0 time.Time) (int, error) {
	plan, err := planHost()
	if err != nil {
		return 0, err
	}
	if l.Debug != nil {
		fmt.Fprintf(l.Debug, "polc: planned in %v (%d masks)\n", time.Since(t0), len(plan.Masks))
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
	chdir, why := "", "the launch asks for the mask stage"
	if !l.MaskStage {
		chdir, why = directLaunch(plan, l.Argv, dir, environ)
	}
	if why == "" {
		return launch(l, bin, plan, false, chdir, nil, environ)
	}
	if l.Debug != nil {
		fmt.Fprintf(l.Debug, "polc: inner stage: %s\n", why)
	}
	dirs := []string{dir}
	if real := ir.ResolvePath(dir); real != dir {
		dirs = append(dirs, real)
	}
	return launch(l, bin, plan, true, "", dirs, environ)
}

// ready calls l.Ready once, if set.
func (l *Launch) ready() {
	if l.Ready != nil {
		l.Ready()
		l.Ready = nil
	}
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

// cacheDir is the directory name in polc's cache: $XDG_CACHE_HOME/polc,
// else ~/.cache/polc ("" when neither is usable). "globs" holds the
// deny-glob expansions (PlanHost ignores it when the sandbox could write
// there), "hugetext" the primers' record (package hugetext).
func cacheDir(name string) string {
	if d := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "polc", name)
	}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		return filepath.Join(h, ".cache", "polc", name)
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
	f := hostprobe.NoBwrap(hostProbe())
	f.Cause = "bubblewrap (bwrap) was not found on PATH outside the project nor at /usr/bin/bwrap"
	return "", f.Diagnostic()
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
	if code, _, ok := exitCode(err); ok {
		return code, nil
	}
	return 0, failf(diag.LinuxSandboxSetup, "%v", err)
}
