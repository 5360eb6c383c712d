// Package maskstage is polc's mask stage: the sandbox's first process
// when a launch has more masks than bubblewrap takes well (see
// bwrap.MaxDirectMasks), or a command bubblewrap cannot exec plainly.
// bubblewrap runs polc's own executable with the argument Arg as the
// sandbox's pid 1 (--as-pid-1), with CAP_SYS_ADMIN in the sandbox's user
// namespace and the seccomp filter already loaded (--seccomp: on every
// thread the Go runtime will start). The stage reads its Spec, masks
// the files with direct mount calls, makes itself undumpable, drops
// every capability of every thread, forks the command and reaps until
// it exits. The launcher, the host's side, is package shim.
//
// pid 1 outlives the command's start, so nothing of it may be within
// the command's reach: undumpable, the kernel refuses a process of the
// same uid without capabilities its /proc/1/mem, /proc/1/root,
// /proc/1/task/*, ptrace and pidfd_getfd; it holds no capability and
// runs under the filter, so even a thread the command signalled could
// do nothing the command cannot (docs/security.md).
//
// The masks are made in a mount namespace of the stage's own, and the
// command is forked from the thread that made it: run as a normal
// user, bubblewrap moves the sandbox into a nested user namespace once
// its mounts are made (--dev needs root mapped to mount devpts), and
// that namespace holds no capability over bwrap's mount namespace. A
// mount namespace created there is owned by it, and the mounts it copies
// are locked together: the masks are stacked on top of them, and the
// command, without capabilities, can unmount neither. bwrap's own pid 1
// would stay behind in the unmasked namespace, reachable (bwrap leaves
// it dumpable) — which is why polc is pid 1 here, not bwrap.
//
// The stage is a package of its own that imports little (no net, no
// HTTP, no CLI, no compiler) so that its init, which runs the stage,
// comes early in polc's package initialisation: about 75 of the 120-odd
// packages polc is built from are initialised by then, and the stage
// skips the rest. On a small VM that is about 4 ms of every launch
// through the stage; the test TestStageStartsEarly keeps it so.
package maskstage

// Arg is argv[1] of polc's mask stage: a polc started with it is the
// stage (see init in stage_linux.go), whatever its other arguments.
const Arg = "__polc-sandbox-init"

// Descriptors. bwrap's own come first (3 to 6 in the launcher: args,
// seccomp filter, status, block); FdFirst is the first after them, and
// the stage's are numbered from it.
const (
	FdFirst  = 7
	FdExe    = FdFirst     // polc's own executable, run as /proc/self/fd/N
	FdSpec   = FdFirst + 1 // the Spec as JSON
	FdStatus = FdFirst + 2 // stage → polc: "masked" (with Check), then "ok" just before the fork, or "err MSG"
	FdGo     = FdFirst + 3 // polc → stage: one byte once the masks are checked
	FdBridge = FdFirst + 4 // the sandbox's end of the proxy's socketpair (Spec.Bridge), the last
)

// Mask is one path the stage (or bwrap, in a direct launch) hides.
type Mask struct {
	Path string `json:"path"`
	Dir  bool   `json:"dir,omitempty"`
}

// Spec is what the mask stage does before the command runs.
type Spec struct {
	Masks []Mask   `json:"masks"`
	Dirs  []string `json:"dirs"` // working directory candidates, in order
	Argv  []string `json:"argv"`
	// Check makes the stage wait, once it has masked, for polc to check
	// the plan's guards.
	Check bool `json:"check,omitempty"`
	// Bridge, for a proxy-only network, asks the stage for the sockets
	// of the proxy's listeners, which it sends to polc through FdBridge
	// (package sockexec's protocol).
	Bridge *Bridge `json:"bridge,omitempty"`
}

// Bridge is what the mask stage does for a proxy-only network.
type Bridge struct {
	// Sockets is how many sockets the stage makes and hands to polc.
	Sockets int `json:"sockets"`
}
