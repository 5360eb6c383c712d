package windows

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"polc/ir"
)

// Format names the plan schema; the evaluator and the runtime refuse any
// other.
const Format = "polc.windows.plan/v1"

// Modes of the Windows sandbox.
const (
	// Elevated runs the command as a separate sandbox account (one-time
	// setup needs an administrator): reads and writes are both confined.
	Elevated = "elevated"
	// Unelevated runs it as the signed-in user under a write-restricted
	// token: writes are confined, reads and the network are not.
	Unelevated = "unelevated"
)

// Access masks (hex in the plan). They follow the reference's acl.rs,
// with one deliberate change: the write grant omits FILE_DELETE_CHILD, so
// that a grant on a writable root never lets the sandbox delete or rename
// a protected child (.git, .codex, a carve-out) through its parent;
// deleting an ordinary child still works through the DELETE right the
// child inherits.
const (
	FileReadData        uint32 = 0x00000001 // also FILE_LIST_DIRECTORY
	FileWriteData       uint32 = 0x00000002 // also FILE_ADD_FILE
	FileAppendData      uint32 = 0x00000004 // also FILE_ADD_SUBDIRECTORY
	FileReadEA          uint32 = 0x00000008
	FileWriteEA         uint32 = 0x00000010
	FileExecute         uint32 = 0x00000020 // also FILE_TRAVERSE
	FileDeleteChild     uint32 = 0x00000040
	FileReadAttributes  uint32 = 0x00000080
	FileWriteAttributes uint32 = 0x00000100
	Delete              uint32 = 0x00010000
	ReadControl         uint32 = 0x00020000
	WriteDAC            uint32 = 0x00040000
	WriteOwner          uint32 = 0x00080000
	Synchronize         uint32 = 0x00100000
	GenericWrite        uint32 = 0x40000000
	GenericRead         uint32 = 0x80000000

	// MaskWrite is the write grant: FILE_GENERIC_READ|WRITE|EXECUTE|DELETE
	// without FILE_DELETE_CHILD (reference: 0x001301FF).
	MaskWrite uint32 = 0x001301BF
	// MaskReadExec is the read grant, FILE_GENERIC_READ|FILE_GENERIC_EXECUTE.
	MaskReadExec uint32 = 0x001200A9
	// MaskDenyWrite is the reference's deny-write mask.
	MaskDenyWrite uint32 = 0x40130156
	// MaskDenyRead denies reading, listing and executing. Unlike the
	// reference's 0x80120089 it leaves SYNCHRONIZE alone, which every
	// open of the object (for any purpose) asks for.
	MaskDenyRead uint32 = 0x800200A9
	// MaskFull is FILE_ALL_ACCESS: the real user's baseline on its files.
	MaskFull uint32 = 0x001F01FF
	// MaskNulDevice is what each capability SID gets on \\.\NUL.
	MaskNulDevice uint32 = 0x001201BF

	// NeedRead is what a read, a listing or an exec asks for.
	NeedRead = FileReadData | FileExecute | FileReadAttributes
	// NeedWrite is what a write, create, delete or rename asks for.
	NeedWrite = FileWriteData | FileAppendData | FileWriteAttributes | Delete
	// WriteBits are the rights the restricted token's second check
	// judges (GENERIC_WRITE's mapping plus the destructive rights).
	WriteBits = FileWriteData | FileAppendData | FileWriteEA | FileWriteAttributes |
		FileDeleteChild | Delete | WriteDAC | WriteOwner | GenericWrite
)

// Symbolic principals. Capability SIDs are "cap:" followed by the
// symbolic writable root ("cap:${WORKSPACE_ROOT}") or "cap:ro"; the
// runtime resolves every ref to a SID at launch.
const (
	SIDSandboxGroup = "grp:sandbox"
	SIDOffline      = "user:offline"
	SIDOnline       = "user:online"
	SIDProxyUser    = "user:proxy"
	SIDRealUser     = "user:real"
	SIDUsers        = "wk:users"
	SIDEveryone     = "wk:everyone"
	SIDAuthUsers    = "wk:authenticated"
	SIDReadOnlyCap  = "cap:ro"
	capPrefix       = "cap:"
)

// Account names the elevated setup creates.
const (
	GroupName       = "PolcSandboxUsers"
	OfflineUserName = "PolcSandboxOffline"
	OnlineUserName  = "PolcSandboxOnline"
	// ProxyUserName runs the commands of a proxy network: its firewall
	// rules leave loopback TCP to the proxy's ports open, which the
	// offline account's never do, so a command without the network
	// cannot reach another launch's proxy.
	ProxyUserName = "PolcSandboxProxy"
)

// CapRef is the capability SID ref of a writable root.
func CapRef(root string) string { return capPrefix + root }

