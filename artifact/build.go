package artifact

import (
	"crypto/ed25519"
	"fmt"

	"polc/backends"
	"polc/diag"
	"polc/ir"
)

// BuildOptions select what Build produces.
type BuildOptions struct {
	// Targets are platform names; Build refuses an unknown or
	// unregistered one rather than skipping it.
	Targets []ir.Platform
	// Version is the polc version stamped into the scope.
	Version string
	// SignKey, when set, signs every artifact.
	SignKey ed25519.PrivateKey
	// Lower is passed to each backend.
	Lower backends.Options
}

// Build lowers the policy for every target and packages each output. It
// returns artifacts only when every target succeeded: a build never
// produces some platforms and silently skips others. The diagnostics
// include the backends' own.
func Build(p *ir.Policy, bindings ir.Bindings, opts BuildOptions) ([]*Artifact, diag.List) {
	var diags diag.List
	var arts []*Artifact
	// Backends lower the portable policy, so that origins they copy into
	// their payloads name files symbolically too.
	p, err := PortablePolicy(p, bindings)
	if err != nil {
		diags.Addf(CodeOrDefault(err, diag.ArtifactMalformed), diag.Pos{}, "", "%s", Message(err))
		return nil, diags
	}
	seen := map[ir.Platform]bool{}
	for _, target := range opts.Targets {
		if seen[target] {
			continue
		}
		seen[target] = true
		if _, err := ir.ParsePlatform(string(target)); err != nil {
			diags.Addf(diag.TargetUnavailable, diag.Pos{}, fmt.Sprintf("use one of %v", ir.Platforms), "unknown target %q", target)
			continue
		}
		b, err := backends.Get(target)
		if err != nil {
			diags.Addf(diag.TargetUnavailable, diag.Pos{}, "build the other targets with --target, or use a polc that includes this backend",
				"target %s: no backend is registered in this polc (registered: %v)", target, backends.Platforms())
			continue
		}
		out, bd := b.Lower(p, opts.Lower)
		diags = append(diags, bd...)
		if bd.HasErrors() || out == nil {
			diags.Addf(diag.LowerFailed, diag.Pos{}, "fix the errors above", "target %s: the backend could not lower the policy; nothing written", target)
			continue
		}
		if out.Platform != target {
			diags.Addf(diag.LowerFailed, diag.Pos{}, "", "target %s: the backend produced a %q artifact", target, out.Platform)
			continue
		}
		a, err := New(p, bindings, target, opts.Version, out.Payload, out.Files)
		if err != nil {
			diags.Addf(CodeOrDefault(err, diag.LowerFailed), diag.Pos{}, "", "target %s: %s", target, Message(err))
			continue
		}
		if opts.SignKey != nil {
			if err := a.Sign(opts.SignKey); err != nil {
				diags.Addf(CodeOrDefault(err, diag.ArtifactMalformed), diag.Pos{}, "", "target %s: %s", target, Message(err))
				continue
			}
		}
		arts = append(arts, a)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return arts, diags
}

// CodeOrDefault returns the artifact error's code, or def for other errors.
func CodeOrDefault(err error, def diag.Code) diag.Code {
	if c := CodeOf(err); c != "" {
		return c
	}
	return def
}
