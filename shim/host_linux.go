package shim

import (
	"os"
	"runtime"
	"syscall"

	"polc/backends/bwrap"
	"polc/diag"
	"polc/hostprobe"
)

// hostProbe is where a launch gets host facts: the refusal of a host
// polc cannot sandbox (WSL1), WSL2's ways into Windows to mask, and why
// bubblewrap failed. Tests play other hosts.
var hostProbe = hostprobe.System

// refuseHost refuses, before anything is tried, a host where the
// sandbox cannot exist (WSL1). Unrestricted profiles run there.
func refuseHost(p hostprobe.Probe) error {
	if f := hostprobe.Refusal(p); f != nil {
		return f.Diagnostic()
	}
	return nil
}

// maskInterop hides WSL2's ways into Windows (the interop sockets under
// /run/WSL that the WSLInterop binfmt entry's /init uses to start
// Windows programs, and WSLg's sockets under /mnt/wslg) from a sandbox
// whose profile does not grant them by a rule of their own, as the
// reference does.
func maskInterop(p hostprobe.Probe, plan *bwrap.HostPlan) {
	if kind, _ := hostprobe.Platform(p); kind != hostprobe.WSL2 {
		return
	}
	plan.MaskHostDirs(hostprobe.InteropPaths, "WSL2 interop into Windows (not granted by a rule of its own)")
}

// directSetupFailure is the line for a launch whose bwrap failed before
// its mounts were made. bwrap's own message is already on the caller's
// stderr; polc tries the host (hostprobe) and says the cause it found
// and the fix that fits, or else that bwrap failed. It never retries
// with less.
func directSetupFailure(art *bwrap.Artifact, bin string, code int) error {
	sb := hostprobe.Sandbox{Profile: art.Profile, Args: bwrap.DirectNamespaceArgs(art), Proc: art.Proc, Dev: art.Dev}
	if f, err := art.Seccomp.Bytes(runtime.GOARCH); err == nil {
		sb.Filter = f
	}
	if f := hostprobe.Diagnose(launched{hostProbe(), bin}, sb); f != nil {
		return f.Diagnostic()
	}
	return failf(diag.LinuxSandboxSetup, "sandbox setup failed: bwrap exited %d before the command started (its message is above)", code)
}

// launched is the host as a launch sees it: its trials run the bwrap
// the launch ran (FindBwrap's, which no sandbox can have planted), not
// the first one on PATH.
type launched struct {
	hostprobe.Probe
	bwrap string
}

func (l launched) FindBwrap([]string) (hostprobe.Bwrap, error) {
	b := hostprobe.Bwrap{Path: l.bwrap}
	if fi, err := os.Stat(l.bwrap); err == nil {
		st, ok := fi.Sys().(*syscall.Stat_t)
		b.Setuid = fi.Mode()&os.ModeSetuid != 0 && ok && st.Uid == 0
	}
	return b, nil
}
