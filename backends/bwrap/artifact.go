package bwrap

import (
	"encoding/json"
	"fmt"
	"sort"

	"polc/backends"
	"polc/diag"
	"polc/internal/canonjson"
	"polc/internal/seccomp"
	"polc/ir"
)

// Format names the artifact layout; a reader refuses any other.
const Format = "polc.linux.bwrap/v1"

// Root is how the sandbox's / starts before the rule mounts.
const (
	RootReadOnly  = "ro-bind"  // --ro-bind / /: a read rule on /
	RootWritable  = "bind"     // --bind / /: a write rule on /
	RootTmpfs     = "tmpfs"    // --tmpfs /, read-only at the end: no rule on /
	RootUnchanged = "host"     // no sandbox at all (:danger-full-access)
	accessRead    = "read"     //
	accessWrite   = "write"    //
	accessDeny    = "deny"     //
	nsUser        = "user"     //
	nsPID         = "pid"      //
	nsIPC         = "ipc"      //
	nsUTS         = "uts"      //
	nsNet         = "net"      //
	netNone       = "none"     //
	netFull       = "full"     //
	netProxy      = "proxy"    //
	minimalOrigin = ":minimal" //
)

// Artifact is the Linux payload: an ordered mount plan on symbolic paths,
// the deny globs the shim re-expands at launch, the namespaces and the
// seccomp program's specification. Host facts (which paths exist, which
// are directories or symlinks) are not in it: they are read at launch,
// so a committed artifact is the same on every machine.
type Artifact struct {
	Format  string `json:"format"`
	Profile string `json:"profile"`
	// Unrestricted runs the command without any sandbox.
	Unrestricted bool `json:"unrestricted,omitempty"`
	// Root is one of the Root* constants.
	Root string `json:"root"`
	// Mounts are the exact rules (and :minimal roots), sorted by path; the
	// shim orders them by depth once the variables are bound.
	Mounts []Mount `json:"mounts"`
	// Globs are deny patterns, masked on the paths they match at launch
	// (within MaxDepth), after every exact mount.
	Globs []GlobMask `json:"globs,omitempty"`
	// Namespaces are unshared: user, pid, ipc, uts, and net unless the
	// network is on.
	Namespaces []string `json:"namespaces"`
	// Network is none, full or proxy: a network namespace of the
	// sandbox's own with loopback only, where polc's bridge listens on
	// the Proxy ports and carries each connection to polc's egress proxy
	// outside (the domain rules are the policy's network).
	Network string `json:"network"`
	// Proxy is where the bridge listens (Network == proxy only).
	Proxy *ProxyRoute `json:"proxy,omitempty"`
	// Proc and Dev mount a fresh /proc and a minimal /dev.
	Proc bool `json:"proc"`
	Dev  bool `json:"dev"`
	// DieWithParent and NewSession are bwrap's flags of the same names.
	DieWithParent bool `json:"die_with_parent"`
	NewSession    bool `json:"new_session"`
	// Seccomp is installed inside the sandbox before the command runs.
	Seccomp seccomp.Spec `json:"seccomp"`
	// UnixSockets are the host Unix sockets the policy allows with the
	// network off ("*": dangerously_allow_all_unix_sockets). Seccomp
	// cannot filter by path: when there is any, the filter lets the
	// command connect to every Unix socket it can see
	// (Seccomp.UnixPeersOnly is off), and this list says why.
	UnixSockets []string `json:"unix_sockets,omitempty"`
	// Env are variables the shim sets for the command, as the reference does.
	Env map[string]string `json:"env,omitempty"`
}

// Mount is one exact rule.
type Mount struct {
	// Path is symbolic (${WORKSPACE_ROOT}/docs) or absolute.
	Path string `json:"path"`
	// Access is read, write or deny.
	Access string `json:"access"`
	// Mandatory denies (managed requirements) hide everything below them,
	// deeper rules included.
	Mandatory bool `json:"mandatory,omitempty"`
	// SkipIfMissing rules are dropped when the path does not exist.
	SkipIfMissing bool `json:"skip_if_missing,omitempty"`
	// Protected marks metadata protection (.git, .codex, ...): a missing
	// one inside a writable mount is held by an empty read-only directory,
	// and one that crosses a symlink there is refused.
	Protected bool `json:"protected,omitempty"`
	// Minimal marks a :minimal system root: skipped when missing, and
	// bound at its logical path when that is a symlink.
	Minimal bool `json:"minimal,omitempty"`
	// Origin says where the rule came from, for explain output.
	Origin string `json:"origin,omitempty"`
}

