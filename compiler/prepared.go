package compiler

import (
	"maps"

	"polc/diag"
)

// Prepared is one config read once — host values found, config layers
// read and parsed, trust decided — to be compiled under several
// selections and requirement sets. polc rollout compiles every profile
// of a config under the baseline and the new requirements: that is six
// compiles of the same layers, which Prepared reads once.
//
// (*Prepared).Compile(profile, reqs) gives exactly what Compile gives
// for the Options passed to Prepare with Profile and RequirementFiles
// replaced, as long as the config files do not change in between. A
// Prepared is safe for concurrent use: each compile works on its own
// copy of the prepared state.
type Prepared struct {
	base *state
}

// Prepare reads the config layers opts selects. opts.Profile and
// opts.RequirementFiles are ignored: each compile names its own.
func Prepare(opts Options) *Prepared {
	s := &state{opts: opts}
	s.parseConfig()
	return &Prepared{base: s}
}

// fork is a copy of the prepared state for one compile: what the later
// passes append to or write is the copy's own; the parsed layers, which
// no pass changes (merging clones them), are shared.
func (p *Prepared) fork(profile string, requirementFiles []string) *state {
	s := *p.base
	s.opts.Profile = profile
	s.opts.RequirementFiles = requirementFiles
	s.diags = append(diag.List(nil), p.base.diags...)
	s.layers = append([]*layer(nil), p.base.layers...)
	s.bindings = maps.Clone(p.base.bindings)
	return &s
}

// Compile compiles the prepared config with profile selected (-P; empty
// means the config's default) under the requirement files (none means
// the system's requirements.toml, as Options.RequirementFiles).
func (p *Prepared) Compile(profile string, requirementFiles []string) *Result {
	return p.fork(profile, requirementFiles).compile((*state).parseRequirements)
}

// ProfileNames is ProfileNames for the prepared config, without
// requirement files (the system's requirements.toml, if any, counts).
func (p *Prepared) ProfileNames() []string {
	s := p.fork("", nil)
	if !s.stop {
		s.parseRequirements()
	}
	return s.profileNames()
}
