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

func init() { backends.Register(macosBackend{}) }

type macosBackend struct{}

func (macosBackend) Platform() string { return "macos" }

func (macosBackend) Lower(p *ir.Policy, opts backends.Options) (*backends.Output, diag.List) {
	return Lower(p, opts)
}

func (macosBackend) Evaluator(payload []byte, env ir.Env) (backends.Evaluator, error) {
	return NewEvaluator(payload, env)
}

// Decode reads a payload written by Lower.
func Decode(payload []byte) (*Payload, error) {
	var pl Payload
	if err := json.Unmarshal(payload, &pl); err != nil {
		return nil, fmt.Errorf("macOS artifact: %v [%s]", err, diag.MacBadArtifact)
	}
	if pl.Format != FormatTag {
		return nil, fmt.Errorf("macOS artifact: format %q, want %q [%s]", pl.Format, FormatTag, diag.MacBadArtifact)
	}
	return &pl, nil
}

// Evaluator answers access questions from a macOS artifact by binding its
// parameters as the shim would and interpreting its SBPL text.
type Evaluator struct {
	Payload *Payload
	Binding *Binding
	prog    *sbpl.Program
	canon   func(string) string
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
	prof, err := sbpl.Parse("profile.sb", pl.Profile)
	if err != nil {
		return nil, fmt.Errorf("macOS artifact profile: %v [%s]", err, diag.MacBadArtifact)
	}
	prog, err := sbpl.Compile(prof, sbpl.Env{Params: b.Values, VnodeType: vnodeType})
	if err != nil {
		return nil, fmt.Errorf("macOS artifact profile: %v [%s]", err, diag.MacBadArtifact)
	}
	return &Evaluator{Payload: pl, Binding: b, prog: prog, canon: MacEnv(env).Resolve}, nil
}

// writeOps are what ir.OpWrite means: create, modify, delete (a rename
// needs create and unlink).
var writeOps = []string{"file-write-data", "file-write-create", "file-write-unlink"}

// Decide judges one operation on a host path.
func (e *Evaluator) Decide(hostPath string, op ir.Op) backends.Verdict {
	p := e.canon(hostPath)
	switch op {
	case ir.OpRead:
		return e.verdict(e.prog.Eval(sbpl.Request{Op: "file-read-data", Path: p}), "file-read-data")
	case ir.OpWrite:
		var last sbpl.Decision
		for _, o := range writeOps {
			last = e.prog.Eval(sbpl.Request{Op: o, Path: p})
			if !last.Allowed {
				return e.verdict(last, o)
			}
		}
		return e.verdict(last, "file-write*")
	}
	return backends.Verdict{Reason: "unknown operation"}
}

// Network judges an outbound connection.
func (e *Evaluator) Network(host string, port int) backends.Verdict {
	return e.verdict(e.prog.Eval(sbpl.Request{Op: "network-outbound", Host: host, Port: port}), "network-outbound")
}

// Decision is the raw interpreter answer for one SBPL operation, for
// polc explain.
func (e *Evaluator) Decision(op, hostPath string) sbpl.Decision {
	return e.prog.Eval(sbpl.Request{Op: op, Path: e.canon(hostPath)})
}

func (e *Evaluator) verdict(d sbpl.Decision, op string) backends.Verdict {
	v := backends.Verdict{Allowed: d.Allowed}
	word := "denied"
	if d.Allowed {
		word = "allowed"
	}
	switch {
	case d.Rule == nil:
		v.Reason = fmt.Sprintf("%s %s: no rule matches (deny default)", op, word)
	case d.Filter == nil:
		v.Reason = fmt.Sprintf("%s %s by line %d: %s", op, word, d.Rule.Node.Pos.Line, head(d.Rule.Node.String()))
	default:
		v.Reason = fmt.Sprintf("%s %s by line %d: %s%s", op, word, d.Filter.Pos.Line, head(d.Filter.String()), e.paramNote(d.Filter))
	}
	return v
}

// paramNote names the symbolic path behind the filter's first parameter.
func (e *Evaluator) paramNote(n *sbpl.Node) string {
	s := n.String()
	i := strings.Index(s, `(param "`)
	if i < 0 {
		return ""
	}
	rest := s[i+len(`(param "`):]
	name, _, _ := strings.Cut(rest, `"`)
	for _, pr := range e.Payload.Params {
		if pr.Name == name && !pr.Glob && pr.Place < len(e.Payload.Places) {
			return fmt.Sprintf(" [%s = %s]", name, e.Payload.Places[pr.Place].Path)
		}
	}
	return ""
}

func head(s string) string {
	if len(s) > 160 {
		return s[:157] + "..."
	}
	return s
}