// ProxyRoute is the loopback side of a proxy-only network: the ports
// polc's bridge listens on inside the sandbox (127.0.0.1), which the
// command's proxy variables (Env) name.
type ProxyRoute struct {
	HTTPPort int `json:"http_port"`
	// SOCKSPort is 0 when the policy does not enable SOCKS5.
	SOCKSPort int `json:"socks_port,omitempty"`
}

// GlobMask is one deny glob.
type GlobMask struct {
	Pattern string `json:"pattern"`
	Base    string `json:"base"`
	// MaxDepth caps the launch-time expansion (1 = directly in Base); 0 is unbounded.
	MaxDepth  int    `json:"max_depth,omitempty"`
	Mandatory bool   `json:"mandatory,omitempty"`
	Origin    string `json:"origin,omitempty"`
}

// Backend is the Linux backend.
var Backend backends.Backend = linuxBackend{}

type linuxBackend struct{}

func (linuxBackend) Platform() ir.Platform { return ir.Linux }

// Lower implements backends.Backend.
func (linuxBackend) Lower(p *ir.Policy, opts backends.Options) (*backends.Output, diag.List) {
	art, diags := Lower(p, opts)
	if diags.HasErrors() {
		return nil, diags
	}
	out := &backends.Output{Platform: ir.Linux, Artifact: art}
	if opts.NoPayload {
		return out, diags
	}
	payload, err := art.Encode()
	if err != nil {
		diags.Addf(diag.LinuxBadArtifact, diag.Pos{}, "report a bug", "encoding the linux artifact: %v", err)
		return nil, diags
	}
	out.Payload = payload
	return out, diags
}

// Evaluator implements backends.Backend.
func (linuxBackend) Evaluator(payload []byte, env ir.Env, _ backends.Options) (backends.Evaluator, error) {
	art, err := Decode(payload)
	if err != nil {
		return nil, err
	}
	return NewEvaluator(art, env)
}

