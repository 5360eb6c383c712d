package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"polc/backends"
	"polc/compiler"
	"polc/diag"
	"polc/ir"
	"polc/lowering"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "explain",
		Usage:     "explain the decision for paths: allowed or denied, and which rule (file:line) decided",
		ArgsUsage: "PATH... | --net HOST[:PORT] [--method M]",
		Description: "--target ir (the default) asks the reference decision function; linux, macos or windows\n" +
			"lower the policy with that backend and ask its evaluator what the artifact enforces.\n" +
			"--approvals shows the approval settings instead: policy, reviewer, and the auto-review policy text with its origin.\n" +
			"--op connect asks whether the command may connect to a host Unix socket at PATH; without --op,\n" +
			"a PATH that is a socket on this host or is named in unix_sockets is also answered for connect.\n" +
			"--net HOST[:PORT] (or a URL) asks what the network lets through instead: allowed or refused, the proxy's\n" +
			"reason, and the domain rule or setting (file:line) that decided; --method picks the request's method.",
		Flags: append(compileFlags(),
			&cli.StringFlag{Name: "op", Usage: "operation `OP`: read, write or connect (default: read and write, and connect for sockets)"},
			&cli.StringFlag{Name: "target", Value: "ir", Usage: "`TARGET`: ir, linux, macos or windows"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text or json"},
			approvalsFlag, netFlag, methodFlag,
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
	if len(c.StringSlice(netFlag.Name)) > 0 {
		return runExplainNet(c)
	}
	if c.IsSet(methodFlag.Name) {
		return usageErr("explain: --method goes with --net HOST[:PORT]")
	}
	if c.Bool(approvalsFlag.Name) {
		return runExplainApprovals(c)
	}
	if c.NArg() == 0 {
		return usageErr("explain needs at least one PATH")
	}
	format := c.String("format")
	if format != "text" && format != "json" {
		return usageErr("unknown --format %q: use text or json", format)
	}
	var ops []ir.Op
	connect := "sockets" // connect rows: for sockets, for every path, or none
	switch c.String("op") {
	case "":
		ops = []ir.Op{ir.OpRead, ir.OpWrite}
	case "read", "write":
		op, _ := ir.ParseOp(c.String("op"))
		ops = []ir.Op{op}
		connect = ""
	case "connect":
		connect = "all"
	default:
		return usageErr("unknown --op %q: use read, write or connect", c.String("op"))
	}
	target := c.String("target")
	var platform ir.Platform // "" for the ir target
	if target != "ir" {
		p, err := ir.ParsePlatform(target)
		if err != nil {
			return usageErr("unknown target %q (known: %v)", target, ir.Platforms)
		}
		platform = p
	}

	res := compiler.Compile(compileOptions(c))
	if res.Policy == nil {
		_ = writeDiags(c, res, diag.Text)
		return silentExit(1)
	}
	// The answers below include the project's .codex layers; when exec
	// would not load them, say so before anything else.
	for _, d := range res.Diags {
		if d.Code == diag.ExecSkipsProjectLayer {
			fmt.Fprintln(os.Stderr, "polc: "+oneLine(diagPrinter(c, diag.Text).Base, d))
		}
	}
	// The reference decision is judged for the target platform, so that
	// :minimal means that platform's system roots on both sides.
	refEnv := res.Env
	if platform != "" {
		refEnv.Platform = platform
	}
	dec, err := ir.NewDecider(res.Policy, refEnv)
	if err != nil {
		return failErr("%v", err)
	}
	answer := func(path string, op ir.Op) explanation {
		return fromDecision(dec.Decide(path, op), op, res.Env)
	}
	connectAnswer := func(path string) (explanation, bool) {
		return irConnect(res.Policy, dec, res.Env, path), true
	}
	if platform != "" {
		r := lowering.LowerAll(res.Policy, []ir.Platform{platform}, lowerOptions(c))[0]
		if r.Refusal() != nil {
			printDiags(c, res.Env.HostDiags(r.Diags))
			return failErr("the %s backend cannot lower this policy", target)
		}
		ev, err := lowering.Backend(platform).Evaluator(r.Output.Payload, res.Env, lowerOptions(c))
		if err != nil {
			return failErr("%s evaluator: %v", target, err)
		}
		answer = func(path string, op ir.Op) explanation {
			v := ev.Decide(path, op)
			ref := fromDecision(dec.Decide(path, op), op, res.Env)
			return explanation{Path: path, Op: op.String(), Allowed: v.Allowed, Rule: v.Reason, Reason: v.Reason,
				Source: ref.Source, Origin: ref.Origin, IRAllowed: &ref.Allowed}
		}
		connectAnswer = func(path string) (explanation, bool) {
			sev, ok := ev.(backends.SocketEvaluator)
			if !ok {
				return explanation{}, false
			}
			v := sev.UnixConnect(path)
			ref := irConnect(res.Policy, dec, res.Env, path)
			return explanation{Path: path, Op: opConnect, Allowed: v.Allowed, Rule: v.Reason, Reason: v.Reason,
				Source: ref.Source, Origin: ref.Origin, IRAllowed: &ref.Allowed}, true
		}
	}

	var out []explanation
	for _, arg := range c.Args().Slice() {
		// A relative PATH is in the project (-C), as every path in the
		// config is: polc explain -C repo .env asks about repo/.env.
		path := arg
		if !filepath.IsAbs(path) {
			path = filepath.Join(res.Env.Bindings[ir.VarWorkspaceRoot], arg)
		}
		path = filepath.Clean(path)
		if connect != "all" {
			for _, op := range ops {
				e := answer(path, op)
				e.Path, e.Target = path, target
				out = append(out, e)
			}
		}
		if connect == "all" || (connect == "sockets" && isSocket(res.Policy, path)) {
			e, ok := connectAnswer(path)
			if !ok {
				fmt.Fprintf(os.Stderr, "polc: explain: the %s evaluator does not model Unix socket connections; %s not answered for connect\n", target, path)
				continue
			}
			e.Path, e.Target = path, target
			out = append(out, e)
		}
	}
	if format == "json" {
		return printJSON(out)
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
// where it was written, named on this host (env).
func fromDecision(d ir.Decision, op ir.Op, env ir.Env) explanation {
	e := explanation{Path: d.Path, Op: op.String(), Allowed: d.Allowed, Reason: d.Reason()}
	within := d.AllowedWithinCap
	e.AllowedWithinCap = &within
	switch {
	case d.Glob != nil:
		e.Rule, e.Source, e.Origin = d.Glob.Pattern, env.HostPos(d.Glob.Origin.Pos).String(), d.Glob.Origin.Kind
	case d.Rule != nil:
		e.Rule, e.Source, e.Origin = d.Rule.Path, env.HostPos(d.Rule.Origin.Pos).String(), d.Rule.Origin.Kind
	case d.Minimal:
		e.Rule, e.Origin = ":minimal", ir.OriginConfig
	default:
		e.Origin = ir.OriginDefault
	}
	return e
}

// opConnect is explain's operation for connecting to a host Unix socket.
const opConnect = "connect"

// isSocket reports whether path is a socket on this host or a socket
// the policy names.
func isSocket(p *ir.Policy, path string) bool {
	if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		return true
	}
	for _, u := range p.Network.UnixSockets {
		if u.Path == path {
			return true
		}
	}
	return false
}

// irConnect is the policy's answer for connecting to the host Unix
// socket at path: the command must see it (read), and the network must
// be on or the socket allowed (unix_sockets, or
// dangerously_allow_all_unix_sockets).
func irConnect(p *ir.Policy, dec *ir.Decider, env ir.Env, path string) explanation {
	e := explanation{Path: path, Op: opConnect}
	if p.Unrestricted {
		e.Allowed, e.Reason, e.Origin = true, "no sandbox (unrestricted profile)", ir.OriginBuiltin
		return e
	}
	if see := dec.Decide(path, ir.OpRead); !see.Allowed {
		r := fromDecision(see, ir.OpRead, env)
		r.Op, r.Allowed, r.Reason = opConnect, false, "the socket is not visible to the command: "+r.Reason
		return r
	}
	set := func(allowed bool, reason string, o ir.Origin) explanation {
		e.Allowed, e.Reason, e.Origin, e.Rule, e.Source = allowed, reason, o.Kind, o.Key, env.HostPos(o.Pos).String()
		if e.Source != "" {
			e.Reason += " (" + e.Source + ")"
		}
		return e
	}
	n := p.Network
	if n.Mode == ir.NetworkFull {
		return set(true, "network on: every socket the command can see", n.Origin)
	}
	if n.AllUnixSockets != nil {
		return set(true, "dangerously_allow_all_unix_sockets: every socket the command can see", *n.AllUnixSockets)
	}
	resolve := env.Resolve
	if resolve == nil {
		resolve = ir.ResolvePath
	}
	real := resolve(path)
	for _, u := range n.UnixSockets {
		if u.Path == path || resolve(u.Path) == real {
			return set(true, "unix_sockets allows "+u.Path, u.Origin)
		}
	}
	return set(false, "network off and no unix_sockets entry allows it: the command reaches no host Unix socket", n.Origin)
}
