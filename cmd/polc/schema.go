package main

import (
	"github.com/urfave/cli/v2"

	"polc/compiler"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "schema",
		Usage:     "print the JSON Schema of the config.toml permission keys (for editors)",
		ArgsUsage: " ",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("schema takes no arguments")
			}
			return printJSON(compiler.Schema())
		},
	})
}
