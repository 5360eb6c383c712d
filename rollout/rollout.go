// Package rollout answers the admin's question before a requirements
// change goes out: what does it do to the configs users already have?
//
// Run takes the new requirements (and optionally the baseline they
// replace; without one, the baseline is no requirements at all) and a
// corpus of users' configs, and for each config, each of its profiles
// and each platform says whether the change
//
//   - refuses it: the profile would not start (a compile error the new
//     requirements cause, or a platform's backend that cannot enforce the
//     result), with the reason and both positions, the config's and the
//     requirement's;
//   - narrows it: paths, deny globs, network rules or approval settings
//     the profile loses;
//   - widens it, changes it without a direction, or leaves it unchanged.
//
// Nothing here models policies anew: each side is compiled by package
// compiler (exactly as polc check compiles it), compared by
// artifact/semdiff (exactly as polc diff compares), and lowered by each
// platform's backend (package lowering) for the per-platform refusals. A corpus entry that
// cannot be evaluated (unreadable, broken TOML, a missing profile) is
// reported as an error of that entry and the run goes on.
//
// Each config is compiled on a neutral host: an empty project directory,
// home, temp directory and Codex directory made for the run, so that the
// admin's own files never count as a user's. A project tree in the
// corpus is its own project directory. Entries are checked in parallel;
// nothing walks the filesystem unless Options.Expand asks for the
// compiler's deny-glob expansion of project trees.
package rollout

import (
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"polc/backends"
	"polc/compiler"
	"polc/diag"
	"polc/ir"
	"polc/lowering"
)

// Options select the change and how to check it.
type Options struct {
	// Requirements are the new requirements files (later files win field
	// by field, as --requirements does).
	Requirements []string
	// Baseline are the requirements in force today; none means no
	// requirements at all.
	Baseline []string
	// Hostname is matched against [[remote_sandbox_config]]; empty means
	// this machine's name.
	Hostname string
	// Platforms to report; empty means every platform.
	Platforms []ir.Platform
	// Expand runs the compiler's deny-glob expansion over project trees
	// (a filesystem walk); off by default.
	Expand bool
	// Lower tunes the backends (--allow-unenforceable).
	Lower backends.Options
	// Workers is the parallelism; 0 means GOMAXPROCS.
	Workers int
}

// Status is what the change does to one config, profile or platform.
// Statuses are ordered: a profile's is its worst platform's, a config's
// its worst profile's.
type Status string

const (
	Unchanged Status = "unchanged"
	Changed   Status = "changed"
	Widened   Status = "widened"
	Narrowed  Status = "narrowed"
	Refused   Status = "refused"
	// Error: the entry could not be evaluated (bad input).
	Error Status = "error"
)

// Statuses lists every status, worst first.
var Statuses = []Status{Error, Refused, Narrowed, Widened, Changed, Unchanged}

var rank = map[Status]int{Unchanged: 0, Changed: 1, Widened: 2, Narrowed: 3, Refused: 4, Error: 5}

// AtLeast reports whether s is as bad as t or worse.
func (s Status) AtLeast(t Status) bool { return rank[s] >= rank[t] }

