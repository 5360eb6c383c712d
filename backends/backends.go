// Package backends is what every platform backend implements. Each
// backend lowers an ir.Policy into its artifact payload and can read that
// payload back through an evaluator, so that what a platform would
// enforce is checked against ir.Decide (translation validation). The set
// of backends is closed: package lowering lists them, one per
// ir.Platform.
package backends

import (
	"polc/diag"
	"polc/ir"
)

// Output is what a backend produces for one policy.
type Output struct {
	// Platform is the platform the payload is for.
	Platform ir.Platform
	// Artifact is the backend's own payload value (*bwrap.Artifact,
	// *seatbelt.Payload, *windows.Plan): what the launcher runs.
	Artifact any
	// Payload is Artifact as canonical JSON, the artifact body (empty
	// for Linux when Options.NoPayload asked not to encode it).
	Payload []byte
	// Files are extra files written beside the artifact, by name suffix
	// (for example "sb" for the macOS profile text).
	Files map[string][]byte
}

// Verdict is an evaluator's answer for one path and operation.
type Verdict struct {
	Allowed bool
	// Reason names what in the artifact decided (a mount, an SBPL rule,
	// an ACE), one line.
	Reason string
}

// Evaluator answers access questions from an artifact, on bound host paths.
type Evaluator interface {
	Decide(hostPath string, op ir.Op) Verdict
	// Network reports whether an outbound connection to host:port is allowed.
	Network(host string, port int) Verdict
}

// SocketEvaluator is an Evaluator that also answers whether the command
// may connect to a host Unix socket (a path socket) at hostPath.
type SocketEvaluator interface {
	UnixConnect(hostPath string) Verdict
}

// Backend lowers policies for one platform and evaluates its own artifacts.
type Backend interface {
	Platform() ir.Platform
	// Lower compiles the policy. Rules the platform cannot enforce are
	// reported as error diagnostics (fail closed) unless the caller opted in.
	Lower(p *ir.Policy, opts Options) (*Output, diag.List)
	// Check reports what Lower would, without building the payload
	// (polc rollout asks it of thousands of policies).
	Check(p *ir.Policy, opts Options) diag.List
	// Evaluator reads a payload produced by Lower back, bound to env, as
	// the launcher would run it with opts.
	Evaluator(payload []byte, env ir.Env, opts Options) (Evaluator, error)
}

// Options tune lowering and evaluation.
type Options struct {
	// AllowUnenforceable downgrades "cannot enforce" errors to warnings:
	// the user opted in to a weaker sandbox.
	AllowUnenforceable bool
	// NoPayload: the caller runs Output.Artifact in this process and
	// neither writes nor evaluates the payload (polc exec lowers at
	// every launch), so the Linux backend does not encode it.
	NoPayload bool
	// WindowsMode is the mode a Windows plan runs in (elevated or
	// unelevated); empty means the plan's preferred mode. The Windows
	// evaluator answers for it, as the launcher runs it.
	WindowsMode string
}

// Result is one platform's lowering (see package lowering's LowerAll).
type Result struct {
	Platform ir.Platform
	// Output is the artifact payload. A refused platform (Refusal not
	// nil) may still have one, to show what the backend made of the
	// policy (the golden corpus does); nothing runs or writes it.
	Output *Output
	// Diags are the backend's diagnostics: what the platform cannot
	// enforce, or enforces differently.
	Diags diag.List
}

// Refusal is the first error that refused the platform, or nil when the
// policy was lowered (and Output is set).
func (r Result) Refusal() *diag.Diagnostic {
	for i := range r.Diags {
		if r.Diags[i].Severity == diag.Error {
			return &r.Diags[i]
		}
	}
	return nil
}
