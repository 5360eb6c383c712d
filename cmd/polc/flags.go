package main

import (
	"os"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"polc/backends"
	"polc/compiler"
	"polc/ir"
)

// Flags shared by the commands that compile a profile.
var (
	dirFlag          = &cli.StringFlag{Name: "C", Usage: "project `DIR` (the primary workspace root)", Value: "."}
	profileFlag      = &cli.StringFlag{Name: "P", Aliases: []string{"profile"}, Usage: "permission `PROFILE` (default: default_permissions)"}
	configFlag       = &cli.StringSliceFlag{Name: "config", Usage: "extra config.toml `FILE` layer"}
	overrideFlag     = &cli.StringSliceFlag{Name: "c", Usage: "override `key=value` (TOML value)"}
	requirementsFlag = &cli.StringSliceFlag{Name: "requirements", Usage: "requirements.toml `FILE` (default /etc/codex/requirements.toml)"}
	hostnameFlag     = &cli.StringFlag{Name: "hostname", Usage: "match remote_sandbox_config for host `NAME` instead of this machine"}
	// allowUnenforceableFlag is the user's explicit opt-in to a weaker
	// sandbox: without it, a rule a platform cannot enforce is an error.
	landlockFlag           = &cli.BoolFlag{Name: "landlock", Usage: "run under Landlock and seccomp instead of bubblewrap (as features.use_legacy_landlock = true); refused, with the reason, when Landlock cannot enforce the profile exactly"}
	allowUnenforceableFlag = &cli.BoolFlag{Name: "allow-unenforceable", Usage: "lower rules a platform cannot enforce with a warning instead of refusing (a weaker sandbox)"}
)

// compileFlags are the flags every compiling command takes.
func compileFlags() []cli.Flag {
	return []cli.Flag{dirFlag, profileFlag, configFlag, overrideFlag, requirementsFlag, hostnameFlag, allowUnenforceableFlag}
}

// compileOptions reads the compile flags.
func compileOptions(c *cli.Context) compiler.Options {
	return compiler.Options{
		Dir:              c.String("C"),
		Profile:          c.String("P"),
		ConfigFiles:      c.StringSlice("config"),
		Overrides:        c.StringSlice("c"),
		RequirementFiles: c.StringSlice("requirements"),
		Hostname:         c.String(hostnameFlag.Name),
		Landlock:         c.Bool(landlockFlag.Name),
	}
}

// lowerOptions reads the flags that tune the backends.
func lowerOptions(c *cli.Context) backends.Options {
	return backends.Options{AllowUnenforceable: c.Bool(allowUnenforceableFlag.Name), WindowsMode: envSwitches().windowsMode}
}

// switches are the environment variables that tune polc: read here, once,
// and passed on as options (the packages polc is built from read none).
type switches struct {
	// windowsMode is POLC_WINDOWS_MODE: the Windows mode to run and
	// explain instead of the plan's preferred one (elevated, unelevated).
	windowsMode string
	// debug is POLC_DEBUG_BWRAP (any value): each step of a Linux launch
	// on stderr.
	debug bool
	// maskStage is POLC_EXEC_STAGE=inner: launch through the mask stage
	// even where the direct launch would do (the tests run both).
	maskStage bool
}

var envSwitches = sync.OnceValue(func() switches {
	return switches{
		windowsMode: os.Getenv("POLC_WINDOWS_MODE"),
		debug:       os.Getenv("POLC_DEBUG_BWRAP") != "",
		maskStage:   os.Getenv("POLC_EXEC_STAGE") == "inner",
	}
})

// parsePlatforms reads a comma-separated --target list of platforms.
func parsePlatforms(s string) ([]ir.Platform, error) {
	var out []ir.Platform
	for _, name := range strings.Split(s, ",") {
		p, err := ir.ParsePlatform(strings.TrimSpace(name))
		if err != nil {
			return nil, usageErr("--target: unknown target %q (known: %v)", strings.TrimSpace(name), ir.Platforms)
		}
		out = append(out, p)
	}
	return out, nil
}