func worst(a, b Status) Status {
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Report is the outcome of a run.
type Report struct {
	Requirements []string      `json:"requirements"`
	Baseline     []string      `json:"baseline,omitempty"`
	Platforms    []ir.Platform `json:"platforms"`
	// Host is the host name remote_sandbox_config was matched against,
	// when one was given.
	Host    string   `json:"host,omitempty"`
	Configs []Config `json:"configs"`
	Summary Summary  `json:"summary"`
}

// Config is one corpus entry.
type Config struct {
	// Path is the entry as found: a config file or a directory.
	Path string `json:"path"`
	// Files are the config layers it reads.
	Files  []string `json:"files,omitempty"`
	Status Status   `json:"status"`
	// Errors say why the entry could not be evaluated at all.
	Errors   []diag.Diagnostic `json:"errors,omitempty"`
	Profiles []Profile         `json:"profiles"`
}

// Profile is one profile of a config: the one it selects by default, or
// one it defines (which a user selects with -P).
type Profile struct {
	Name string `json:"name"`
	// Default: the profile the config runs when nothing is selected.
	Default bool   `json:"default,omitempty"`
	Status  Status `json:"status"`
	// Errors: the config itself is broken for this profile (bad input,
	// under the baseline as under the new requirements).
	Errors []diag.Diagnostic `json:"errors,omitempty"`
	// Refusals: why the profile would not start under the new
	// requirements, on every platform.
	Refusals []Refusal `json:"refusals,omitempty"`
	// BaselineRefused: it did not start under the baseline either.
	BaselineRefused bool `json:"baseline_refused,omitempty"`
	// Notes are the new requirements' warnings about this profile (a
	// setting that falls back, a grant a managed deny overrides), each
	// with both positions.
	Notes     []diag.Diagnostic `json:"notes,omitempty"`
	Platforms []Platform        `json:"platforms"`
}

// Refusal is one reason a profile would not start.
type Refusal struct {
	Code    diag.Code `json:"code"`
	Message string    `json:"message"`
	Fix     string    `json:"fix,omitempty"`
	// Config is where the user's config is involved; Requirement where
	// the requirement that refuses it is written. Either may be empty
	// when the compiler knows only one side.
	Config      diag.Pos `json:"config"`
	Requirement diag.Pos `json:"requirement"`
}

// Platform is what the change does on one platform.
type Platform struct {
	Platform ir.Platform `json:"platform"`
	Status   Status      `json:"status"`
	// Refusals are the platform's backend refusing the new policy.
	Refusals []Refusal `json:"refusals,omitempty"`
	// BaselineRefused: the platform's backend refused the baseline's
	// policy too (the change did not cause the refusal).
	BaselineRefused bool     `json:"baseline_refused,omitempty"`
	Changes         []Change `json:"changes,omitempty"`
}

// Change is one semantic difference (artifact/semdiff) and its effect.
type Change struct {
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	From    string `json:"from"`
	To      string `json:"to"`
	Was     string `json:"was,omitempty"`
	Now     string `json:"now,omitempty"`
	// Effect is narrower, wider, mixed, or empty (no direction).
	Effect string `json:"effect,omitempty"`
}

// Summary counts statuses: per config, per profile and per platform.
type Summary struct {
	Configs     map[Status]int                 `json:"configs"`
	Profiles    map[Status]int                 `json:"profiles"`
	PerPlatform map[ir.Platform]map[Status]int `json:"platforms"`
}

// Worst is the worst status of any config in the report.
func (r *Report) Worst() Status {
	w := Unchanged
	for _, c := range r.Configs {
		w = worst(w, c.Status)
	}
	return w
}

// Run checks every config of the corpus paths against the change.
// It fails only when the requirements themselves cannot be read or
// parsed (every config would be refused for that alone); a bad corpus
// entry is part of the report.
func Run(paths []string, opts Options) (*Report, diag.List, error) {
	return run(paths, opts, false)
}

// run is Run; plain checks every entry the slow, obvious way (see
// runner.plain), which the tests hold the fast path to.
func run(paths []string, opts Options, plain bool) (*Report, diag.List, error) {
	if len(opts.Platforms) == 0 {
		opts.Platforms = ir.Platforms
	}
	r, err := newRunner(opts)
	if err != nil {
		return nil, nil, err
	}
	r.plain = plain
	defer r.close()
	if d := r.requirementErrors(); d.HasErrors() {
		return nil, d, nil
	}
	entries := skipRequirements(discover(paths), append(append([]string(nil), opts.Requirements...), opts.Baseline...))
	rep := &Report{Requirements: opts.Requirements, Baseline: opts.Baseline, Platforms: opts.Platforms, Host: opts.Hostname,
		Configs: make([]Config, len(entries))}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if r.plain {
					rep.Configs[i] = r.config(entries[i])
				} else {
					rep.Configs[i] = r.configOnce(entries[i])
				}
			}
		}()
	}
	for i := range entries {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	rep.Summary = summarize(rep)
	return rep, nil, nil
}

// skipRequirements drops the requirements files themselves from the
// corpus: an admin who keeps them beside the configs means them as the
// change, not as one more user's config.
func skipRequirements(entries []*entry, reqs []string) []*entry {
	// Each file is looked up once: the corpus may hold thousands.
	var reqInfo []os.FileInfo
	for _, f := range reqs {
		if fi, err := os.Stat(f); err == nil {
			reqInfo = append(reqInfo, fi)
		}
	}
	var out []*entry
	for _, e := range entries {
		skip := false
		if e.configFile != "" && len(reqInfo) > 0 {
			if fi, err := os.Stat(e.configFile); err == nil {
				for _, ri := range reqInfo {
					skip = skip || os.SameFile(fi, ri)
				}
			}
		}
		if !skip {
			out = append(out, e)
		}
	}
	return out
}