// Lower turns a policy into the Linux artifact. It reports what Linux
// cannot enforce exactly (a per-path Unix socket allow).
func Lower(p *ir.Policy, opts backends.Options) (*Artifact, diag.List) {
	var diags diag.List
	// The uts namespace: the hostname is a UTS sysctl, and for a command
	// run by root (uid 0 in bwrap's user namespace is the host's root)
	// sethostname(2) and /proc/sys/kernel/hostname pass the kernel's
	// permission checks: without its own UTS namespace the sandbox
	// renames the host.
	art := &Artifact{
		Format:        Format,
		Profile:       p.Profile,
		Root:          RootTmpfs,
		Namespaces:    []string{nsUser, nsPID, nsIPC, nsUTS},
		Network:       netNone,
		Proc:          true,
		Dev:           true,
		DieWithParent: true,
		NewSession:    true,
	}
	if p.Unrestricted {
		art.Unrestricted = true
		art.Root = RootUnchanged
		art.Namespaces = nil
		art.Network = netFull
		art.Proc, art.Dev, art.DieWithParent, art.NewSession = false, false, false, false
		art.Mounts = []Mount{}
		return art, diags
	}
	switch p.Network.Mode {
	case ir.NetworkFull:
		art.Network = netFull
		art.Seccomp = seccomp.ForNetwork(true)
	case ir.NetworkProxy:
		art.Network = netProxy
		art.Namespaces = append(art.Namespaces, nsNet)
		art.Seccomp = seccomp.ForProxy()
		var pr ir.Proxy
		if p.Network.Proxy != nil {
			pr = *p.Network.Proxy
		}
		route := Route(pr)
		art.Proxy = &route
		if pr.PortsCollide() {
			diags.Addf(diag.LinuxBadArtifact, pr.SOCKS5Origin.Pos, "give the HTTP and SOCKS5 proxies different ports",
				"the HTTP proxy and the SOCKS5 proxy both ask for port %d", route.HTTPPort)
		}
		art.Env = proxyEnv(pr)
	default:
		art.Network = netNone
		art.Namespaces = append(art.Namespaces, nsNet)
		art.Seccomp = seccomp.ForNetwork(false)
		// Codex sets this for every command without the network; tools
		// (and its own test suites) read it.
		art.Env = map[string]string{"CODEX_SANDBOX_NETWORK_DISABLED": "1"}
	}
	if art.Network != netFull && p.Network.HostUnixSockets() {
		diags = append(diags, lowerUnixSockets(art, p.Network, opts)...)
	}

	for _, r := range p.Rules {
		m := Mount{Path: r.Path, Access: r.Access.String(), Mandatory: r.Mandatory,
			SkipIfMissing: r.SkipIfMissing, Protected: r.Origin.Kind == ir.OriginProtected,
			Origin: r.Origin.String()}
		if r.Access != ir.Read && r.Access != ir.Write && r.Access != ir.Deny {
			diags.Addf(diag.LinuxBadArtifact, r.Origin.Pos, "use read, write or deny", "rule %s: unknown access %v", r.Path, r.Access)
			continue
		}
		art.Mounts = append(art.Mounts, m)
	}
	if p.Minimal != nil {
		for _, root := range ir.MinimalRoots[ir.Linux] {
			art.Mounts = append(art.Mounts, Mount{Path: root, Access: accessRead, Minimal: true, SkipIfMissing: true, Origin: minimalOrigin})
		}
	}
	sort.SliceStable(art.Mounts, func(i, j int) bool {
		a, b := art.Mounts[i], art.Mounts[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Access < b.Access
	})
	if art.Mounts == nil {
		art.Mounts = []Mount{}
	}
	for _, g := range p.Globs {
		max := g.MaxDepth
		if max == 0 && !g.Mandatory {
			// A requirement's glob stays uncapped (the user's
			// glob_scan_max_depth never narrows it).
			max = p.GlobScanMaxDepth
		}
		art.Globs = append(art.Globs, GlobMask{Pattern: g.Pattern, Base: g.Base, MaxDepth: max, Mandatory: g.Mandatory, Origin: g.Origin.String()})
	}
	sort.SliceStable(art.Globs, func(i, j int) bool { return art.Globs[i].Pattern < art.Globs[j].Pattern })
	art.Root = rootFor(art.Mounts)
	return art, diags
}

// AllUnixSockets in Artifact.UnixSockets stands for
// dangerously_allow_all_unix_sockets.
const AllUnixSockets = "*"

// lowerUnixSockets lets a sandbox without the network reach the host
// Unix sockets the policy allows. Seccomp cannot read the address of a
// connect, so Linux can only allow them all: exact for
// dangerously_allow_all_unix_sockets (the compiler warns, POL040), a
// widening for a list of paths, which is refused (POL079) unless the
// user accepts it with --allow-unenforceable, and then still said.
func lowerUnixSockets(art *Artifact, n ir.Network, opts backends.Options) diag.List {
	var diags diag.List
	if n.AllUnixSockets != nil {
		art.UnixSockets = []string{AllUnixSockets}
		art.Seccomp.UnixPeersOnly, art.Seccomp.UnixSocketpairOnly = false, false
		return diags
	}
	for _, u := range n.UnixSockets {
		d := diag.Diagnostic{Code: diag.LinuxUnixSocketWidened, Severity: diag.LinuxUnixSocketWidened.Severity(), Pos: u.Origin.Pos,
			Message: fmt.Sprintf("unix_sockets allows %s, but Linux cannot limit connections to one path (seccomp cannot read a socket address): "+
				"allowing it lets the command connect to every Unix socket of the host it can see", u.Path),
			Fix: "remove the allow (the command then reaches no host socket), or accept the wider sandbox with --allow-unenforceable"}
		if opts.AllowUnenforceable {
			d.Severity = diag.Warning
			d.Message += "; on Linux every Unix socket is reachable (--allow-unenforceable)"
		}
		diags = append(diags, d)
		art.UnixSockets = append(art.UnixSockets, u.Path)
	}
	if !opts.AllowUnenforceable {
		art.UnixSockets = nil
		return diags
	}
	art.Seccomp.UnixPeersOnly, art.Seccomp.UnixSocketpairOnly = false, false
	return diags
}

// Encode writes the artifact as canonical JSON (what polc build writes
// and Decode reads back; polc exec runs the artifact without encoding it).
func (a *Artifact) Encode() ([]byte, error) { return canonjson.Marshal(a) }

// Decode reads a payload written by Encode. It refuses other formats and
// values it does not know, so a tampered or newer artifact fails closed.
func Decode(payload []byte) (*Artifact, error) {
	var a Artifact
	if err := json.Unmarshal(payload, &a); err != nil {
		return nil, fmt.Errorf("linux artifact: %v", err)
	}
	if a.Format != Format {
		return nil, fmt.Errorf("linux artifact: format %q, want %q", a.Format, Format)
	}
	switch a.Root {
	case RootReadOnly, RootWritable, RootTmpfs, RootUnchanged:
	default:
		return nil, fmt.Errorf("linux artifact: unknown root %q", a.Root)
	}
	if !a.Unrestricted && a.Root != rootFor(a.Mounts) {
		return nil, fmt.Errorf("linux artifact: root %q does not match the rules on /", a.Root)
	}
	if a.Unrestricted != (a.Root == RootUnchanged) {
		return nil, fmt.Errorf("linux artifact: root %q does not match unrestricted=%v", a.Root, a.Unrestricted)
	}
	switch a.Network {
	case netNone, netFull, netProxy:
	default:
		return nil, fmt.Errorf("linux artifact: unknown network %q", a.Network)
	}
	hasNet, hasUTS := false, false
	for _, ns := range a.Namespaces {
		switch ns {
		case nsUser, nsPID, nsIPC:
		case nsUTS:
			hasUTS = true
		case nsNet:
			hasNet = true
		default:
			return nil, fmt.Errorf("linux artifact: unknown namespace %q", ns)
		}
	}
	if !a.Unrestricted && a.Network != netFull && !hasNet {
		return nil, fmt.Errorf("linux artifact: network is %s but the net namespace is not unshared", a.Network)
	}
	if (a.Network == netProxy) != (a.Proxy != nil) {
		return nil, fmt.Errorf("linux artifact: network %s with proxy route %v", a.Network, a.Proxy != nil)
	}
	if r := a.Proxy; r != nil {
		if r.HTTPPort < 1 || r.HTTPPort > 65535 || r.SOCKSPort < 0 || r.SOCKSPort > 65535 || r.HTTPPort == r.SOCKSPort {
			return nil, fmt.Errorf("linux artifact: bad proxy ports %d and %d", r.HTTPPort, r.SOCKSPort)
		}
	}
	// An artifact built before polc unshared the UTS namespace would let
	// a command run by root rename the host: refuse it (rebuild it).
	if !a.Unrestricted && !hasUTS {
		return nil, fmt.Errorf("linux artifact: the uts namespace is not unshared (the command could set the host's hostname); rebuild the artifact with this polc")
	}
	for _, m := range a.Mounts {
		switch m.Access {
		case accessRead, accessWrite, accessDeny:
		default:
			return nil, fmt.Errorf("linux artifact: mount %s: unknown access %q", m.Path, m.Access)
		}
		if m.Path == "" || (m.Path[0] != '/' && m.Path[0] != '$') {
			return nil, fmt.Errorf("linux artifact: mount path %q is not absolute or symbolic", m.Path)
		}
	}
	for _, g := range a.Globs {
		if g.MaxDepth < 0 {
			return nil, fmt.Errorf("linux artifact: glob %s: negative max_depth", g.Pattern)
		}
	}
	if err := a.Seccomp.Validate(); err != nil {
		return nil, fmt.Errorf("linux artifact: %v", err)
	}
	// With the network off, a filter that lets the command connect must
	// say for which sockets: an artifact never widens silently.
	if !a.Unrestricted && a.Network == netNone && !a.Seccomp.UnixPeersOnly && len(a.UnixSockets) == 0 {
		return nil, fmt.Errorf("linux artifact: the network is off but the seccomp filter lets the command connect to host Unix sockets, and the artifact names none (rebuild it with this polc)")
	}
	// A proxy-only network's filter must keep the command to its own
	// loopback: no socket family beyond inet and Unix pairs, unless the
	// artifact names the host sockets it opens.
	if !a.Unrestricted && a.Network == netProxy && len(a.UnixSockets) == 0 && !a.Seccomp.UnixSocketpairOnly {
		return nil, fmt.Errorf("linux artifact: the network is the proxy only but the seccomp filter lets the command connect to host Unix sockets, and the artifact names none")
	}
	if a.Network == netProxy && len(a.Seccomp.AllowSocketFamilies) == 0 {
		return nil, fmt.Errorf("linux artifact: the network is the proxy only but the seccomp filter allows every socket family")
	}
	for _, u := range a.UnixSockets {
		if u != AllUnixSockets && (u == "" || u[0] != '/') {
			return nil, fmt.Errorf("linux artifact: unix socket %q is not absolute", u)
		}
	}
	return &a, nil
}

func parseAccess(s string) ir.Access {
	switch s {
	case accessRead:
		return ir.Read
	case accessWrite:
		return ir.Write
	}
	return ir.Deny
}

// rootFor derives the sandbox's base from the rules on "/": a deny (or
// none) gives an empty read-only tmpfs, else the strongest of write and
// read binds the host root.
func rootFor(mounts []Mount) string {
	root := RootTmpfs
	for _, m := range mounts {
		if m.Path != "/" {
			continue
		}
		switch {
		case m.Access == accessDeny:
			return RootTmpfs
		case m.Access == accessWrite:
			root = RootWritable
		case m.Access == accessRead && root != RootWritable:
			root = RootReadOnly
		}
	}
	return root
}
