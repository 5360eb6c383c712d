package compiler

import (
	"maps"
	"slices"
	"sync"

	"polc/diag"
	"polc/internal/syntax"
)

// Prepared is one config read once — host values found, config layers
// read and parsed, trust decided, the layers merged — to be compiled
// under several selections and requirement sets. polc rollout compiles
// every profile of a config under the baseline and the new
// requirements: that is six compiles of the same layers, which Prepared
// reads and merges once, and in which it checks each profile on its own
// once.
//
// (*Prepared).Compile(profile, reqs) gives exactly what Compile gives
// for the Options passed to Prepare with Profile and RequirementFiles
// replaced, as long as the config files do not change in between. A
// Prepared is safe for concurrent use: each compile works on its own
// copy of the prepared state.
type Prepared struct {
	base *state
	// top is the merged config and its top-level keys as read (nil
	// when the layers could not be read): neither depends on the
	// selection or the requirements.
	top *preparedTop

	mu sync.Mutex
	// chains holds the merged body of each extends chain resolved:
	// the same bodies merge alike under every requirement set.
	chains []mergedChain
	// checked holds what checking a profile on its own reported
	// (validateProfile), per profile table: the same table reports the
	// same under every selection and requirement set.
	checked map[checkedProfile]diag.List
}

// preparedTop is mergeLayers' work that depends on the layers alone.
type preparedTop struct {
	merged *syntax.Tab
	top    *topConfig
	// diags are what reading the top-level keys reported.
	diags diag.List
}

// checkedProfile names one profile table checked on its own: the
// tables are the parsed layers' (or a requirements file's, read once
// per HostCache), which no pass changes.
type checkedProfile struct {
	name string
	tab  *syntax.Tab
	pos  diag.Pos
}

// mergedChain is an extends chain (names and bodies, the selected
// profile first) and its merged body, which no pass changes.
type mergedChain struct {
	chain  []string
	bodies []*syntax.Tab
	merged *syntax.Tab
}

// Prepare reads the config layers opts selects. opts.Profile and
// opts.RequirementFiles are ignored: each compile names its own.
func Prepare(opts Options) *Prepared { return prepare(opts, nil) }

func prepare(opts Options, preread *fileData) *Prepared {
	s := &state{opts: opts, preread: preread}
	s.parseConfig()
	s.preread = nil
	p := &Prepared{base: s, checked: map[checkedProfile]diag.List{}}
	if !s.stop {
		// Merge on a scratch copy, to keep what it reports apart.
		m := *s
		m.diags = nil
		m.merged = syntax.NewTab()
		for _, l := range m.layers {
			syntax.Merge(m.merged, l.tab)
		}
		m.top = m.readTop(m.merged)
		p.top = &preparedTop{merged: m.merged, top: m.top, diags: m.diags}
	}
	return p
}

// PrepareRead is Prepare for a caller that has read one of the config
// files already (os.ReadFile succeeded): the layer from file is data,
// which is not read again.
func PrepareRead(opts Options, file string, data []byte) *Prepared {
	return prepare(opts, &fileData{file: file, data: data})
}

// fileData is a file's content as read.
type fileData struct {
	file string
	data []byte
}

// fork is a copy of the prepared state for one compile: what the later
// passes append to or write is the copy's own; the parsed layers and the
// merged config, which no pass changes (profiles clone what they merge),
// are shared.
func (p *Prepared) fork(profile string, requirementFiles []string) *state {
	s := *p.base
	s.opts.Profile = profile
	s.opts.RequirementFiles = requirementFiles
	s.diags = append(diag.List(nil), p.base.diags...)
	s.layers = append([]*layer(nil), p.base.layers...)
	s.bindings = maps.Clone(p.base.bindings)
	s.prep = p
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

// Layer is the config layer read from file, as parsed: nil when no
// layer was read from it (missing, unreadable or not a layer of this
// config). The table is shared: callers must not change it.
func (p *Prepared) Layer(file string) *syntax.Tab {
	for _, l := range p.base.layers {
		if l.file == file {
			return l.tab
		}
	}
	return nil
}

// merged gives s the prepared merge of its layers and what reading its
// top-level keys reported, and reports whether it did (false outside a
// Prepared: mergeLayers merges itself).
func (p *Prepared) merged(s *state) bool {
	if p == nil || p.top == nil {
		return false
	}
	s.merged, s.top = p.top.merged, p.top.top
	s.diags = append(s.diags, copyDiags(p.top.diags)...)
	return true
}

// validateProfile checks one profile table on its own for its
// diagnostics (compileBody, validateOnly); in a Prepared, once per
// table for every compile.
func (s *state) validateProfile(name string, t *syntax.Tab, pos diag.Pos) {
	p := s.prep
	if p == nil {
		s.compileBody(name, t, pos, true)
		return
	}
	k := checkedProfile{name: name, tab: t, pos: pos}
	p.mu.Lock()
	d, ok := p.checked[k]
	p.mu.Unlock()
	if !ok {
		n := len(s.diags)
		s.compileBody(name, t, pos, true)
		d = copyDiags(s.diags[n:])
		p.mu.Lock()
		p.checked[k] = d
		p.mu.Unlock()
		return
	}
	s.diags = append(s.diags, copyDiags(d)...)
}

// mergeChain is mergeProfileChain; in a Prepared, once per chain of
// bodies for every compile. The merged table is shared: compileBody
// only reads it.
func (s *state) mergeChain(chain []string, bodies []*syntax.Tab) *syntax.Tab {
	p := s.prep
	if p == nil {
		return mergeProfileChain(chain, bodies)
	}
	p.mu.Lock()
	for _, c := range p.chains {
		if slices.Equal(c.chain, chain) && slices.Equal(c.bodies, bodies) {
			p.mu.Unlock()
			return c.merged
		}
	}
	p.mu.Unlock()
	merged := mergeProfileChain(chain, bodies)
	p.mu.Lock()
	p.chains = append(p.chains, mergedChain{chain: slices.Clone(chain), bodies: slices.Clone(bodies), merged: merged})
	p.mu.Unlock()
	return merged
}

// copyDiags copies diagnostics down to their related positions, so that
// no two results share what a caller may edit in place.
func copyDiags(l diag.List) diag.List {
	out := append(diag.List(nil), l...)
	for i := range out {
		if out[i].Related != nil {
			out[i].Related = append([]diag.Related(nil), out[i].Related...)
		}
		if out[i].End != nil {
			end := *out[i].End
			out[i].End = &end
		}
	}
	return out
}