func summarize(rep *Report) Summary {
	// Every status is counted, zeros included, so that scripts can read
	// any of them.
	zero := func() map[Status]int {
		m := map[Status]int{}
		for _, st := range Statuses {
			m[st] = 0
		}
		return m
	}
	s := Summary{Configs: zero(), Profiles: zero(), PerPlatform: map[ir.Platform]map[Status]int{}}
	for _, pl := range rep.Platforms {
		s.PerPlatform[pl] = zero()
	}
	for _, c := range rep.Configs {
		s.Configs[c.Status]++
		for _, p := range c.Profiles {
			s.Profiles[p.Status]++
			for _, pl := range p.Platforms {
				s.PerPlatform[pl.Platform][pl.Status]++
			}
		}
	}
	return s
}

// runner holds what every check of one run shares: the neutral host and
// the backends' verdicts on policies already lowered.
type runner struct {
	opts Options
	// plain turns off every shortcut that must not change the report:
	// each compile reads its inputs itself (no compiler.Prepared) and
	// asks the host itself (no HostCache), backends are lowered (not
	// Checked) and nothing is memoized across entries or policies.
	plain   bool
	neutral string
	// home, project, codexHome, tmp and system are empty directories:
	// the neutral host a lone config is compiled on.
	home, project, codexHome, tmp, system string
	reqFiles                              map[string]bool
	baseFiles                             map[string]bool

	mu sync.Mutex
	// seen holds, per config content, the first entry's result: a
	// config another user has byte for byte (the team's template, the
	// defaults) is checked once.
	seen map[[sha256.Size]byte]*memo
	// host answers the compiles' host lookups (stat, symlinks, path
	// resolution) once per path for the run: they judge the same host
	// paths (the neutral host's, the system's) again and again, and the
	// host does not change under a report.
	host *compiler.HostCache
	// lowered caches, per policy (origins' positions left out) and
	// platform, whether the backend refuses it.
	lowered map[loweredKey]bool
}

func newRunner(opts Options) (*runner, error) {
	root, err := os.MkdirTemp("", "polc-rollout-")
	if err != nil {
		return nil, err
	}
	// The compiler resolves the project directory's symlinks; so do we,
	// to recognize these paths in its messages.
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	r := &runner{opts: opts, neutral: root, reqFiles: map[string]bool{}, baseFiles: map[string]bool{},
		lowered: map[loweredKey]bool{}, seen: map[[sha256.Size]byte]*memo{},
		host: compiler.NewHostCache()}
	for _, d := range []*string{&r.home, &r.project, &r.codexHome, &r.tmp, &r.system} {
		*d, err = os.MkdirTemp(root, "")
		if err != nil {
			os.RemoveAll(root)
			return nil, err
		}
	}
	for _, f := range opts.Requirements {
		r.reqFiles[f] = true
	}
	for _, f := range opts.Baseline {
		r.baseFiles[f] = true
	}
	return r, nil
}

func (r *runner) close() { os.RemoveAll(r.neutral) }

// clean names the neutral host's directories in a diagnostic by the
// variables they stand for: they are made for the run, and mean nothing
// to the reader.
func (r *runner) clean(d diag.Diagnostic) diag.Diagnostic {
	repl := strings.NewReplacer(r.project, ir.VarWorkspaceRoot, r.home, ir.VarHome, r.tmp, ir.VarTmpdir,
		r.codexHome, ir.VarCodexHome, r.system, "/etc/codex")
	d.Message, d.Fix = repl.Replace(d.Message), repl.Replace(d.Fix)
	return d
}

func (r *runner) cleanAll(l diag.List) diag.List {
	for i := range l {
		l[i] = r.clean(l[i])
	}
	return l
}

// options are the compile inputs of an entry under a set of requirements.
func (r *runner) options(e *entry, profile string, reqs []string) compiler.Options {
	o := compiler.Options{
		Dir: r.project, CodexHome: r.codexHome, Home: r.home, Tmpdir: r.tmp, SystemDir: r.system,
		Profile: profile, RequirementFiles: reqs, Hostname: r.opts.Hostname, NoExpand: !r.opts.Expand,
	}
	if !r.plain {
		o.Host = r.host
	}
	if e.configFile != "" {
		o.ConfigFiles = []string{e.configFile}
	}
	if e.codexHome != "" {
		o.CodexHome = e.codexHome
	}
	if e.dir != "" {
		o.Dir = e.dir
	}
	// Without requirements the compiler would read the system's
	// requirements.toml: SystemDir is the neutral, empty one.
	return o
}

