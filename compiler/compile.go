package compiler

import (
	"time"

	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// pass is one named stage of the pipeline. The table below is the whole
// compiler at a glance; each pass reads and extends the shared state and
// reports into its diagnostics. A pass that finds an error does not stop
// the others unless what they need is missing, so one run reports as much
// as it can.
type pass struct {
	name string
	run  func(*state)
}

var passes = []pass{
	{"parse", (*state).parse},
	{"merge layers", (*state).mergeLayers},
	{"resolve profile", (*state).resolveProfile},
	{"apply requirements", (*state).applyRequirements},
	{"bind roots", (*state).bindRoots},
	{"protect metadata", (*state).protectMetadata},
	{"check", (*state).check},
	{"expand globs", (*state).expandGlobs},
}

// state is everything the passes share for one compile.
type state struct {
	opts  Options
	diags diag.List

	// Host values (parse).
	dir, home, tmpdir, codexHome, systemDir string
	bindings                                ir.Bindings

	// Inputs (parse).
	layers    []*layer
	reqLayers []*reqLayer

	// Merged configuration (merge layers).
	merged *syntax.Tab
	top    *topConfig
	trust  trustState
	sel    selection

	// The selected profile, symbolic (resolve profile, apply requirements).
	prof      *profile
	reqs      *requirements
	approvals ir.Approvals

	// Output (bind roots onwards).
	policy    *ir.Policy
	expansion *Expansion
	// landlock is set when the command is to run under Landlock
	// (applyRequirements; checked by checkLandlock).
	landlock *LandlockRequest
	// stop is set when a pass cannot produce what later passes need.
	stop bool
	// prep is the Prepared this compile was forked from (nil for
	// Compile): what it has worked out once for every compile.
	prep *Prepared
	// preread is a config file's content its caller has read already
	// (PrepareRead), which readFile takes instead of reading it again.
	preread *fileData
}

// Compile runs every pass over the inputs opts selects. The result's
// Policy is nil when any diagnostic is an error.
func Compile(opts Options) *Result {
	return (&state{opts: opts}).compile((*state).parse)
}

// compile runs the passes over s, with parse in place of the first
// (Prepared.Compile has read the config layers already).
func (s *state) compile(parse func(*state)) *Result {
	res := &Result{}
	for i, p := range passes {
		start := time.Now()
		run := p.run
		if i == 0 {
			run = parse
		}
		if !s.stop {
			run(s)
		}
		res.Timings = append(res.Timings, Timing{Pass: p.name, Duration: time.Since(start)})
	}
	res.Diags = dedupe(s.diags)
	res.Diags.Sort()
	s.spanEnds(res.Diags)
	res.Env = ir.Env{Bindings: s.bindings}
	res.Expansion = s.expansion
	res.Landlock = s.landlock
	if !res.Diags.HasErrors() && s.policy != nil {
		res.Env.Inputs = s.symbolizeOrigins()
		// Canonical order, so that the same inputs give byte-identical
		// artifacts whatever order the passes appended in.
		s.policy.Sort()
		res.Policy = s.policy
	}
	return res
}

// dedupe drops diagnostics reported twice (a profile validated on its own
// and again as part of the selected extends chain).
func dedupe(l diag.List) diag.List {
	seen := map[string]bool{}
	var out diag.List
	for _, d := range l {
		k := d.String()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}

// ProfileNames lists the profiles a compile could select: the built-ins
// and every [permissions] profile of the merged config (and of the
// managed requirements), in that order. It reads the inputs as Compile
// does; unreadable inputs give only the built-ins.
func ProfileNames(opts Options) []string {
	s := &state{opts: opts}
	s.parse()
	return s.profileNames()
}

// profileNames is ProfileNames after parse.
func (s *state) profileNames() []string {
	names := []string{builtinReadOnly, builtinWorkspace, builtinFull}
	if s.stop {
		return names
	}
	s.mergeLayers()
	names = append(names, s.profileTables().names...)
	return names
}

// spanEnds gives each diagnostic located at a key or value of an input
// file the end of that token (Diagnostic.End), for editors and SARIF.
func (s *state) spanEnds(l diag.List) {
	text := func(file string) []byte {
		for _, ly := range s.layers {
			if ly.file == file {
				return ly.data
			}
		}
		for _, r := range s.reqLayers {
			if r.file == file {
				return r.data
			}
		}
		return nil
	}
	for i := range l {
		d := &l[i]
		if d.End != nil || d.Pos.Line == 0 {
			continue
		}
		if data := text(d.Pos.File); data != nil {
			if end, ok := syntax.TokenEnd(data, d.Pos); ok {
				d.End = &end
			}
		}
	}
}
