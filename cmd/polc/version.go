package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "version",
		Usage:     "print polc's version, the commit it was built from and the Go version",
		ArgsUsage: " ",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("version takes no arguments")
			}
			printVersion(os.Stdout)
			return nil
		},
	})
	commands = append(commands, &cli.Command{
		Name:      "help",
		Usage:     "show the commands, or one command's flags: polc help [COMMAND]",
		ArgsUsage: "[COMMAND]",
		Action: func(c *cli.Context) error {
			switch c.NArg() {
			case 0:
				return cli.ShowAppHelp(c)
			case 1:
				name := c.Args().First()
				if c.App.Command(name) == nil {
					return usageErr("help: unknown command %q; see polc help", name)
				}
				// The command is the app's, so its help is shown from the
				// app's context (the help command's own has no subcommands).
				parent := c
				if l := c.Lineage(); len(l) > 1 {
					parent = l[1]
				}
				return cli.ShowCommandHelp(parent, name)
			}
			return usageErr("help takes at most one COMMAND")
		},
	})
	cli.VersionPrinter = func(*cli.Context) { printVersion(os.Stdout) }
}

// commit is set by make build (-ldflags -X main.commit=...); otherwise
// the commit Go recorded in the binary, if it did.
var commit string

// printVersion writes "polc version V (commit C[, modified], GOVERSION
// OS/ARCH)"; the commit is the one the binary was built from, when the
// build recorded it.
func printVersion(w io.Writer) {
	rev, dirty := commit, false
	if info, ok := debug.ReadBuildInfo(); ok && rev == "" {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
				if len(rev) > 12 {
					rev = rev[:12]
				}
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	if dirty {
		rev += ", modified"
	}
	fmt.Fprintf(w, "polc version %s (commit %s, %s %s/%s)\n", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
