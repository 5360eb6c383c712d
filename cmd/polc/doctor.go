package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"polc/backends/bwrap"
	"polc/backends/landlock"
	"polc/compiler"
	"polc/diag"
	"polc/hostprobe"
	"polc/ir"
	"polc/lowering"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "doctor",
		Usage:     "report what this host can enforce for a profile, and the fix for what it cannot",
		ArgsUsage: " ",
		Description: "Probes this Linux host by trying: finds bubblewrap, creates a user namespace in a child, makes a\n" +
			"tiny sandbox with the profile's namespaces and seccomp filter, installs a filter in a child, and\n" +
			"reads the platform (native, WSL1, WSL2) and container markers. One row per capability, each failure\n" +
			"with a stable code and its fix. Exits 0 when the selected profile can be enforced here, 1 otherwise.",
		Flags: append(compileFlags(), landlockFlag,
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text or json"},
		),
		Action: doctorAction,
	})
}

// doctorProbe is the host polc doctor asks; tests play other hosts.
var doctorProbe = hostprobe.System

func doctorAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErr("doctor takes no arguments (got %q); use -C DIR and -P PROFILE", c.Args().First())
	}
	format := c.String("format")
	if format != "text" && format != "json" {
		return usageErr("unknown --format %q: use text or json", format)
	}
	if runtime.GOOS != "linux" {
		return failErr("%v", diag.Errorf(diag.HostNoDoctor, "doctor probes Linux hosts; on %s it is not implemented yet", runtime.GOOS))
	}
	sb, err := doctorSandbox(c)
	if err != nil {
		return err
	}
	r := hostprobe.Inspect(doctorProbe(), sb)
	if err := writeDoctor(os.Stdout, r, format); err != nil {
		return failErr("%v", err)
	}
	if !r.Enforceable {
		return silentExit(1)
	}
	return nil
}

// writeDoctor prints the report as text or JSON.
func writeDoctor(w io.Writer, r *hostprobe.Report, format string) error {
	if format == "json" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	_, err := io.WriteString(w, r.Text())
	return err
}

// doctorSandbox compiles the selected profile as polc exec does and
// says what its Linux sandbox asks of bubblewrap.
func doctorSandbox(c *cli.Context) (hostprobe.Sandbox, error) {
	opts := compileOptions(c)
	opts.ForExec = true
	opts.NoExpand = true
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return hostprobe.Sandbox{}, failErr("-C %s: %v", opts.Dir, err)
	}
	opts.Dir = dir
	res := compiler.Compile(opts)
	if res.Diags.HasErrors() || res.Policy == nil {
		msg := "compiling the profile failed"
		if errs := res.Diags.Errors(); len(errs) > 0 {
			msg = errs[0].Message + " [" + string(errs[0].Code) + "]"
		}
		return hostprobe.Sandbox{}, failErr("doctor: %s; polc check shows every problem", msg)
	}
	lowered := lowering.LowerAll(res.Policy, []ir.Platform{ir.Linux}, lowerOptions(c))[0]
	if d := lowered.Refusal(); d != nil {
		return hostprobe.Sandbox{}, failErr("doctor: %s cannot be lowered for Linux: %s [%s]", res.Policy.Profile, d.Message, d.Code)
	}
	sb, err := sandboxOf(res.Policy.Profile, lowered.Output.Artifact.(*bwrap.Artifact))
	sb.Skip = []string{dir} // as polc exec, never a bwrap the project holds
	sb.Landlock = landlockFit(res)
	sb.Needs = needsOf(res)
	return sb, err
}

// sandboxOf says what a Linux artifact asks of bubblewrap.
func sandboxOf(profile string, art *bwrap.Artifact) (hostprobe.Sandbox, error) {
	var err error
	sb := hostprobe.Sandbox{Profile: profile, Unrestricted: art.Unrestricted}
	if art.Unrestricted {
		return sb, nil
	}
	sb.Args = bwrap.DirectNamespaceArgs(art)
	sb.Proc, sb.Dev = art.Proc, art.Dev
	if sb.Filter, err = art.Seccomp.Bytes(runtime.GOARCH); err != nil {
		return hostprobe.Sandbox{}, failErr("%v", diag.Errorf(diag.LinuxUnsupportedArch, "%w", err))
	}
	return sb, nil
}

// landlockFit says what Landlock mode needs for the compiled profile, or
// why it cannot enforce it exactly.
func landlockFit(res *compiler.Result) *hostprobe.LandlockFit {
	fit := &hostprobe.LandlockFit{Asked: res.Landlock != nil}
	p, conflicts := landlock.Lower(res.Policy, res.Env)
	if len(conflicts) > 0 {
		c := conflicts[0]
		fit.Refusal, fit.RefusalCode = symbolizeWords(c.Msg, res.Env.Bindings), c.Code
		if s := res.Env.HostPos(c.Pos).String(); s != "" {
			fit.Refusal += " (" + s + ")"
		}
		return fit
	}
	fit.MinABI, fit.Need = p.MinABI, p.Need
	return fit
}

// symbolizeWords writes the host paths of a message (words starting with
// /) in their symbolic form (${WORKSPACE_ROOT}/.git), as reports that do
// not depend on where the project lies show them.
func symbolizeWords(msg string, b ir.Bindings) string {
	words := strings.Split(msg, " ")
	for i, w := range words {
		if !strings.HasPrefix(w, "/") {
			continue
		}
		core := strings.TrimRight(w, ",:;)")
		words[i] = b.Symbolize(core) + w[len(core):]
	}
	return strings.Join(words, " ")
}

// needsOf says what the compiled profile asks of files and network, for
// doctor to judge the container polc runs in by.
func needsOf(res *compiler.Result) *hostprobe.Needs {
	p := res.Policy
	n := &hostprobe.Needs{Network: string(p.Network.Mode)}
	if p.Unrestricted {
		n.WritableTree = func(string) bool { return true }
		return n
	}
	env := res.Env
	env.Platform = ir.Linux
	dec, err := ir.NewDecider(p, env)
	if err != nil {
		n.ReadLimit = "could not be evaluated: " + err.Error()
		return n
	}
	switch {
	case !dec.Decide("/", ir.OpRead).Allowed:
		n.ReadLimit = "reads only what its rules grant"
	case len(p.Globs) > 0:
		n.ReadLimit = fmt.Sprintf("denies what the glob %q matches (%s)", p.Globs[0].Pattern, env.HostOrigin(p.Globs[0].Origin))
	default:
		for _, r := range p.Rules {
			if r.Access == ir.Deny {
				n.ReadLimit = fmt.Sprintf("denies %s (%s)", env.Bindings.Bind(r.Path), env.HostOrigin(r.Origin))
				break
			}
		}
	}
	var rules, bases []string
	for _, r := range p.Rules {
		if h, ok := env.Bindings.BindOK(r.Path); ok {
			rules = append(rules, ir.ResolvePath(h))
		}
	}
	for _, g := range p.Globs {
		if hg, err := g.Bind(ir.Env{Bindings: env.Bindings}); err == nil {
			bases = append(bases, hg.Base)
		}
	}
	n.WritableTree = func(m string) bool {
		m = ir.ResolvePath(m)
		if !dec.Decide(m, ir.OpWrite).Allowed {
			return false
		}
		for _, r := range rules {
			if r != m && ir.HasPathPrefix(r, m) && !dec.Decide(r, ir.OpWrite).Allowed {
				return false
			}
		}
		for _, b := range bases {
			if ir.HasPathPrefix(b, m) || ir.HasPathPrefix(m, b) {
				return false
			}
		}
		return true
	}
	return n
}
