package main

import (
	"errors"
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
		Name:      "check",
		Usage:     "check a profile and its requirements; print diagnostics like go vet",
		ArgsUsage: "[FILE|DIR]...",
		Description: "Compiles the selected profile (config discovery as Codex does it) and reports every\n" +
			"error and warning with file:line:col, a stable code and a fix. Exits 1 when there is an error.",
		Flags: append(compileFlags(), landlockFlag,
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text, json or sarif"},
			&cli.BoolFlag{Name: "strict", Usage: "treat deny-glob matches beyond glob_scan_max_depth as errors"},
			&cli.BoolFlag{Name: "verbose", Usage: "name every path a grouped diagnostic counts, those outside the project and the home included"},
			&cli.BoolFlag{Name: "all", Usage: "check every profile (the built-ins and each [permissions] profile), not only the selected one"},
			&cli.StringFlag{Name: "target", Usage: "comma-separated `PLATFORMS` whose backends also check the policy (default: every platform; none to skip)"},
		),
		Action: runCheck,
	})
}

func runCheck(c *cli.Context) error {
	format, err := diag.ParseFormat(c.String("format"))
	if err != nil {
		return usageErr("%v", err)
	}
	opts := compileOptions(c)
	if err := checkArgs(c, &opts); err != nil {
		return err
	}
	opts.Strict = c.Bool("strict")
	opts.Verbose = c.Bool("verbose")
	if c.Bool("all") {
		return checkAll(c, opts, format)
	}
	res := compiler.Compile(opts)
	if err := lowerCheck(c.String("target"), res, lowerOptions(c)); err != nil {
		return err
	}
	if err := writeDiags(c, res, format); err != nil {
		return failErr("%v", err)
	}
	if res.Diags.HasErrors() {
		return silentExit(1)
	}
	return nil
}

// checkArgs reads polc check's optional FILE and DIR arguments, as users
// of other policy checkers type them: a requirements.toml is checked as
// --requirements, any other file as a --config layer, and a directory is
// the project (-C).
func checkArgs(c *cli.Context, opts *compiler.Options) error {
	dirSet := c.IsSet("C")
	for _, arg := range c.Args().Slice() {
		fi, err := os.Stat(arg)
		switch {
		case err != nil:
			return usageErr("check %s: %v; pass a config.toml, a requirements.toml or a project directory", arg, unwrapStatErr(err))
		case fi.IsDir():
			if dirSet {
				return usageErr("check: give the project once (-C DIR or one DIR argument)")
			}
			opts.Dir, dirSet = arg, true
		case filepath.Base(arg) == "requirements.toml":
			opts.RequirementFiles = append(opts.RequirementFiles, arg)
		default:
			opts.ConfigFiles = append(opts.ConfigFiles, arg)
		}
	}
	return nil
}

func unwrapStatErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkAll checks each profile in turn, as an admin does before a
// rollout: which profiles the requirements refuse or narrow, and what each
// platform cannot enforce. Text output has a header per profile; JSON and
// SARIF hold every profile's diagnostics, each marked with its profile.
func checkAll(c *cli.Context, opts compiler.Options, format diag.Format) error {
	if opts.Profile != "" {
		return usageErr("--all checks every profile; do not combine it with -P")
	}
	failed := false
	all := &compiler.Result{}
	for _, name := range compiler.ProfileNames(opts) {
		o := opts
		o.Profile = name
		res := compiler.Compile(o)
		if err := lowerCheck(c.String("target"), res, lowerOptions(c)); err != nil {
			return err
		}
		// --all selects each profile itself: the selection is not a -P
		// the user typed, and the header (or the message prefix) names it.
		for i := range res.Diags {
			if res.Diags[i].Pos.File == "-P" {
				res.Diags[i].Pos = diag.Pos{}
			}
		}
		failed = failed || res.Diags.HasErrors()
		if !format.Machine() {
			// The header names the profile of the diagnostics below it.
			fmt.Fprintf(os.Stderr, "== %s\n", name)
			if err := writeDiags(c, res, format); err != nil {
				return failErr("%v", err)
			}
			continue
		}
		for _, d := range res.Diags {
			d.Profile = name
			all.Diags = append(all.Diags, d)
		}
		all.Env = res.Env
	}
	if format.Machine() {
		if err := writeDiags(c, all, format); err != nil {
			return failErr("%v", err)
		}
	}
	if failed {
		return silentExit(1)
	}
	return nil
}

// lowerCheck lowers the policy with each target's backend and adds what
// the backends report (rules a platform cannot enforce, or enforces
// differently) to the diagnostics, each with its Platform.
func lowerCheck(targets string, res *compiler.Result, opts backends.Options) error {
	platforms := ir.Platforms
	switch targets {
	case "":
	case "none":
		platforms = nil
	default:
		ps, err := parsePlatforms(targets)
		if err != nil {
			return err
		}
		platforms = ps
	}
	if res.Policy == nil {
		platforms = nil
	}
	for _, r := range lowering.LowerAll(res.Policy, platforms, opts) {
		r.Diags = res.Env.HostDiags(r.Diags)
		// Another platform's notes (how Windows would run this profile)
		// are noise on a check nobody asked about it; they are shown when
		// its target is named, or when that platform fails.
		quiet := targets == "" && r.Platform != ir.HostPlatform() && r.Refusal() == nil
		for _, d := range r.Diags {
			if quiet && d.Severity == diag.Info {
				continue
			}
			d.Platform = string(r.Platform)
			res.Diags = append(res.Diags, d)
		}
	}
	res.Diags.Sort()
	return nil
}

// writeDiags prints a compile's diagnostics in the chosen format: text
// on stderr (as go vet prints), ending with the summary line; JSON and
// SARIF on stdout, for programs.
func writeDiags(c *cli.Context, res *compiler.Result, format diag.Format) error {
	p := diagPrinter(c, format)
	p.Root = res.Env.Bindings[ir.VarWorkspaceRoot]
	if format.Machine() {
		return p.Write(os.Stdout, res.Diags)
	}
	if err := p.Write(os.Stderr, res.Diags); err != nil {
		return err
	}
	_, err := fmt.Fprintln(os.Stderr, summary(res))
	return err
}

// diagPrinter is the printer of a command's diagnostics: text names
// files relative to the project directory (-C, default the working
// directory), as a Go tool run with -C DIR does.
func diagPrinter(c *cli.Context, format diag.Format) diag.Printer {
	dir := "."
	if c != nil && c.IsSet("C") {
		dir = c.String("C")
	}
	base, err := filepath.Abs(dir)
	if err != nil {
		base = ""
	}
	return diag.Printer{Format: format, Base: base, Version: version}
}

// printDiags prints diagnostics as text on stderr, in order, with no
// summary: the problems of a command whose output is something else.
func printDiags(c *cli.Context, l diag.List) {
	l.Sort()
	_ = diagPrinter(c, diag.Text).Write(os.Stderr, l)
}

// summary is the last line of text output: what was checked and the counts.
func summary(res *compiler.Result) string {
	what := "no policy"
	if res.Policy != nil {
		what = "profile " + res.Policy.Profile
		if len(res.Policy.Extends) > 0 {
			what += " (extends " + strings.Join(res.Policy.Extends, " -> ") + ")"
		}
		what += ": " + diag.Plural(len(res.Policy.Rules), "rule") + ", " + diag.Plural(len(res.Policy.Globs), "deny glob")
	}
	return what + "; " + res.Diags.Counts()
}
