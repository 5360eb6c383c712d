package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"polc/compiler"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "migrate",
		Usage:     "rewrite legacy sandbox_mode / [sandbox_workspace_write] as a permission profile (printed as TOML)",
		ArgsUsage: " ",
		Description: "Reads the config layers as check does and prints default_permissions plus an equivalent\n" +
			"[permissions.NAME] profile. Replace the legacy keys in your config.toml with the output.",
		Flags: append(compileFlags(),
			&cli.StringFlag{Name: "name", Value: "migrated", Usage: "`NAME` of the new profile"},
		),
		Action: runMigrate,
	})
}

func runMigrate(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErr("migrate takes no arguments")
	}
	name := c.String("name")
	if name == "" || strings.HasPrefix(name, ":") {
		return usageErr("--name %q: profile names must be non-empty and must not start with ':' (reserved for built-ins)", name)
	}
	m := compiler.Migrate(compileOptions(c), name)
	printDiags(c, m.Diags)
	if m.Diags.HasErrors() {
		return silentExit(1)
	}
	if m.TOML == "" {
		fmt.Fprintln(os.Stderr, "polc: no legacy sandbox settings (sandbox_mode, [sandbox_workspace_write]) to migrate")
		return nil
	}
	fmt.Print(m.TOML)
	return nil
}
