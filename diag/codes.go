package diag

import (
	"sort"
	"sync"
)

// Code is a stable diagnostic identifier such as "POL012". Codes are never
// renumbered: tools and users match on them.
type Code string

// CodeInfo describes a code for `polc check --format sarif` rules and docs.
type CodeInfo struct {
	Code     Code
	Severity Severity
	Title    string
}

// declared are the codes in the order the package declares them; the
// table to look them up in is built the first time one is (a polc that
// says nothing never pays for it: polc exec starts on every command).
var declared = make([]CodeInfo, 0, 256)

// register adds a code to the table; each backend or stage that owns a
// range of codes declares them in its own codes_*.go file in this package.
func register(c Code, s Severity, title string) Code {
	declared = append(declared, CodeInfo{Code: c, Severity: s, Title: title})
	return c
}

// registry is the table of declared codes. A code declared twice is a
// bug polc must not ship: it panics (TestCodesAreUnique).
var registry = sync.OnceValue(func() map[Code]CodeInfo {
	m := make(map[Code]CodeInfo, len(declared))
	for _, info := range declared {
		if _, dup := m[info.Code]; dup {
			panic("diag: duplicate code " + string(info.Code))
		}
		m[info.Code] = info
	}
	return m
})

// Severity is the code's default severity.
func (c Code) Severity() Severity {
	if info, ok := registry()[c]; ok {
		return info.Severity
	}
	return Error
}

// Title is the code's short name.
func (c Code) Title() string { return registry()[c].Title }

// Codes lists every registered code in order.
func Codes() []CodeInfo {
	reg := registry()
	out := make([]CodeInfo, 0, len(reg))
	for _, info := range reg {
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// Ranges, so that owners never collide:
//   POL001–POL049 front end and profile semantics (this file)
//   POL050–POL059 requirements (this file)
//   POL060–POL069 globs and expansion (this file)
//   POL070–POL079 Linux backend and runtime (codes_bwrap.go)
//   POL080–POL089 macOS backend (codes_macos.go)
//   POL090–POL099 Windows backend (codes_win.go)
//   POL100–POL119 artifacts, signatures, builds (codes_artifact.go)
//   POL120–POL129 Linux runtime, continued (codes_bwrap.go)
//   POL130–POL139 host diagnosis: polc doctor, exec's host failures (codes_host.go)
//   POL140–POL149 what polc says agrees with what exec enforces (codes_agree.go)
//   POL150–POL159 network: domain rules and the egress proxy (codes_net.go)
//   POL160–POL169 requirements and approvals, continued (this file)
//   POL170–POL179 polc check on real configs (codes_check.go)
//   POL260–POL264 launch failures no other range names (codes_diag.go)

// Front end: reading and decoding the TOML.
var (
	SyntaxError      = register("POL001", Error, "TOML syntax error")
	DuplicateKey     = register("POL002", Error, "duplicate key")
	WrongType        = register("POL003", Error, "wrong value type")
	UnknownKey       = register("POL004", Warning, "unknown key")
	FileTooLarge     = register("POL005", Error, "input file too large")
	BinaryInput      = register("POL006", Error, "input is not UTF-8 text")
	FileUnreadable   = register("POL007", Error, "input file cannot be read")
	BadOverride      = register("POL008", Error, "malformed -c override")
	UntrustedProject = register("POL009", Warning, "project config ignored: project not trusted")
)

// Profiles and filesystem rules.
var (
	NoDefaultPermissions = register("POL010", Error, "profiles defined without default_permissions")
	UnknownProfile       = register("POL011", Error, "unknown profile")
	ReservedProfileName  = register("POL012", Error, "reserved profile name")
	ExtendsCycle         = register("POL013", Error, "extends cycle")
	ExtendsUndefined     = register("POL014", Error, "extends an undefined profile")
	ExtendsUnsupported   = register("POL015", Error, "extends an unsupported built-in")
	RelativePath         = register("POL016", Error, "filesystem path must be absolute")
	BadSubpath           = register("POL017", Error, "invalid nested sub-path")
	NestedNotSupported   = register("POL018", Error, "special path does not support nested entries")
	UnknownSpecial       = register("POL019", Warning, "unknown special path ignored")
	BadAccess            = register("POL020", Error, "unknown access value")
	GlobNotDeny          = register("POL021", Error, "glob with read/write access")
	NulInPath            = register("POL022", Error, "NUL byte in a path")
	BadScanDepth         = register("POL023", Error, "glob_scan_max_depth must be at least 1")
	EmptyFilesystem      = register("POL024", Warning, "profile grants no filesystem access")
	LegacyIgnored        = register("POL025", Warning, "legacy sandbox settings ignored")
	BadApprovalPolicy    = register("POL026", Error, "unknown approval_policy")
	BadReviewer          = register("POL027", Error, "unknown approvals_reviewer")
	BadSandboxMode       = register("POL028", Error, "unknown sandbox_mode")
	DeprecatedValue      = register("POL029", Warning, "deprecated spelling")
	ProtectedWrite       = register("POL030", Warning, "write grant covers protected metadata")
	DeadRule             = register("POL031", Warning, "rule is shadowed and has no effect")
	MissingWriteRoot     = register("POL032", Warning, "writable root does not exist")
	SymlinkCrossesRoot   = register("POL033", Error, "symlink in a protected or denied path crosses a writable root")
	OverBroadGlob        = register("POL034", Error, "over-broad glob")
	ReadWriteUnderDeny   = register("POL035", Warning, "grant below a denied directory")
	DangerFullAccess     = register("POL036", Warning, "profile disables the sandbox")
	BadNetwork           = register("POL037", Error, "invalid network setting")
	NetworkNotEnforced   = register("POL038", Warning, "network setting not enforced")
	BadWorkspaceRoot     = register("POL039", Error, "invalid workspace root")
	AllUnixSockets       = register("POL040", Warning, "every host Unix socket is reachable")
)

// Requirements.
var (
	ProfileNotAllowed       = register("POL050", Error, "profile not allowed by requirements")
	SandboxModeNarrowed     = register("POL051", Warning, "sandbox mode not allowed; falling back")
	RequirementDenyConflict = register("POL052", Warning, "grant overridden by a requirement deny")
	BadRequirement          = register("POL053", Error, "invalid requirement")
	ApprovalNarrowed        = register("POL054", Warning, "approval setting not allowed; falling back")
	ReservedRequirementKey  = register("POL055", Error, "reserved requirements table defines a profile")
	DefaultNarrowed         = register("POL056", Warning, "default profile not allowed; falling back")
)

// Requirements and approvals, continued.
var (
	RetiredApprovalPolicy      = register("POL160", Error, "approval_policy \"untrusted\" is no longer supported")
	ReviewerNeverRuns          = register("POL161", Warning, "auto-review reviewer never runs with approval_policy never")
	AutoReviewPolicyOverridden = register("POL162", Warning, "auto-review policy text overridden by requirements")
	ManagedDefaultMissing      = register("POL163", Error, "managed profile defaults are incomplete")
	RemoteSandboxConfig        = register("POL164", Info, "remote sandbox config applies to this host")
	LegacyLandlock             = register("POL165", Error, "use_legacy_landlock cannot enforce this profile")
)

// Globs.
var (
	BadGlob         = register("POL060", Error, "malformed glob")
	BeyondScanDepth = register("POL061", Warning, "deny glob matches beyond glob_scan_max_depth")
	UnboundedGlob   = register("POL062", Info, "deny glob expansion is unbounded")
	GlobScanError   = register("POL063", Warning, "deny glob scan could not read a directory")
)
