package artifact

import (
	"crypto/ed25519"

	"polc/backends"
	"polc/diag"
	"polc/ir"
)

// BuildOptions select what Build produces.
type BuildOptions struct {
	// Version is the polc version stamped into the scope.
	Version string
	// SignKey, when set, signs every artifact.
	SignKey ed25519.PrivateKey
}

// Build packages each platform's lowering of p (lowering.LowerAll). The
// policy is the compiler's, whose origins name files symbolically
// (ir.Env.HostFile), so the backends copy no host path into a payload. It
// returns artifacts only when every platform succeeded: a build never
// produces some platforms and silently skips others. The diagnostics
// include the backends' own.
func Build(p *ir.Policy, lowered []backends.Result, opts BuildOptions) ([]*Artifact, diag.List) {
	var diags diag.List
	var arts []*Artifact
	for _, r := range lowered {
		diags = append(diags, r.Diags...)
		if r.Refusal() != nil || r.Output == nil {
			diags.Addf(diag.LowerFailed, diag.Pos{}, "fix the errors above", "target %s: the backend could not lower the policy; nothing written", r.Platform)
			continue
		}
		a, err := New(p, r.Platform, opts.Version, r.Output.Payload, r.Output.Files)
		if err != nil {
			diags.Addf(CodeOrDefault(err, diag.LowerFailed), diag.Pos{}, "", "target %s: %s", r.Platform, diag.MessageOf(err))
			continue
		}
		if opts.SignKey != nil {
			if err := a.Sign(opts.SignKey); err != nil {
				diags.Addf(CodeOrDefault(err, diag.ArtifactMalformed), diag.Pos{}, "", "target %s: %s", r.Platform, diag.MessageOf(err))
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