// IsCap reports whether a SID ref is a capability SID.
func IsCap(ref string) bool { return strings.HasPrefix(ref, capPrefix) }

// Plan is the Windows artifact.
type Plan struct {
	Format  string `json:"format"`
	Profile string `json:"profile"`
	// Unrestricted is :danger-full-access: nothing is confined.
	Unrestricted bool `json:"unrestricted,omitempty"`
	// PreferredMode is the mode the runtime uses: unelevated when it
	// can enforce everything (no setup needed), elevated otherwise.
	PreferredMode string      `json:"preferred_mode"`
	Principals    []Principal `json:"principals"`
	Network       NetworkPlan `json:"network"`
	// SystemReadRoots are readable by every account on Windows and
	// are never changed: a process cannot start without them.
	SystemReadRoots []string `json:"system_read_roots"`
	// Assumptions are the host facts the plan relies on; the evaluator
	// models exactly these.
	Assumptions []string         `json:"assumptions"`
	Modes       map[string]*Mode `json:"modes"`
}

// Principal is one symbolic SID.
type Principal struct {
	Ref string `json:"ref"`
	// Kind is capability, group, user or well_known.
	Kind string `json:"kind"`
	// Root is the writable root a capability SID stands for.
	Root string `json:"root,omitempty"`
	// Name is the account or group name; SID the well-known SID.
	Name string `json:"name,omitempty"`
	SID  string `json:"sid,omitempty"`
}

// NetworkPlan is the network part.
type NetworkPlan struct {
	// Mode is none, full or proxy (ir.NetworkMode).
	Mode string `json:"mode"`
	// ProxyPorts are the loopback TCP ports the offline account's
	// firewall rules leave open in proxy mode: the listeners of Proxy
	// when set, else those of a proxy the user runs.
	ProxyPorts []int `json:"proxy_ports,omitempty"`
	// Proxy is the proxy network polc's egress proxy enforces for the
	// launch, on 127.0.0.1 at ProxyPorts (ir.NetDecider on it decides
	// every request).
	Proxy *ir.Proxy `json:"proxy,omitempty"`
}

// Mode is one way to run the plan.
type Mode struct {
	// Identity is the account the command runs as.
	Identity string `json:"identity"`
	// Refused is set when a gap refuses: the runtime will not run this
	// mode unless the plan was built with AllowUnenforceable.
	Refused bool `json:"refused"`
	// AllowUnenforceable records that the user accepted the gaps, and the
	// host gaps the runtime finds at launch.
	AllowUnenforceable bool `json:"allow_unenforceable,omitempty"`
	// Gaps are the rules this mode cannot enforce as written.
	Gaps  []Gap  `json:"gaps,omitempty"`
	Steps []Step `json:"steps"`
}

