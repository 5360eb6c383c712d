package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"polc/artifact"
	"polc/compiler"
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
		home := os.Getenv("CODEX_HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return usageErr("no FILE given and no home directory: %v", err)
			}
			home = filepath.Join(h, ".codex")
		}
		files = []string{filepath.Join(home, "config.toml")}
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
