package main

import (
	"polc/backends/landlock"
	"polc/compiler"
	"polc/diag"
	"polc/ir"
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
		return nil, execFailure("refusing to run: %s", oneLine(conflicts[0].Diagnostic(res.Landlock.By)))
	}
	b, err := p.Encode()
	if err != nil {
		return nil, execFailure("%v [%s]", err, diag.LandlockSetup)
	}
	return b, nil
}

// landlockWithArtifact refuses --landlock with a signed artifact: the
// artifact is bubblewrap's, and Landlock is decided from the policy.
func landlockWithArtifact() error {
	return usageErr("exec: --landlock runs a compiled profile; it does not take --artifact or --trust [%s]", diag.LandlockUnsupported)
}
