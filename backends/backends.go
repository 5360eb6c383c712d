// Package backends is the registry of platform backends. Each backend
// lowers an ir.Policy into its artifact payload and can read that payload
// back through an evaluator, so that what a platform would enforce is
// checked against ir.Decide (translation validation).
package backends

import (
	"fmt"
	"sort"

	"polc/diag"
	"polc/ir"
)

// Output is what a backend produces for one policy.
type Output struct {
	// Platform is the platform the payload is for.
	Platform ir.Platform
	// Payload is the canonical JSON artifact body.
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
	// Evaluator reads a payload produced by Lower back, bound to env.
	Evaluator(payload []byte, env ir.Env) (Evaluator, error)
}

// Options tune lowering.
type Options struct {
	// AllowUnenforceable downgrades "cannot enforce" errors to warnings:
	// the user opted in to a weaker sandbox.
	AllowUnenforceable bool
}

var registry = map[ir.Platform]Backend{}

// Register adds a backend; each backend package calls it from init.
func Register(b Backend) {
	if _, dup := registry[b.Platform()]; dup {
		panic("backends: duplicate platform " + string(b.Platform()))
	}
	registry[b.Platform()] = b
}

// Get returns the backend for a platform name.
func Get(platform ir.Platform) (Backend, error) {
	b, ok := registry[platform]
	if !ok {
		return nil, fmt.Errorf("unknown target %q (known: %v)", platform, Platforms())
	}
	return b, nil
}

// Platforms lists the registered platform names, sorted.
func Platforms() []ir.Platform {
	out := make([]ir.Platform, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
