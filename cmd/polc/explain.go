package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"polc/backends"
	"polc/compiler"
	"polc/ir"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "explain",
		Usage:     "explain the decision for paths: allowed or denied, and which rule (file:line) decided",
		ArgsUsage: "PATH...",
		Description: "--target ir (the default) asks the reference decision function; linux, macos or windows\n" +
			"lower the policy with that backend and ask its evaluator what the artifact enforces.",
		Flags: append(compileFlags(),
			&cli.StringFlag{Name: "op", Usage: "operation `OP`: read or write (default: both)"},
			&cli.StringFlag{Name: "target", Value: "ir", Usage: "`TARGET`: ir, linux, macos or windows"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text or json"},
		),
		Action: runExplain,
	})
}

// explanation is one answer; the JSON form is a list of these.
type explanation struct {
	Path    string `json:"path"`
	Op      string `json:"op"`
	Target  string `json:"target"`
	Allowed bool   `json:"allowed"`
	// Rule is the deciding rule's path or glob ("" for default deny).
	Rule string `json:"rule"`
	// Source is the file:line:col the deciding rule came from.
	Source string `json:"source"`
	Reason string `json:"reason"`
	// AllowedWithinCap is what snapshot platforms enforce (ir target).
	AllowedWithinCap *bool  `json:"allowed_within_cap,omitempty"`
	Origin           string `json:"origin,omitempty"`
	// IRAllowed is ir.Decide's answer, given for backend targets so that
	// a platform that enforces less (or more) than the policy shows.
	IRAllowed *bool `json:"ir_allowed,omitempty"`
}

func runExplain(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErr("explain needs at least one PATH")
	}
	format := c.String("format")
	if format != "text" && format != "json" {
		return usageErr("unknown --format %q: use text or json", format)
	}
	var ops []ir.Op
	switch c.String("op") {
	case "":
		ops = []ir.Op{ir.OpRead, ir.OpWrite}
	case "read", "write":
		op, _ := ir.ParseOp(c.String("op"))
		ops = []ir.Op{op}
	default:
		return usageErr("unknown --op %q: use read or write", c.String("op"))
	}
	target := c.String("target")
	var backend backends.Backend
	if target != "ir" {
		b, err := backends.Get(target)
		if err != nil {
			return usageErr("%v", err)
		}
		backend = b
	}

	res := compiler.Compile(compileOptions(c))
	if res.Policy == nil {
		_ = writeDiags(os.Stderr, res, "text")
		return silentExit(1)
	}
	// The reference decision is judged for the target platform, so that
	// :minimal means that platform's system roots on both sides.
	refEnv := res.Env
	if backend != nil {
		refEnv.Platform = target
	}
	dec, err := ir.NewDecider(res.Policy, refEnv)
	if err != nil {
		return failErr("%v", err)
	}
	answer := func(path string, op ir.Op) explanation {
		return fromDecision(dec.Decide(path, op), op)
	}
	if backend != nil {
		out, diags := backend.Lower(res.Policy, lowerOptions(c))
		if out == nil || diags.HasErrors() {
			for _, d := range diags {
				fmt.Fprintln(os.Stderr, d.String())
			}
			return failErr("the %s backend cannot lower this policy", target)
		}
		ev, err := backend.Evaluator(out.Payload, res.Env)
		if err != nil {
			return failErr("%s evaluator: %v", target, err)
		}
		answer = func(path string, op ir.Op) explanation {
			v := ev.Decide(path, op)
			ref := fromDecision(dec.Decide(path, op), op)
			return explanation{Path: path, Op: op.String(), Allowed: v.Allowed, Rule: v.Reason, Reason: v.Reason,
				Source: ref.Source, Origin: ref.Origin, IRAllowed: &ref.Allowed}
		}
	}

	var out []explanation
	for _, arg := range c.Args().Slice() {
		path, err := filepath.Abs(arg)
		if err != nil {
			return usageErr("path %q: %v", arg, err)
		}
		for _, op := range ops {
			e := answer(path, op)
			e.Path, e.Target = path, target
			out = append(out, e)
		}
	}
	if format == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, e := range out {
		verdict := "denied"
		if e.Allowed {
			verdict = "allowed"
		}
		if e.IRAllowed != nil && *e.IRAllowed != e.Allowed {
			verdict += fmt.Sprintf(" (the policy says %s: this platform differs)", map[bool]string{true: "allowed", false: "denied"}[*e.IRAllowed])
		}
		fmt.Printf("%s %s: %s\n", e.Op, e.Path, verdict)
		fmt.Printf("\t%s\n", e.Reason)
		// The ir reason already names its source; a backend's reason
		// names what in the artifact decided, so add where it came from.
		if e.Source != "" && !strings.Contains(e.Reason, e.Source) {
			label := "from"
			if e.IRAllowed != nil {
				label = "policy rule at"
			}
			fmt.Printf("\t%s %s\n", label, e.Source)
		}
	}
	return nil
}

// fromDecision explains an ir decision: the deciding glob or rule and
// where it was written.
func fromDecision(d ir.Decision, op ir.Op) explanation {
	e := explanation{Path: d.Path, Op: op.String(), Allowed: d.Allowed, Reason: d.Reason()}
	within := d.AllowedWithinCap
	e.AllowedWithinCap = &within
	switch {
	case d.Glob != nil:
		e.Rule, e.Source, e.Origin = d.Glob.Pattern, d.Glob.Origin.Pos.String(), d.Glob.Origin.Kind
	case d.Rule != nil:
		e.Rule, e.Source, e.Origin = d.Rule.Path, d.Rule.Origin.Pos.String(), d.Rule.Origin.Kind
	case d.Minimal:
		e.Rule, e.Origin = ":minimal", ir.OriginConfig
	default:
		e.Origin = ir.OriginDefault
	}
	return e
}
