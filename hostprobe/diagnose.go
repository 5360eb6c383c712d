package hostprobe

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"polc/diag"
)

// Sandbox is what the selected profile asks of bubblewrap.
type Sandbox struct {
	Profile string
	// Unrestricted profiles (danger-full-access) run without a sandbox.
	Unrestricted bool
	// Args are the profile's namespace arguments
	// (bwrap.DirectNamespaceArgs: --unshare-user, ..., --cap-drop ALL).
	Args []string
	// Proc and Dev mount a fresh /proc and a minimal /dev.
	Proc, Dev bool
	// Filter is the profile's seccomp filter (struct sock_filter bytes).
	Filter []byte
	// Skip are directories whose bwrap is never run (the project).
	Skip []string
	// Landlock is what Landlock mode needs for the profile (nil: not
	// known).
	Landlock *LandlockFit
	// Needs is what the profile asks of files and network, to judge a
	// container by (nil: not known).
	Needs *Needs
}

// TrialArgs are the bwrap arguments of the tiny sandbox that stands for
// the profile's: its namespaces, / read-only, its /proc and /dev.
func (s Sandbox) TrialArgs() []string {
	args := append([]string(nil), s.Args...)
	args = append(args, "--ro-bind", "/", "/")
	if s.Proc {
		args = append(args, "--proc", "/proc")
	}
	if s.Dev {
		args = append(args, "--dev", "/dev")
	}
	return args
}

// namespaces names the namespaces the profile unshares.
func (s Sandbox) namespaces() string {
	var ns []string
	for _, a := range s.Args {
		if n, ok := strings.CutPrefix(a, "--unshare-"); ok {
			ns = append(ns, n)
		}
	}
	ns = append(ns, "mount")
	return strings.Join(ns, ", ")
}

// Finding is one host reason the sandbox cannot be made, with the fix.
type Finding struct {
	Code  diag.Code `json:"code"`
	Cause string    `json:"cause"`
	Fix   string    `json:"fix"`
}

// String is polc exec's line: the cause, the code, the fix.
func (f *Finding) String() string { return f.Diagnostic().Error() }

// Diagnostic is the finding as the error a launch returns.
func (f *Finding) Diagnostic() *diag.Diagnostic {
	return diag.New(f.Code, diag.Pos{}, f.Cause, f.Fix)
}

// trials runs each trial at most once.
type trials struct {
	p Probe
	s Sandbox

	bwrapDone bool
	bwrap     Bwrap
	bwrapErr  error

	usernsDone bool
	usernsErr  error

	nsDone   bool
	nsStderr string
	nsErr    error

	filterDone   bool
	filterStderr string
	filterErr    error

	seccompDone bool
	seccompErr  error
}

func (t *trials) findBwrap() (Bwrap, error) {
	if !t.bwrapDone {
		t.bwrapDone = true
		t.bwrap, t.bwrapErr = t.p.FindBwrap(t.s.Skip)
	}
	return t.bwrap, t.bwrapErr
}

func (t *trials) userNS() error {
	if !t.usernsDone {
		t.usernsDone = true
		t.usernsErr = t.p.TryUserNS()
	}
	return t.usernsErr
}

func (t *trials) namespaces(bw string) (string, error) {
	if !t.nsDone {
		t.nsDone = true
		t.nsStderr, t.nsErr = t.p.TrySandbox(bw, t.s.TrialArgs(), nil)
	}
	return t.nsStderr, t.nsErr
}

func (t *trials) filter(bw string) (string, error) {
	if !t.filterDone {
		t.filterDone = true
		t.filterStderr, t.filterErr = t.p.TrySandbox(bw, t.s.TrialArgs(), t.s.Filter)
	}
	return t.filterStderr, t.filterErr
}

func (t *trials) seccomp() error {
	if !t.seccompDone {
		t.seccompDone = true
		t.seccompErr = t.p.TrySeccomp()
	}
	return t.seccompErr
}

// Refusal is the host reason polc exec refuses before it tries
// anything (WSL1), or nil.
func Refusal(p Probe) *Finding {
	if kind, release := Platform(p); kind == WSL1 {
		return wsl1Finding(release)
	}
	return nil
}

// Diagnose is the first host reason the profile's sandbox cannot be
// made here, found by trying, or nil when it can.
func Diagnose(p Probe, s Sandbox) *Finding {
	return (&trials{p: p, s: s}).verdict()
}

