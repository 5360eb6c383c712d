package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"polc/diag"
	"polc/rollout"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "rollout",
		Usage:     "check a requirements change against a corpus of users' configs before rolling it out",
		ArgsUsage: "PATH...",
		Description: "Each PATH is a user's config file, a directory holding config.toml (a collected CODEX_HOME)\n" +
			"and/or .codex/config.toml (a project tree), or a directory of those (one level, no walk).\n" +
			"For every config, each profile it defines and the one it runs by default, and each platform,\n" +
			"says whether --requirements (against --baseline, or against no requirements) refuses it (it\n" +
			"would not start: the reason, the config's and the requirement's positions), narrows it (the\n" +
			"paths, network rules and approval settings it loses), widens it, or leaves it unchanged; then\n" +
			"a summary table. A corpus entry that cannot be evaluated is reported and the run goes on.\n" +
			"Exits 1 when a config reaches --fail-on (or cannot be evaluated), 0 otherwise.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "requirements", Usage: "the new requirements.toml `FILE` (repeatable; later files win field by field); required"},
			&cli.StringSliceFlag{Name: "baseline", Usage: "the requirements.toml `FILE` in force today (repeatable; default: no requirements)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text, json or sarif"},
			&cli.StringFlag{Name: "fail-on", Value: "refused", Usage: "exit 1 when a config is at least `STATUS`: refused, narrowed, any (any change) or none"},
			&cli.StringFlag{Name: "target", Usage: "comma-separated `PLATFORMS` to report (default: every platform)"},
			&cli.BoolFlag{Name: "expand", Usage: "expand deny globs in project trees (walks them; off by default)"},
			hostnameFlag,
			allowUnenforceableFlag,
		},
		Action: runRollout,
	})
}

// failThresholds maps --fail-on to the least status that fails the run.
var failThresholds = map[string]rollout.Status{
	"refused":  rollout.Refused,
	"narrowed": rollout.Narrowed,
	"any":      rollout.Changed,
}

func runRollout(c *cli.Context) error {
	format := c.String("format")
	if format != "text" && format != "json" && format != "sarif" {
		return usageErr("unknown --format %q: use text, json or sarif", format)
	}
	failOn := c.String("fail-on")
	threshold, known := failThresholds[failOn]
	if !known && failOn != "none" {
		return usageErr("unknown --fail-on %q: use refused, narrowed, any or none", failOn)
	}
	if len(c.StringSlice("requirements")) == 0 {
		return usageErr("rollout: --requirements FILE is required; usage: polc rollout --requirements NEW.toml [--baseline OLD.toml] PATH...")
	}
	if c.NArg() == 0 {
		return usageErr("rollout needs at least one PATH: a config file, a directory with config.toml or .codex/config.toml, or a directory of them")
	}
	opts := rollout.Options{
		Requirements: c.StringSlice("requirements"),
		Baseline:     c.StringSlice("baseline"),
		Hostname:     c.String(hostnameFlag.Name),
		Expand:       c.Bool("expand"),
		Lower:        lowerOptions(c),
	}
	if t := c.String("target"); t != "" {
		ps, err := parsePlatforms(t)
		if err != nil {
			return err
		}
		opts.Platforms = ps
	}
	for _, f := range append(append([]string(nil), opts.Requirements...), opts.Baseline...) {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			reason := "it is a directory"
			if err != nil {
				reason = unwrapStatErr(err).Error()
			}
			return usageErr("requirements file %s: %s; pass a requirements.toml", f, reason)
		}
	}
	restoreGC := rollout.BatchGC()
	rep, reqDiags, err := rollout.Run(c.Args().Slice(), opts)
	restoreGC()
	if err != nil {
		return failErr("%v", err)
	}
	if rep == nil {
		// The requirements themselves cannot be read: nothing to roll out.
		printDiags(c, reqDiags)
		return failErr("the requirements have errors; fix them before checking a rollout")
	}
	switch format {
	case "json":
		err = printJSON(rep)
	case "sarif":
		err = diag.Printer{Format: diag.SARIF, Version: version}.Write(os.Stdout, rep.Diagnostics())
	default:
		rollout.WriteText(os.Stdout, rep, relPath)
	}
	if err != nil {
		return failErr("%v", err)
	}
	// A config that could not be evaluated fails the run whatever the
	// threshold (but none): it may be one the change refuses.
	worst := rep.Worst()
	if failOn != "none" && (worst == rollout.Error || worst.AtLeast(threshold)) {
		return silentExit(1)
	}
	return nil
}

// relPath shows a path below the working directory relative to it, as
// check's text output does.
func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	return diag.Printer{Base: wd}.Path(p)
}
