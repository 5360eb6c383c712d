// Package compiler is polc's front end and its passes: it reads the
// config.toml and requirements.toml layers, keeps every value's position,
// resolves the selected profile, applies requirements, binds roots,
// protects metadata, checks for conflicts and expands deny globs, and
// yields an ir.Policy plus diagnostics.
package compiler

import (
	"time"

	"polc/diag"
	"polc/ir"
)

// Options select the inputs of one compile. Zero values mean Codex's
// discovery: $CODEX_HOME (default ~/.codex), /etc/codex, the project's
// .codex layers from the repo root down to Dir.
type Options struct {
	// Dir is -C: the project directory (the primary workspace root).
	// Empty means the current directory.
	Dir string
	// Profile is -P; empty means default_permissions (or Codex's default).
	Profile string
	// ConfigFiles are --config layers, applied above the user layer.
	ConfigFiles []string
	// Overrides are -c key=value, the highest config layer.
	Overrides []string
	// RequirementFiles are --requirements; when empty,
	// SystemDir/requirements.toml is read if it exists.
	RequirementFiles []string
	// Env values; empty means the process environment.
	CodexHome, Home, Tmpdir string
	// SystemDir replaces /etc/codex (tests).
	SystemDir string
	// ForExec loads project layers only for trusted projects, as Codex
	// does when it runs a command.
	ForExec bool
	// Hostname is the host remote_sandbox_config entries are matched
	// against (--hostname); empty means this machine's name.
	Hostname string
	// Strict promotes beyond-depth glob matches to errors.
	Strict bool
	// Verbose lets grouped diagnostics name every path, those outside
	// the project and the user's home included (by default they name a
	// few, and only there).
	Verbose bool
	// NoExpand skips the glob expansion pass (the shim expands at launch).
	NoExpand bool
	// ExpandCacheDir, when set, lets the expansion pass revalidate a
	// cached walk by directory timestamps (globwalk.Options.CacheDir); it
	// must be a directory the sandbox cannot write. Empty: a fresh walk.
	ExpandCacheDir string
	// ExpandCacheKey authenticates that cache (globwalk.Options.CacheKey):
	// without it there is no cache.
	ExpandCacheKey []byte
	// Resolve, when set, replaces ir.ResolvePath where the passes judge
	// rule paths on this host (protect metadata, check): polc rollout
	// shares one memoizing resolver across thousands of compiles on the
	// same host. It must answer as ir.ResolvePath does.
	Resolve func(string) string
	// Landlock is --landlock: the command is to run under Landlock and
	// seccomp instead of bubblewrap, as with features.use_legacy_landlock
	// = true; the compile refuses a profile Landlock cannot enforce
	// exactly (backends/landlock).
	Landlock bool
	// Host, when set, answers the passes' host lookups (stat, symlinks,
	// the shell's loader) from a cache shared across compiles; see
	// HostCache for when that is sound. Nil: every compile asks the host.
	Host *HostCache
}

// Result is the outcome of a compile. Policy is nil when Diags has errors.
type Result struct {
	Policy *ir.Policy
	// Env binds the policy's variables on this host, and names the
	// policy's symbolic origin files on it (ir.Env.HostFile).
	Env   ir.Env
	Diags diag.List
	// Expansion is the compile-time expansion of the deny globs, with the
	// matches beyond the depth cap listed separately.
	Expansion *Expansion
	// Timings are the passes in order with their wall time.
	Timings []Timing
	// Landlock, when set, says the command runs under Landlock, and who
	// asked (--landlock, or features.use_legacy_landlock = true).
	Landlock *LandlockRequest
}

// LandlockRequest is what asked for Landlock mode.
type LandlockRequest struct {
	// By is "--landlock" or "features.use_legacy_landlock = true at
	// FILE:LINE:COL" (with "(pinned by requirements)" when pinned).
	By string
	// Pos is where the feature was set (zero for the flag).
	Pos    diag.Pos
	pinned bool
}

// Expansion reports which existing paths each deny glob matches now.
type Expansion struct {
	// Matches are host paths masked within the depth cap, sorted.
	Matches []ExpandedMatch `json:"matches"`
	// BeyondCap are host paths that match but lie deeper than
	// glob_scan_max_depth: Linux and Windows leave them readable.
	BeyondCap []ExpandedMatch `json:"beyond_cap,omitempty"`
}

// ExpandedMatch is one path a glob matched.
type ExpandedMatch struct {
	Path    string `json:"path"`
	Pattern string `json:"pattern"`
	Depth   int    `json:"depth"`
	IsDir   bool   `json:"is_dir,omitempty"`
}

// Timing is one pass's name and duration.
type Timing struct {
	Pass     string
	Duration time.Duration
}
