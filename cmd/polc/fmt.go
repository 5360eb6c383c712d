package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"polc/artifact"
	"polc/compiler"
	"polc/ir"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "fmt",
		Usage:     "rewrite old spellings in config files (none -> deny, :project_roots -> :workspace_roots, guardian_subagent -> auto_review)",
		ArgsUsage: "[FILE...]",
		Description: "Edits in place only the tokens that change, keeping comments and layout; the meaning stays the same.\n" +
			"Without FILE it reads $CODEX_HOME/config.toml. Prints the result unless -w; -l lists files that would change.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "w", Usage: "write the result back to each file (atomically)"},
			&cli.BoolFlag{Name: "l", Usage: "list the files that would change, and exit 1 if any would"},
		},
		Action: runFmt,
	})
}

func runFmt(c *cli.Context) error {
	files := c.Args().Slice()
	if len(files) == 0 {
		// The user's config, where the compiler finds it.
		host, diags := ir.HostBindings(ir.HostInput{})
		if errs := diags.Errors(); len(errs) > 0 {
			return failErr("%s", oneLine("", errs[0]))
		}
		if host.CodexHome == "" {
			return usageErr("no FILE given and no home directory to find $CODEX_HOME/config.toml in")
		}
		files = []string{filepath.Join(host.CodexHome, "config.toml")}
	}
	failed, wouldChange := false, false
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "polc: %v\n", err)
			failed = true
			continue
		}
		out, changes, diags := compiler.Format(f, data)
		if diags.HasErrors() {
			printDiags(c, diags.Errors())
			failed = true
			continue
		}
		for _, ch := range changes {
			fmt.Fprintln(os.Stderr, ch.String())
		}
		switch {
		case c.Bool("l"):
			if len(changes) > 0 {
				fmt.Println(f)
				wouldChange = true
			}
		case c.Bool("w"):
			if len(changes) == 0 {
				continue
			}
			if _, err := artifact.WriteFiles(filepath.Dir(f), map[string][]byte{filepath.Base(f): out}); err != nil {
				fmt.Fprintf(os.Stderr, "polc: %v\n", err)
				failed = true
			}
		default:
			os.Stdout.Write(out)
		}
	}
	if failed || wouldChange {
		return silentExit(1)
	}
	return nil
}
