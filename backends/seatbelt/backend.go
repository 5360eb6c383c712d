package seatbelt

import (
	"encoding/json"
	"fmt"
	"strings"

	"polc/backends"
	"polc/backends/seatbelt/sbpl"
	"polc/diag"
	"polc/ir"
)

// Backend is the macOS backend.
var Backend backends.Backend = macosBackend{}

type macosBackend struct{}

func (macosBackend) Platform() ir.Platform { return ir.MacOS }

func (macosBackend) Lower(p *ir.Policy, opts backends.Options) (*backends.Output, diag.List) {
	return Lower(p, opts)
}

func (macosBackend) Check(p *ir.Policy, opts backends.Options) diag.List {
	return Check(p, opts)
}

func (macosBackend) Evaluator(payload []byte, env ir.Env, _ backends.Options) (backends.Evaluator, error) {
	return NewEvaluator(payload, env)
}

// Decode reads a payload written by Lower.
func Decode(payload []byte) (*Payload, error) {
	var pl Payload
	if err := json.Unmarshal(payload, &pl); err != nil {
		return nil, diag.Errorf(diag.MacBadArtifact, "macOS artifact: %v", err)
	}
	if want := formatFor(&pl); pl.Format != want {
		return nil, diag.Errorf(diag.MacBadArtifact, "macOS artifact: format %q, want %q", pl.Format, want)
	}
	if err := pl.check(); err != nil {
		return nil, diag.Errorf(diag.MacBadArtifact, "macOS artifact: %v", err)
	}
	return &pl, nil
}

// formatFor is the format tag a payload's layout calls for.
func formatFor(pl *Payload) string {
	if pl.Proxy != nil {
		return FormatTagProxy
	}
	return FormatTag
}

// check validates the payload's internal references, so that a damaged
// or hand-edited payload is refused rather than misread: parents precede
// their children, parameters name existing places and globs, and every
// path is one the backend writes.
func (pl *Payload) check() error {
	for i, pc := range pl.Places {
		if pc.Parent < -1 || pc.Parent >= i {
			return fmt.Errorf("place %d: parent %d", i, pc.Parent)
		}
		if root, ok := splitRoot(pc.Path); !ok || root != pc.Root {
			return fmt.Errorf("place %d: path %q under root %q", i, pc.Path, pc.Root)
		}
	}
	for i, g := range pl.Globs {
		if root, ok := splitRoot(g.Base); !ok || root != g.Root {
			return fmt.Errorf("glob %d: base %q under root %q", i, g.Base, g.Root)
		}
	}
	if px := pl.Proxy; px != nil {
		if pl.Network != ir.NetworkProxy {
			return fmt.Errorf("a proxy with network %q", pl.Network)
		}
		if _, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: px}); err != nil {
			return fmt.Errorf("proxy: %v", err)
		}
		want := px.Listeners()
		if px.PortsCollide() || fmt.Sprint(want) != fmt.Sprint(pl.ProxyPorts) {
			return fmt.Errorf("proxy ports %v are not the proxy's listeners %v", pl.ProxyPorts, want)
		}
	} else if pl.Network == ir.NetworkProxy {
		return fmt.Errorf("a proxy network without its proxy")
	}
	for _, pr := range pl.Params {
		n := len(pl.Places)
		if pr.Glob {
			n = len(pl.Globs)
		}
		if pr.Place < 0 || pr.Place >= n {
			return fmt.Errorf("parameter %s: index %d out of range", pr.Name, pr.Place)
		}
		if pr.Name == "" || strings.ContainsAny(pr.Name, "= \t\n\x00\"") {
			return fmt.Errorf("parameter name %q", pr.Name)
		}
	}
	return nil
}

// Evaluator answers access questions from a macOS artifact by binding its
// parameters as the shim would and interpreting its SBPL text.
type Evaluator struct {
	Payload *Payload
	Binding *Binding
	prog    *sbpl.Program
	canon   func(string) string
	egress  *backends.EgressModel
}

// NewEvaluator decodes, binds and compiles a payload for env. Paths given
// to Decide are host paths; they are canonicalized as macOS would (see
// MacEnv).
func NewEvaluator(payload []byte, env ir.Env) (*Evaluator, error) {
	pl, err := Decode(payload)
	if err != nil {
		return nil, err
	}
	b, err := Bind(pl, env)
	if err != nil {
		return nil, err
	}
	prof, err := sbpl.Parse("profile.sb", string(pl.Profile))
	if err != nil {
		return nil, diag.Errorf(diag.MacBadArtifact, "macOS artifact profile: %v", err)
	}
	prog, err := sbpl.Compile(prof, sbpl.Env{Params: b.Values, VnodeType: vnodeType})
	if err != nil {
		return nil, diag.Errorf(diag.MacBadArtifact, "macOS artifact profile: %v", err)
	}
	e := &Evaluator{Payload: pl, Binding: b, prog: prog, canon: MacEnv(env).Resolve}
	if e.egress, err = backends.NewEgressModel(e.Network, pl.Proxy); err != nil {
		return nil, diag.Errorf(diag.MacBadArtifact, "macOS artifact: %v", err)
	}
	return e, nil
}

// writeOps are what ir.OpWrite means: create, modify, delete (a rename
// needs create and unlink).
var writeOps = []string{"file-write-data", "file-write-create", "file-write-unlink"}

// Decide judges one operation on a host path.
func (e *Evaluator) Decide(hostPath string, op ir.Op) backends.Verdict {
	p := e.canon(hostPath)
	switch op {
	case ir.OpRead:
		r := sbpl.Request{Op: "file-read-data", Path: p}
		return e.verdict(e.prog.Eval(r), "file-read-data", r)
	case ir.OpWrite:
		var last sbpl.Decision
		var r sbpl.Request
		for _, o := range writeOps {
			r = sbpl.Request{Op: o, Path: p}
			last = e.prog.Eval(r)
			if !last.Allowed {
				return e.verdict(last, o, r)
			}
		}
		return e.verdict(last, "file-write*", r)
	}
	return backends.Verdict{Reason: "unknown operation"}
}