func (t *trials) verdict() *Finding {
	if t.s.Unrestricted {
		return nil
	}
	if t.s.Landlock != nil && t.s.Landlock.Asked {
		return t.landlockVerdict()
	}
	if kind, release := Platform(t.p); kind == WSL1 {
		return wsl1Finding(release)
	}
	bw, err := t.findBwrap()
	if err != nil {
		return NoBwrap(t.p)
	}
	if stderr, err := t.namespaces(bw.Path); err != nil {
		return t.namespaceFinding(bw, stderr, err)
	}
	if t.s.Filter != nil {
		if stderr, err := t.filter(bw.Path); err != nil {
			if serr := t.seccomp(); serr != nil && !errors.Is(serr, ErrNotTried) {
				return seccompFinding(serr)
			}
			return &Finding{
				Code:  diag.LinuxSandboxSetup,
				Cause: "bubblewrap made the sandbox but could not load the profile's seccomp filter: " + bwrapSaid(stderr, err),
				Fix:   "run polc doctor and report the output; polc does not run the command without its filter",
			}
		}
	}
	return nil
}

func wsl1Finding(release string) *Finding {
	return &Finding{
		Code: diag.HostWSL1,
		Cause: "this is WSL1 (kernel " + release + "), which emulates Linux without namespaces or seccomp, so bubblewrap cannot run; " +
			"Codex dropped WSL1 when its Linux sandbox moved to bubblewrap",
		Fix: "convert the distribution to WSL2 (in Windows: wsl --set-version DISTRO 2) and run polc there",
	}
}

// NoBwrap is the finding for a host without bubblewrap.
func NoBwrap(p Probe) *Finding {
	fix := "install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap, apk add bubblewrap)"
	if rt, _ := Container(p); rt != "" {
		fix += " in the container image"
	}
	return &Finding{Code: diag.LinuxNoBwrap, Cause: "bubblewrap (bwrap) was not found on PATH nor at /usr/bin/bwrap", Fix: fix}
}

// boundaryFix is the last resort every container remedy offers: the
// user's explicit choice of no inner sandbox.
func boundaryFix(p Probe) string {
	if rt, _ := Container(p); rt != "" {
		return "or, if the container is your security boundary, run polc exec -P :danger-full-access inside it (the command then reaches everything in the container)"
	}
	return "or, if that outer sandbox is your security boundary, run polc exec -P :danger-full-access inside it"
}

// seccompProfileFix says how to let user namespaces through the
// container runtime's seccomp profile.
func seccompProfileFix(p Probe) string {
	rt, _ := Container(p)
	switch rt {
	case "kubernetes":
		return "give the pod a seccomp profile that allows unshare and clone with CLONE_NEWUSER (securityContext.seccompProfile type Localhost, or Unconfined), " + boundaryFix(p)
	case "":
		return "start polc outside the process that installed the filter (a service manager's SystemCallFilter, another sandbox), " + boundaryFix(p)
	}
	return "run the container with a seccomp profile that allows unshare and clone with CLONE_NEWUSER (docker or podman run --security-opt seccomp=PROFILE.json; a devcontainer's runArgs, as the Codex devcontainer does with its bubblewrap profile), " + boundaryFix(p)
}

// errnoOf is the errno inside err, or 0.
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// userNSFinding explains a failed user namespace (err from TryUserNS),
// or nil when err is nil.
func userNSFinding(p Probe, err error) *Finding {
	if err == nil || errors.Is(err, ErrNotTried) {
		return nil
	}
	unpriv := p.Uid() != 0
	switch errnoOf(err) {
	case syscall.ENOSPC:
		if sysctl(p, "user.max_user_namespaces") == "0" {
			return &Finding{
				Code:  diag.LinuxNoUserNS,
				Cause: "user namespaces are switched off on this host (user.max_user_namespaces is 0), so bubblewrap cannot create the sandbox's",
				Fix:   "sysctl -w user.max_user_namespaces=15000 (and set it in /etc/sysctl.d to keep it)",
			}
		}
		return &Finding{
			Code: diag.HostNestedUserNS,
			Cause: "nested user namespaces are forbidden here: polc runs inside a sandbox that allows no more (bwrap --disable-userns, or a user.max_user_namespaces limit of its namespace), " +
				"so bubblewrap cannot create the sandbox's",
			Fix: "run polc outside that sandbox, or start the outer sandbox without --disable-userns; " +
				"or, if that outer sandbox is your security boundary, run polc exec -P :danger-full-access inside it",
		}
	case syscall.EPERM, syscall.EACCES:
		switch {
		case unpriv && sysctl(p, "kernel.unprivileged_userns_clone") == "0":
			return &Finding{
				Code:  diag.LinuxNoUserNS,
				Cause: "this host refuses user namespaces to unprivileged users (kernel.unprivileged_userns_clone is 0), so bubblewrap cannot create the sandbox's",
				Fix:   "sysctl -w kernel.unprivileged_userns_clone=1 (and set it in /etc/sysctl.d to keep it), or install bwrap setuid root",
			}
		case unpriv && sysctl(p, "kernel.apparmor_restrict_unprivileged_userns") == "1":
			return apparmorFinding()
		case seccompFilters(p) > 0:
			rt, marker := Container(p)
			who := "a seccomp filter polc was started under"
			if rt != "" {
				who = fmt.Sprintf("the %s container's seccomp profile (%s)", rt, marker)
			}
			return &Finding{
				Code:  diag.HostSeccompBlocksUserNS,
				Cause: who + " refuses user namespaces (" + err.Error() + "), so bubblewrap cannot create the sandbox's",
				Fix:   seccompProfileFix(p),
			}
		}
		return &Finding{
			Code:  diag.LinuxNoUserNS,
			Cause: "the kernel refused polc a user namespace (" + err.Error() + "), so bubblewrap cannot create the sandbox's",
			Fix:   "allow user namespaces for this user (user.max_user_namespaces, kernel.unprivileged_userns_clone, the LSM's policy), or install bwrap setuid root",
		}
	case syscall.EINVAL, syscall.ENOSYS:
		return &Finding{
			Code:  diag.LinuxNoUserNS,
			Cause: "this kernel has no user namespaces (" + err.Error() + "), so bubblewrap cannot create the sandbox's",
			Fix:   "run a kernel built with CONFIG_USER_NS=y, or install bwrap setuid root",
		}
	}
	return &Finding{
		Code:  diag.LinuxNoUserNS,
		Cause: "polc could not create a user namespace (" + err.Error() + ")",
		Fix:   "run polc doctor for what this host allows",
	}
}

