package shim

import (
	"io"

	"polc/backends/bwrap"
	"polc/diag"
	"polc/ir"
)

// Launch is one command to run under an artifact.
type Launch struct {
	// Linux is the Linux artifact, as lowered (backends.Output.Artifact)
	// or as read from an artifact file (bwrap.Decode): the Linux
	// launches run it as it is, never encoded and decoded again.
	Linux *bwrap.Artifact
	// Payload is the macOS or Windows artifact's canonical JSON
	// (backends.Output.Payload).
	Payload []byte
	// Files are the artifact's side files (backends.Output.Files).
	Files map[string][]byte
	// Env binds the artifact's variables on this host.
	Env ir.Env
	// Argv is the command and its arguments.
	Argv []string
	// Dir is the working directory for the command.
	Dir string
	// Environ is the command's environment (KEY=VALUE).
	Environ []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// Network is the policy's network: the domain rules polc's egress
	// proxy enforces when the artifact asks for a proxy-only network.
	Network *ir.Network
	// NetLog, when set, receives one JSON line per request the proxy
	// refuses (stderr gets one line each anyway).
	NetLog io.Writer
	// Debug, when set, receives one line for each step of a Linux launch
	// (planning, the launch chosen and why, the masks, the checks).
	Debug io.Writer
	// MaskStage launches through the mask stage even where the direct
	// launch would do (tests run the conformance cases through both).
	MaskStage bool
	// WindowsMode is the mode a Windows plan runs in (elevated or
	// unelevated); empty means the plan's preferred mode.
	WindowsMode string
	// Ready, when set, is called once polc's own checks and planning for
	// the launch have passed, just before the sandbox starts: the caller
	// prints its warnings there, so that a launch polc refuses still
	// fails with one line.
	Ready func()
}

// An error a launch returns is polc's own failure to run the command
// (exit 125 in the CLI), as opposed to the command's exit status, and
// always a *diag.Diagnostic: diag.CodeOf names why.

// failure is err as a launch returns it: err itself when it carries a
// diagnostic already, else a diagnostic of code wrapping it.
func failure(code diag.Code, err error) error {
	if _, ok := diag.AsDiagnostic(err); ok {
		return err
	}
	return diag.Errorf(code, "%w", err)
}

// failf is polc's own failure with its code.
func failf(code diag.Code, format string, args ...any) *diag.Diagnostic {
	return diag.Errorf(code, format, args...)
}
