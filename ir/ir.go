// Package ir holds polc's typed policy, the single representation every
// backend lowers, and Decide, the reference decision function that states
// what must happen for a path. Every backend's evaluator is tested against
// Decide.
//
// Paths in a Policy are symbolic: they start with a variable such as
// ${WORKSPACE_ROOT} or ${HOME}, or are absolute host paths. So are the
// files its origins name (${CODEX_HOME}/config.toml,
// --requirements:NAME). Bindings give the variables their host values; a
// Policy with the same inputs is byte-identical on every machine, the
// runtime binds it at launch (Glob.Bind, HostBindings), and display code
// names origin files on the host when it prints them (Env.HostFile).
package ir

import (
	"fmt"
	"sort"
	"strings"

	"polc/diag"
)

// Access is what a rule grants. The order is the tie-break order of Codex:
// on equally specific rules deny beats write beats read.
type Access int

const (
	Read Access = iota + 1
	Write
	Deny
)

var accessNames = map[Access]string{Read: "read", Write: "write", Deny: "deny"}

func (a Access) String() string {
	if s, ok := accessNames[a]; ok {
		return s
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// MarshalText writes the access as its TOML word.
func (a Access) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads read, write, deny (and none, Codex's old deny).
func (a *Access) UnmarshalText(b []byte) error {
	v, ok := ParseAccess(string(b))
	if !ok {
		return fmt.Errorf("unknown access %q", b)
	}
	*a = v
	return nil
}

// ParseAccess maps a TOML access word to an Access. "none" is Codex's
// legacy spelling of deny.
func ParseAccess(s string) (Access, bool) {
	switch s {
	case "read":
		return Read, true
	case "write":
		return Write, true
	case "deny", "none":
		return Deny, true
	}
	return 0, false
}

// Op is what a process tries to do with a path.
type Op int

const (
	// OpRead covers reading a file, listing a directory, and executing.
	OpRead Op = iota + 1
	// OpWrite covers create, modify, delete, rename, mkdir.
	OpWrite
)

func (o Op) String() string {
	switch o {
	case OpRead:
		return "read"
	case OpWrite:
		return "write"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// ParseOp maps a probe word (read, list, exec, write, mkdir, rm) to an Op.
func ParseOp(s string) (Op, bool) {
	switch s {
	case "read", "list", "exec":
		return OpRead, true
	case "write", "mkdir", "rm", "create", "delete":
		return OpWrite, true
	}
	return 0, false
}

// Symbolic variables that may start a Policy path.
const (
	VarWorkspaceRoot = "${WORKSPACE_ROOT}"
	VarHome          = "${HOME}"
	VarTmpdir        = "${TMPDIR}"
	VarCodexHome     = "${CODEX_HOME}"
)

// Origin says where a rule came from, so every decision can name the
// file:line that caused it.
type Origin struct {
	// Kind is one of the Origin* constants.
	Kind string `json:"kind"`
	// Key is the config key as written, e.g. ":workspace_roots/docs" or "~/.ssh".
	Key string   `json:"key,omitempty"`
	Pos diag.Pos `json:"pos,omitempty"`
	// Profile is the profile that contributed the rule (a parent in an
	// extends chain, or a built-in).
	Profile string `json:"profile,omitempty"`
}

// Origin kinds.
const (
	OriginConfig      = "config"      // a user-written rule
	OriginBuiltin     = "builtin"     // a built-in profile's body
	OriginProtected   = "protected"   // metadata protection (.git, .codex, ...)
	OriginRequirement = "requirement" // managed requirements (deny_read)
	OriginLegacy      = "legacy"      // sandbox_mode / [sandbox_workspace_write]
	OriginDefault     = "default"     // no rule matched: deny
)

func (o Origin) String() string {
	var b strings.Builder
	b.WriteString(o.Kind)
	if o.Key != "" {
		fmt.Fprintf(&b, " %q", o.Key)
	}
	if o.Profile != "" {
		fmt.Fprintf(&b, " (profile %s)", o.Profile)
	}
	if s := o.Pos.String(); s != "" {
		b.WriteString(" at ")
		b.WriteString(s)
	}
	return b.String()
}

// Rule grants an access to a path and everything below it.
type Rule struct {
	// Path is symbolic ("${WORKSPACE_ROOT}/docs") or absolute ("/etc").
	Path   string `json:"path"`
	Access Access `json:"access"`
	// Mandatory rules come from managed requirements: nothing overrides
	// them, not even a deeper rule.
	Mandatory bool `json:"mandatory,omitempty"`
	// SkipIfMissing rules (protected metadata) are dropped at launch when
	// the path does not exist.
	SkipIfMissing bool   `json:"skip_if_missing,omitempty"`
	Origin        Origin `json:"origin"`
}

// Glob denies every path it matches, and everything below a matched
// directory, whatever the exact rules say.
type Glob struct {
	// Pattern is symbolic and absolute, in doublestar syntax: * ? [..] **.
	Pattern string `json:"pattern"`
	// Base is the literal directory prefix before the first glob
	// character: where a scan starts.
	Base string `json:"base"`
	// MaxDepth caps snapshot expansion (Linux, Windows): 1 means entries
	// directly in Base. 0 means no cap.
	MaxDepth  int    `json:"max_depth,omitempty"`
	Mandatory bool   `json:"mandatory,omitempty"`
	Origin    Origin `json:"origin"`
}

// NetworkMode is the network a sandboxed command gets.
type NetworkMode string

const (
	NetworkNone NetworkMode = "none"
	NetworkFull NetworkMode = "full"
	// NetworkProxy lets traffic leave only through polc's egress proxy,
	// which decides each request by Network.Proxy (DecideNet).
	NetworkProxy NetworkMode = "proxy"
)

// Network is the network part of a policy.
type Network struct {
	Mode NetworkMode `json:"mode"`
	// Origin is the setting that decided the mode: the profile's
	// network.enabled, or what turned the managed proxy on (requirements'
	// experimental_network.enabled, features.network_proxy, or the
	// profile's domain rules).
	Origin Origin `json:"origin"`
	// UnixSockets are the host Unix sockets (path sockets, absolute) the
	// command may connect to whatever the mode: unix_sockets = { PATH =
	// "allow" }. Without one, and without AllUnixSockets, a command
	// without the network reaches no host Unix socket.
	UnixSockets []UnixSocket `json:"unix_sockets,omitempty"`
	// AllUnixSockets, when set, is where dangerously_allow_all_unix_sockets
	// = true was written: every host Unix socket the command can see is
	// reachable.
	AllUnixSockets *Origin `json:"all_unix_sockets,omitempty"`
	// Proxy is what a proxy-only network lets through (Mode ==
	// NetworkProxy); nil there means no domain is allowed. See DecideNet.
	Proxy *Proxy `json:"proxy,omitempty"`
}

// UnixSocket is one allowed host Unix socket.
type UnixSocket struct {
	Path   string `json:"path"`
	Origin Origin `json:"origin"`
}

// HostUnixSockets reports whether the policy lets the command reach any
// host Unix socket (beyond what a full network gives).
func (n Network) HostUnixSockets() bool { return n.AllUnixSockets != nil || len(n.UnixSockets) > 0 }

// Granular is approval_policy = { granular = {...} }.
type Granular struct {
	SandboxApproval    bool `json:"sandbox_approval"`
	Rules              bool `json:"rules"`
	MCPElicitations    bool `json:"mcp_elicitations"`
	SkillApproval      bool `json:"skill_approval"`
	RequestPermissions bool `json:"request_permissions"`
}

// Approvals are carried in the artifact for the agent runtime to read;
// the sandbox does not enforce them.
type Approvals struct {
	// Policy is on-request, never, granular, on-failure, or untrusted
	// (only when requirements force it).
	Policy   string    `json:"policy,omitempty"`
	Granular *Granular `json:"granular,omitempty"`
	// Reviewer is user or auto_review.
	Reviewer string `json:"reviewer,omitempty"`
	// AutoReviewPolicy is the effective auto-review policy text: the
	// managed guardian_policy_config, else the user's [auto_review].policy.
	AutoReviewPolicy string `json:"auto_review_policy,omitempty"`
	// AutoReviewPolicyOrigin says which of the two it is, and where.
	AutoReviewPolicyOrigin *Origin `json:"auto_review_policy_origin,omitempty"`
}

// Policy is a compiled permission profile.
type Policy struct {
	// Profile is the selected profile id; Extends its ancestors, nearest first.
	Profile string   `json:"profile"`
	Extends []string `json:"extends,omitempty"`
	// Unrestricted is :danger-full-access: no sandbox at all.
	Unrestricted bool `json:"unrestricted,omitempty"`
	// Minimal, when set, grants read on the platform's system
	// directories (the :minimal special); see MinimalRoots.
	Minimal *Origin `json:"minimal,omitempty"`
	// WorkspaceRoots are the roots :workspace_roots stands for, symbolic;
	// the first is always ${WORKSPACE_ROOT} (the -C directory).
	WorkspaceRoots []string `json:"workspace_roots"`
	Rules          []Rule   `json:"rules"`
	Globs          []Glob   `json:"globs,omitempty"`
	// GlobScanMaxDepth is glob_scan_max_depth (0: unset, no cap).
	GlobScanMaxDepth int       `json:"glob_scan_max_depth,omitempty"`
	Network          Network   `json:"network"`
	Approvals        Approvals `json:"approvals"`
	// RequirementsDigest is the sha256 of the requirement files applied,
	// "" when none.
	RequirementsDigest string `json:"requirements_digest,omitempty"`
}

// Origins calls f with every origin the policy records: RuleOrigins',
// and the approvals' auto-review policy origin.
func (p *Policy) Origins(f func(*Origin)) {
	p.RuleOrigins(f)
	if o := p.Approvals.AutoReviewPolicyOrigin; o != nil {
		f(o)
	}
}

// RuleOrigins calls f with the origin of every filesystem rule, deny
// glob, the :minimal roots, the network setting, its Unix sockets and
// the proxy's domain rules and settings: the origins that name the file
// a rule was read from. (Approvals carry theirs apart: see Origins.)
func (p *Policy) RuleOrigins(f func(*Origin)) {
	for i := range p.Rules {
		f(&p.Rules[i].Origin)
	}
	for i := range p.Globs {
		f(&p.Globs[i].Origin)
	}
	if p.Minimal != nil {
		f(p.Minimal)
	}
	f(&p.Network.Origin)
	for i := range p.Network.UnixSockets {
		f(&p.Network.UnixSockets[i].Origin)
	}
	if p.Network.AllUnixSockets != nil {
		f(p.Network.AllUnixSockets)
	}
	if px := p.Network.Proxy; px != nil {
		for i := range px.Domains {
			f(&px.Domains[i].Origin)
		}
		for i := range px.Dropped {
			d := &px.Dropped[i]
			f(&d.Rule.Origin)
			if d.By != nil {
				f(&d.By.Origin)
			}
			if d.Setting != nil {
				f(d.Setting)
			}
		}
		f(&px.MethodOrigin)
		f(&px.LocalOrigin)
		f(&px.SOCKS5Origin)
	}
}

// Sort puts rules and globs in canonical order: by path, then access, so
// that two compiles of the same input are byte-identical.
func (p *Policy) Sort() {
	sort.SliceStable(p.Rules, func(i, j int) bool {
		a, b := p.Rules[i], p.Rules[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Access != b.Access {
			return a.Access < b.Access
		}
		return a.Origin.Kind < b.Origin.Kind
	})
	sort.SliceStable(p.Globs, func(i, j int) bool {
		if p.Globs[i].Pattern != p.Globs[j].Pattern {
			return p.Globs[i].Pattern < p.Globs[j].Pattern
		}
		return !p.Globs[i].Mandatory && p.Globs[j].Mandatory
	})
}