// Network judges an outbound connection.
func (e *Evaluator) Network(host string, port int) backends.Verdict {
	r := sbpl.Request{Op: "network-outbound", Host: host, Port: port}
	return e.verdict(e.prog.Eval(r), "network-outbound", r)
}

// Egress judges a request as it leaves the sandbox: directly, when the
// profile lets the connection out, or through polc's egress proxy, when
// the profile lets the command reach the proxy's loopback listener (see
// backends.EgressEvaluator).
func (e *Evaluator) Egress(host string, port int, method string) backends.Egress {
	return e.egress.Egress(host, port, method)
}

// Decision is the raw interpreter answer for one SBPL operation, for
// polc explain.
func (e *Evaluator) Decision(op, hostPath string) sbpl.Decision {
	return e.prog.Eval(sbpl.Request{Op: op, Path: e.canon(hostPath)})
}

func (e *Evaluator) verdict(d sbpl.Decision, op string, r sbpl.Request) backends.Verdict {
	v := backends.Verdict{Allowed: d.Allowed}
	word := "denied"
	if d.Allowed {
		word = "allowed"
	}
	switch {
	case d.Rule == nil || !d.Allowed && d.Rule == e.prog.Default:
		v.Reason = fmt.Sprintf("%s %s: %s%s", op, word, e.whyDenied(r), e.minimalNote(r.Path, false))
	case d.Filter == nil:
		v.Reason = fmt.Sprintf("%s %s by line %d: %s", op, word, d.Rule.Node.Pos.Line, head(d.Rule.Node.String()))
	default:
		at := d.Filter
		for _, n := range e.prog.Why(r, d.Filter) {
			if n.String() != "" && n.List != nil && len(n.List.Items) > 0 && !strings.HasPrefix(n.String(), "(require-any") {
				at = n
				break
			}
		}
		v.Reason = fmt.Sprintf("%s %s by line %d: %s%s%s", op, word, at.Pos.Line, head(at.String()), e.paramNote(at), e.minimalNote(r.Path, d.Allowed))
	}
	return v
}

// minimalNote names :minimal's curated list when it decided: a path read
// through one of its roots, or a system library path left out of it.
func (e *Evaluator) minimalNote(path string, allowed bool) string {
	if e.Payload == nil || !hasMinimal(e.Payload) {
		return ""
	}
	for _, m := range ir.MinimalRoots[ir.MacOS] {
		if allowed && ir.HasPathPrefix(path, m) {
			return fmt.Sprintf(" (:minimal: %s is in Codex's curated macOS platform defaults)", m)
		}
	}
	if !allowed {
		for _, lib := range ir.MacCuratedSystemLibrary {
			if ir.HasPathPrefix(path, lib) {
				return fmt.Sprintf(" (:minimal reads only Codex's curated subpaths of %s: Frameworks, PrivateFrameworks, SubFrameworks and the CoreServices version plists)", lib)
			}
		}
	}
	return ""
}

// whyDenied explains a request no allow rule matched: the first clause
// that carves it out of a rule whose scope covers it, or that no rule
// covers it at all.
func (e *Evaluator) whyDenied(r sbpl.Request) string {
	for i := len(e.prog.Rules) - 1; i >= 0; i-- {
		rule := e.prog.Rules[i]
		if !rule.Allow || !covers(rule.Ops, r.Op) {
			continue
		}
		for _, f := range rule.Filters {
			why := e.prog.Why(r, f)
			if len(why) == 0 {
				continue
			}
			last := why[len(why)-1]
			if !strings.HasPrefix(last.String(), "(require-not") {
				continue
			}
			return fmt.Sprintf("carved out by line %d: %s%s", last.Pos.Line, head(last.String()), e.paramNote(last))
		}
	}
	return "no rule of the profile grants it (deny default)"
}

func covers(ops []string, op string) bool {
	for _, o := range ops {
		if p, ok := strings.CutSuffix(o, "*"); ok && strings.HasPrefix(op, p) || o == op {
			return true
		}
	}
	return false
}

// paramNote says what the filter's first parameter stands for.
func (e *Evaluator) paramNote(n *sbpl.Node) string {
	s := n.String()
	i := strings.Index(s, `(param "`)
	if i < 0 {
		return ""
	}
	rest := s[i+len(`(param "`):]
	name, _, _ := strings.Cut(rest, `"`)
	for _, pr := range e.Payload.Params {
		if pr.Name != name {
			continue
		}
		switch {
		case pr.Glob && pr.Place < len(e.Payload.Globs):
			return fmt.Sprintf(" [deny glob %s]", e.Payload.Globs[pr.Place].Pattern)
		case pr.Glob || pr.Place >= len(e.Payload.Places):
			return ""
		}
		pc := e.Payload.Places[pr.Place]
		switch {
		case pc.Mandatory:
			return fmt.Sprintf(" [requirement deny %s]", pc.Path)
		case pr.When == "in":
			return fmt.Sprintf(" [%s = %s (%s), which lies inside a %s rule here]", name, pc.Path, pc.Access, pr.Root)
		}
		return fmt.Sprintf(" [%s = %s (%s)]", name, pc.Path, pc.Access)
	}
	return ""
}

func head(s string) string {
	if len(s) > 160 {
		return s[:157] + "..."
	}
	return s
}

func hasMinimal(pl *Payload) bool {
	for _, p := range pl.Places {
		if p.Minimal {
			return true
		}
	}
	return false
}