func apparmorFinding() *Finding {
	return &Finding{
		Code: diag.LinuxNoUserNS,
		Cause: "AppArmor restricts unprivileged user namespaces on this host (kernel.apparmor_restrict_unprivileged_userns is 1): " +
			"bubblewrap's namespace gets no capabilities and its setup fails",
		Fix: "give bwrap an AppArmor profile that allows them (profile bwrap /usr/bin/bwrap flags=(unconfined) { userns, } in /etc/apparmor.d/bwrap, then apparmor_parser -r it), " +
			"or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
	}
}

func seccompFinding(err error) *Finding {
	return &Finding{
		Code:  diag.HostNoSeccomp,
		Cause: "seccomp filters cannot be installed here (" + err.Error() + "), and polc never runs a sandboxed command without its filter",
		Fix:   "run a kernel built with CONFIG_SECCOMP_FILTER=y, or start polc outside the sandbox or filter that forbids new filters",
	}
}

// namespaceFinding explains a failed tiny sandbox: the user namespace
// first (tried on its own, unless bwrap is setuid and needs none), then
// what bwrap said.
func (t *trials) namespaceFinding(bw Bwrap, stderr string, err error) *Finding {
	p := t.p
	if !bw.Setuid {
		if f := userNSFinding(p, t.userNS()); f != nil {
			return f
		}
	}
	said := bwrapSaid(stderr, err)
	rt, _ := Container(p)
	switch {
	case p.Uid() != 0 && sysctl(p, "kernel.apparmor_restrict_unprivileged_userns") == "1":
		return apparmorFinding()
	case strings.Contains(said, "Can't mount proc"):
		fix := "run the container with an unmasked /proc (docker run --security-opt systempaths=unconfined; podman run --security-opt unmask=ALL; Kubernetes securityContext.procMount: Unmasked), "
		if rt == "" {
			fix = "run polc where /proc is not partly covered by other mounts, "
		}
		return &Finding{
			Code:  diag.HostNoProcMount,
			Cause: "bubblewrap cannot mount the sandbox's fresh /proc because parts of this /proc are covered by other mounts (a container runtime's masked paths): " + said,
			Fix:   fix + boundaryFix(p),
		}
	case strings.Contains(said, "make / slave"):
		return &Finding{
			Code:  diag.HostMountPropagation,
			Cause: "bubblewrap cannot change mount propagation here (" + said + "), as in containers whose seccomp profile or LSM refuses mount calls",
			Fix:   seccompProfileFix(p),
		}
	}
	return &Finding{
		Code:  diag.LinuxSandboxSetup,
		Cause: "bubblewrap cannot make the sandbox's namespaces here: " + said,
		Fix:   "run polc doctor for what this host allows; polc does not run the command without its sandbox",
	}
}

// bwrapSaid is bwrap's message (its last line, without "bwrap: "), or
// err when it said nothing.
func bwrapSaid(stderr string, err error) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		if err != nil {
			return err.Error()
		}
		return "no message"
	}
	return strings.TrimPrefix(last, "bwrap: ")
}