// requirementErrors compiles the requirements against an empty config,
// to refuse a run whose requirements cannot even be read or parsed.
func (r *runner) requirementErrors() diag.List {
	var out diag.List
	for _, set := range [][]string{r.opts.Requirements, r.opts.Baseline} {
		if len(set) == 0 {
			continue
		}
		res := compiler.Compile(r.options(&entry{}, "", set))
		for _, d := range res.Diags.Errors() {
			switch d.Code {
			case diag.SyntaxError, diag.FileUnreadable, diag.FileTooLarge, diag.BinaryInput, diag.DuplicateKey:
				out = append(out, d)
			}
		}
	}
	return out
}

// config checks one corpus entry: each profile it defines, and the one
// it selects by default.
func (r *runner) config(e *entry) Config {
	c := Config{Path: e.path, Files: e.files()}
	if e.problem != nil {
		c.Status = Error
		c.Errors = []diag.Diagnostic{*e.problem}
		return c
	}
	// The config's own profiles: what the compiler lists without any
	// requirements (the built-ins come first).
	in := r.inputs(e)
	names := in.profileNames()
	defined := names
	if len(defined) >= 3 {
		defined = defined[3:]
	}
	def := r.profile(in, "", true)
	c.Profiles = append(c.Profiles, def)
	for _, n := range defined {
		if def.Name == n {
			continue // the default row is this profile
		}
		c.Profiles = append(c.Profiles, r.profile(in, n, false))
	}
	c.Status = Unchanged
	for _, p := range c.Profiles {
		c.Status = worst(c.Status, p.Status)
	}
	return c
}

// touches reports whether a diagnostic is located in (or related to) one
// of the files.
func touches(d diag.Diagnostic, files map[string]bool) bool {
	if files[d.Pos.File] {
		return true
	}
	for _, p := range d.Related {
		if files[p.File] {
			return true
		}
	}
	return false
}

// errKey identifies an error across the baseline and the new compile:
// positions in requirement files differ between the two, so only the
// config side counts.
func (r *runner) errKey(d diag.Diagnostic) string {
	p := d.Pos
	if r.reqFiles[p.File] || r.baseFiles[p.File] {
		p = diag.Pos{File: "requirements"}
	}
	return string(d.Code) + "\x00" + p.String()
}

