package main

import (
	"fmt"

	"polc/backends/landlock"
	"polc/compiler"
	"polc/diag"
	"polc/ir"
	"polc/shim"
)

// landlockPayload is the Landlock payload a compile asked for (--landlock
// or features.use_legacy_landlock = true), nil when it asked for none.
// The compile has refused a profile Landlock cannot enforce exactly; a
// refusal here (the host changed in between) fails closed all the same.
func landlockPayload(res *compiler.Result, env ir.Env) ([]byte, error) {
	if res.Landlock == nil {
		return nil, nil
	}
	p, conflicts := landlock.Lower(res.Policy, env)
	if len(conflicts) > 0 {
		return nil, execFailure("refusing to run: %s", oneLine(env.Bindings[ir.VarWorkspaceRoot], res.Env.HostDiags(diag.List{conflicts[0].Diagnostic(res.Landlock.By)})[0]))
	}
	b, err := p.Encode()
	if err != nil {
		return nil, execFailure("%v", diag.Errorf(diag.LandlockSetup, "%w", err))
	}
	return b, nil
}

// landlockWithArtifact refuses --landlock with a signed artifact: the
// artifact is bubblewrap's, and Landlock is decided from the policy.
func landlockWithArtifact() error {
	return usageErr("%v", diag.Errorf(diag.LandlockUnsupported, "exec: --landlock runs a compiled profile; it does not take --artifact or --trust"))
}

// landlockHelps are the host reasons bubblewrap cannot make its sandbox
// that Landlock mode does not need (it makes no namespace and mounts
// nothing); WSL1 and a host without seccomp are not among them.
var landlockHelps = []diag.Code{diag.LinuxNoBwrap, diag.LinuxNoUserNS, diag.HostSeccompBlocksUserNS,
	diag.HostNestedUserNS, diag.HostNoProcMount, diag.HostMountPropagation}

// landlockOffer says, when asked, whether Landlock mode would enforce
// the compiled profile exactly on this kernel ("" when not, or when the
// launch already uses it).
func landlockOffer(res *compiler.Result, env ir.Env) func() string {
	return func() string {
		if res.Landlock != nil || res.Policy == nil || res.Policy.Unrestricted {
			return ""
		}
		p, conflicts := landlock.Lower(res.Policy, env)
		abi := shim.LandlockABI()
		if len(conflicts) > 0 || abi == 0 || abi < p.MinABI {
			return ""
		}
		return fmt.Sprintf("Landlock (ABI %d) enforces %s exactly here", abi, res.Policy.Profile)
	}
}

// offerLandlock adds Landlock mode to the remedies of a launch that
// failed for a host reason Landlock does not share, when Landlock
// enforces the profile exactly here. polc never switches on its own.
func offerLandlock(p *prepared, err error) string {
	msg := err.Error()
	if p.landlockOffer == nil {
		return msg
	}
	code := diag.CodeOf(err)
	for _, c := range landlockHelps {
		if code == c {
			if offer := p.landlockOffer(); offer != "" {
				return msg + "; or run polc exec --landlock: " + offer
			}
			return msg
		}
	}
	return msg
}