// Gap is a rule a mode cannot enforce. A refusing gap would leave
// something open that the policy closes; a fail-closed gap only keeps
// something closed that the policy opens.
type Gap struct {
	Code    string `json:"code"`
	Refuses bool   `json:"refuses"`
	// Op is read, write or net; Path (symbolic) is the subtree the gap
	// covers ("/" for everything).
	Op      string `json:"op"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// Step ops.
const (
	OpGroupEnsure  = "group.ensure"
	OpUserEnsure   = "user.ensure"
	OpCapEnsure    = "capsid.ensure"
	OpACLAllow     = "acl.allow"
	OpACLDeny      = "acl.deny"
	OpGlobDeny     = "glob.deny"
	OpNulDevice    = "acl.nul_device"
	OpFirewallRule = "firewall.rule"
	OpEnvSet       = "env.set"
	OpToken        = "token.restricted"
	OpJob          = "job.create"
	OpSpawn        = "spawn"
)

// Step is one operation. Fields not used by an op are omitted.
type Step struct {
	Op string `json:"op"`
	// Path (symbolic) for ACL steps.
	Path string `json:"path,omitempty"`
	// SID is a principal ref.
	SID string `json:"sid,omitempty"`
	// Mask is hex, e.g. "0x001301bf".
	Mask string `json:"mask,omitempty"`
	// Inherit is "CI|OI" or "" (this object only).
	Inherit string `json:"inherit,omitempty"`
	// Access is the access of the rule the ACE implements (read, write,
	// deny): when two rules land on one host path, the runtime keeps the
	// winner's ACEs only (deny > write > read), as ir.Decide breaks ties.
	Access string `json:"access,omitempty"`
	// Mandatory denies (managed requirements) and glob matches are
	// re-applied at every granted path below them: nothing re-grants
	// beneath them.
	Mandatory bool `json:"mandatory,omitempty"`
	// Materialize creates a missing path as a directory before the ACE
	// is set, so the sandbox cannot create it unprotected; the runtime
	// removes it after the run if it is still empty.
	Materialize bool `json:"materialize,omitempty"`
	// SkipIfMissing drops the step when the path does not exist.
	SkipIfMissing bool `json:"skip_if_missing,omitempty"`
	// Pattern, Base, MaxDepth: glob.deny (expanded at launch).
	Pattern  string `json:"pattern,omitempty"`
	Base     string `json:"base,omitempty"`
	MaxDepth int    `json:"max_depth,omitempty"`
	// Name: account, group or firewall rule name.
	Name    string   `json:"name,omitempty"`
	Members []string `json:"members,omitempty"`
	// Firewall rule fields.
	Direction   string `json:"direction,omitempty"`
	Protocol    string `json:"protocol,omitempty"`
	RemoteAddrs string `json:"remote_addrs,omitempty"`
	RemotePorts string `json:"remote_ports,omitempty"`
	Action      string `json:"action,omitempty"`
	// Token fields.
	Flags       []string `json:"flags,omitempty"`
	Restricting []string `json:"restricting,omitempty"`
	DefaultDACL []string `json:"default_dacl,omitempty"`
	// Job limits.
	Limits []string `json:"limits,omitempty"`
	// Env values set by env.set.
	Env map[string]string `json:"env,omitempty"`
	// Via is how spawn starts the command.
	Via string `json:"via,omitempty"`
	// Why says which rule the step implements (its origin).
	Why string `json:"why,omitempty"`
}

// MaskValue parses the step's hex mask.
func (s Step) MaskValue() (uint32, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(s.Mask, "0x"), 16, 32)
	if err != nil {
		return 0, fmt.Errorf("step %s %s: bad mask %q", s.Op, s.Path, s.Mask)
	}
	return uint32(v), nil
}

// Inheritable reports CI|OI.
func (s Step) Inheritable() bool { return s.Inherit != "" }

func hexMask(m uint32) string { return fmt.Sprintf("0x%08x", m) }

// Decode reads a plan and checks its shape, so that a tampered or foreign
// payload fails with a clear error rather than a half-applied plan.
func Decode(payload []byte) (*Plan, error) {
	var p Plan
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("windows plan: %w", err)
	}
	if p.Format != Format {
		return nil, fmt.Errorf("windows plan: format %q, want %q", p.Format, Format)
	}
	if len(p.Modes) == 0 {
		return nil, fmt.Errorf("windows plan: no modes")
	}
	for name, m := range p.Modes {
		if name != Elevated && name != Unelevated {
			return nil, fmt.Errorf("windows plan: unknown mode %q", name)
		}
		if m == nil {
			return nil, fmt.Errorf("windows plan: mode %s is empty", name)
		}
		for i, s := range m.Steps {
			switch s.Op {
			case OpACLAllow, OpACLDeny, OpGlobDeny, OpNulDevice:
				if _, err := s.MaskValue(); err != nil {
					return nil, fmt.Errorf("windows plan: mode %s step %d: %w", name, i, err)
				}
				if s.SID == "" {
					return nil, fmt.Errorf("windows plan: mode %s step %d (%s): no sid", name, i, s.Op)
				}
			case OpGroupEnsure, OpUserEnsure, OpCapEnsure, OpFirewallRule, OpEnvSet, OpToken, OpJob, OpSpawn:
			default:
				return nil, fmt.Errorf("windows plan: mode %s step %d: unknown op %q", name, i, s.Op)
			}
			if (s.Op == OpACLAllow || s.Op == OpACLDeny) && s.Path == "" {
				return nil, fmt.Errorf("windows plan: mode %s step %d (%s): no path", name, i, s.Op)
			}
			if s.Op == OpGlobDeny && (s.Pattern == "" || s.Base == "") {
				return nil, fmt.Errorf("windows plan: mode %s step %d: glob.deny without pattern or base", name, i)
			}
		}
	}
	if px := p.Network.Proxy; px != nil {
		if p.Network.Mode != string(ir.NetworkProxy) {
			return nil, fmt.Errorf("windows plan: a proxy with network %q", p.Network.Mode)
		}
		if _, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: px}); err != nil {
			return nil, fmt.Errorf("windows plan: proxy: %v", err)
		}
		want := px.Listeners()
		if px.PortsCollide() || fmt.Sprint(want) != fmt.Sprint(p.Network.ProxyPorts) {
			return nil, fmt.Errorf("windows plan: proxy ports %v are not the proxy's listeners %v", p.Network.ProxyPorts, want)
		}
	} else if p.Network.Mode == string(ir.NetworkProxy) && !p.Unrestricted {
		return nil, fmt.Errorf("windows plan: a proxy network without its proxy")
	}
	if _, ok := p.Modes[p.PreferredMode]; !ok && !p.Unrestricted {
		return nil, fmt.Errorf("windows plan: preferred mode %q not in the plan", p.PreferredMode)
	}
	return &p, nil
}