// profile checks one profile ("" is the default selection).
func (r *runner) profile(in *inputs, name string, isDefault bool) Profile {
	e := in.e
	p := Profile{Name: name, Default: isDefault}
	nw := in.compile(name, r.opts.Requirements)
	old := in.compile(name, r.opts.Baseline)
	if isDefault {
		// The row is named by what the config selects, not by what a
		// requirement made of it (a fallback to :read-only).
		sel := defaultName(e, in.prep)
		switch {
		case sel != "":
			p.Name = sel
		case old.Policy != nil:
			p.Name = old.Policy.Profile
		case nw.Policy != nil:
			p.Name = nw.Policy.Profile
		}
	}
	if !isDefault {
		fixSelection(nw.Diags, e, name)
		fixSelection(old.Diags, e, name)
	}
	newErrs, oldErrs := r.cleanAll(nw.Diags.Errors()), r.cleanAll(old.Diags.Errors())
	oldKeys := map[string]bool{}
	for _, d := range oldErrs {
		oldKeys[r.errKey(d)] = true
	}
	// An error under both, located in no requirements file, is the
	// config's own: the entry is bad input whatever the change.
	for _, d := range newErrs {
		if oldKeys[r.errKey(d)] && !touches(d, r.reqFiles) && !touches(d, r.baseFiles) {
			p.Errors = append(p.Errors, d)
		}
	}
	if len(p.Errors) > 0 {
		p.Status = Error
		for _, pl := range r.opts.Platforms {
			p.Platforms = append(p.Platforms, Platform{Platform: pl, Status: Error})
		}
		return p
	}
	if len(newErrs) > 0 {
		p.Status = Refused
		p.BaselineRefused = len(oldErrs) > 0
		for _, d := range newErrs {
			p.Refusals = append(p.Refusals, r.refusal(d, e))
		}
		for _, pl := range r.opts.Platforms {
			p.Platforms = append(p.Platforms, Platform{Platform: pl, Status: Refused})
		}
		return p
	}
	for _, d := range nw.Diags {
		if d.Severity == diag.Warning && touches(d, r.reqFiles) {
			p.Notes = append(p.Notes, r.clean(d))
		}
	}
	// The new policy compiles: compare it with the baseline's on each
	// platform, and ask each backend whether it can enforce it.
	baselineRefused := old.Policy == nil
	p.BaselineRefused = baselineRefused
	// A policy the change leaves as it was (positions aside) lowers as it
	// did: whatever a backend says of it, the change did not cause it.
	same := false
	nwKey, oldKey := &keyed{p: nw.Policy, env: nw.Env}, &keyed{p: old.Policy, env: old.Env}
	// Policies with different numbers of rules or globs differ without
	// hashing them (the key encodes every rule and glob).
	if !baselineRefused && len(old.Policy.Rules) == len(nw.Policy.Rules) && len(old.Policy.Globs) == len(nw.Policy.Globs) {
		ko, ok1 := oldKey.key()
		kn, ok2 := nwKey.key()
		same = ok1 && ok2 && ko == kn
	}
	var perPlatform map[ir.Platform][]Change
	if !baselineRefused {
		perPlatform = r.changes(old, nw, same && !r.plain)
	}
	p.Status = Unchanged
	for _, pl := range r.opts.Platforms {
		res := Platform{Platform: pl, Changes: perPlatform[pl]}
		if !same {
			for _, d := range r.cleanAll(r.lower(nwKey, pl)) {
				res.Refusals = append(res.Refusals, r.refusal(d, e))
			}
		}
		if len(res.Refusals) > 0 && !baselineRefused {
			res.BaselineRefused = len(r.lower(oldKey, pl)) > 0
		}
		switch {
		case len(res.Refusals) > 0:
			res.Status = Refused
		case baselineRefused:
			// It did not start before; now it does.
			res.Status = Widened
		default:
			res.Status = classify(res.Changes)
		}
		p.Status = worst(p.Status, res.Status)
		p.Platforms = append(p.Platforms, res)
	}
	if p.Status == Unchanged {
		p.Notes = nil
	}
	return p
}

// classify is a platform's status from its changes.
func classify(cs []Change) Status {
	s := Unchanged
	for _, c := range cs {
		switch c.Effect {
		case "narrower", "mixed":
			s = worst(s, Narrowed)
		case "wider":
			s = worst(s, Widened)
		default:
			s = worst(s, Changed)
		}
	}
	return s
}

// lower asks the platform's backend whether it can enforce the policy,
// and returns its errors. Verdicts are cached per policy without its
// positions: most users' profiles lower alike, and only a refusal needs
// the messages of this very policy.
func (r *runner) lower(k *keyed, platform ir.Platform) diag.List {
	p := k.p
	key, ok := k.key()
	ok = ok && !r.plain
	if ok {
		r.mu.Lock()
		refused, seen := r.lowered[loweredKey{key, platform}]
		r.mu.Unlock()
		if seen && !refused {
			return nil
		}
	}
	var diags diag.List
	if r.plain {
		diags = lowering.LowerAll(p, []ir.Platform{platform}, r.opts.Lower)[0].Diags
	} else {
		diags = lowering.Backend(platform).Check(p, r.opts.Lower)
	}
	// The backends locate their diagnostics at the policy's symbolic
	// origins; the report names the files as given.
	errs := k.env.HostDiags(diags.Errors())
	if ok {
		r.mu.Lock()
		r.lowered[loweredKey{key, platform}] = len(errs) > 0
		r.mu.Unlock()
	}
	return errs
}

// loweredKey is a policy's key and a platform.
type loweredKey struct {
	policy   [sha256.Size]byte
	platform ir.Platform
}

// keyed is a policy and its policyKey, computed once: a profile's
// policies are keyed for the comparison and for each platform's verdict.
type keyed struct {
	p *ir.Policy
	// env names the policy's symbolic origin files on the host.
	env  ir.Env
	done bool
	sum  [sha256.Size]byte
	ok   bool
}

func (k *keyed) key() ([sha256.Size]byte, bool) {
	if !k.done {
		k.sum, k.ok = policyKey(k.p)
		k.done = true
	}
	return k.sum, k.ok
}

// policyKey hashes a policy with every origin's position blanked, and
// without the requirements digest (which names the files, not what they
// do to this policy).
func policyKey(p *ir.Policy) ([sha256.Size]byte, bool) {
	c := *p
	c.RequirementsDigest = ""
	c.Rules = append([]ir.Rule(nil), p.Rules...)
	c.Globs = append([]ir.Glob(nil), p.Globs...)
	c.Network.UnixSockets = append([]ir.UnixSocket(nil), p.Network.UnixSockets...)
	if p.Minimal != nil {
		m := *p.Minimal
		c.Minimal = &m
	}
	if p.Network.AllUnixSockets != nil {
		a := *p.Network.AllUnixSockets
		c.Network.AllUnixSockets = &a
	}
	if p.Network.Proxy != nil {
		px := *p.Network.Proxy
		px.Domains = append([]ir.DomainRule(nil), px.Domains...)
		for i := range px.Domains {
			px.Domains[i].Origin.Pos = diag.Pos{}
		}
		px.MethodOrigin.Pos, px.LocalOrigin.Pos, px.SOCKS5Origin.Pos = diag.Pos{}, diag.Pos{}, diag.Pos{}
		c.Network.Proxy = &px
	}
	c.RuleOrigins(func(o *ir.Origin) { o.Pos = diag.Pos{} })
	if p.Approvals.AutoReviewPolicyOrigin != nil {
		o := *p.Approvals.AutoReviewPolicyOrigin
		o.Pos = diag.Pos{}
		c.Approvals.AutoReviewPolicyOrigin = &o
	}
	// Encoded straight into the hash: the policy's JSON is never kept.
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(&c); err != nil {
		return [sha256.Size]byte{}, false
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum, true
}

// refusal splits a diagnostic into the config's side and the
// requirement's.
func (r *runner) refusal(d diag.Diagnostic, e *entry) Refusal {
	f := Refusal{Code: d.Code, Message: d.Message, Fix: d.Fix}
	places := []diag.Pos{d.Pos}
	for _, r := range d.Related {
		places = append(places, r.Pos)
	}
	for _, p := range places {
		switch {
		case p.IsZero():
		case r.reqFiles[p.File]:
			if f.Requirement.IsZero() {
				f.Requirement = p
			}
		case f.Config.IsZero():
			f.Config = p
		}
	}
	if f.Config.IsZero() {
		// The compiler named only the requirement: the config's side is
		// its file.
		if files := e.files(); len(files) > 0 {
			f.Config = diag.Pos{File: existing(files)}
		}
	}
	return f
}

// existing is the first of the files that exists (the entry's layer).
func existing(files []string) string {
	for _, f := range files {
		if isFile(f) {
			return f
		}
	}
	return files[0]
}

// fixSelection relocates diagnostics at "-P" (the rollout selected the
// profile, the user typed nothing) to where the config defines it.
func fixSelection(l diag.List, e *entry, name string) {
	var where diag.Pos
	found := false
	for i := range l {
		if l[i].Pos.File != "-P" {
			continue
		}
		if !found {
			where, found = profilePos(e, name), true
		}
		l[i].Pos = where
	}
}

// inputs compiles one entry's profiles: the config read once for all of
// them (compiler.Prepared), or, plain, each compile reading it anew.
type inputs struct {
	r    *runner
	e    *entry
	prep *compiler.Prepared
}

func (r *runner) inputs(e *entry) *inputs {
	in := &inputs{r: r, e: e}
	switch {
	case r.plain:
	case e.data != nil:
		in.prep = compiler.PrepareRead(r.options(e, "", nil), e.files()[0], e.data)
	default:
		in.prep = compiler.Prepare(r.options(e, "", nil))
	}
	return in
}

// compile compiles the entry with profile selected under reqs.
func (in *inputs) compile(profile string, reqs []string) *compiler.Result {
	if in.prep != nil {
		return in.prep.Compile(profile, reqs)
	}
	return compiler.Compile(in.r.options(in.e, profile, reqs))
}

// profileNames lists the profiles the config could select, without
// requirements.
func (in *inputs) profileNames() []string {
	if in.prep != nil {
		return in.prep.ProfileNames()
	}
	return compiler.ProfileNames(in.r.options(in.e, "", nil))
}
