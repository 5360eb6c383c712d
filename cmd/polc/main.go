// Command polc compiles Codex permission profiles into reviewable, signed,
// per-platform sandbox artifacts, checks them against managed
// requirements, explains decisions, and runs commands under them.
//
// Each subcommand lives in its own file and adds itself to commands from
// an init function; this file holds the app and the exit-code contract:
// usage errors exit 2, check failures exit 1, and polc's own failures in
// exec exit 125 (the command's status is returned otherwise).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/urfave/cli/v2"
)

// version is stamped into artifacts' scope.
var version = "0.1.0"

// commands is filled by each command file's init.
var commands []*cli.Command

// exitError carries an exit status and a one-line message, and the
// first error among the message's arguments (a *diag.Diagnostic, for
// errors.As), if any.
type exitError struct {
	code  int
	msg   string
	cause error
}

func (e *exitError) Error() string { return e.msg }

// Unwrap is the error the message was made from.
func (e *exitError) Unwrap() error { return e.cause }

// exitf builds an exitError from a format and its arguments.
func exitf(code int, format string, args ...any) *exitError {
	e := &exitError{code: code, msg: fmt.Sprintf(format, args...)}
	for _, a := range args {
		if err, ok := a.(error); ok {
			e.cause = err
			break
		}
	}
	return e
}

// usageErr is a bad command line: exit 2.
func usageErr(format string, args ...any) error { return exitf(2, format, args...) }

// failErr is a failed check or build: exit 1.
func failErr(format string, args ...any) error { return exitf(1, format, args...) }

// silentExit exits with code after the command printed its own output.
func silentExit(code int) error { return &exitError{code: code} }

// newApp builds the app for the command line args. A command that is
// not help gets an app holding it alone: polc exec starts on every
// sandboxed command, and setting up all twenty commands' flags for the
// one that runs costs about a millisecond of that start.
func newApp(args []string) *cli.App {
	sort.Slice(commands, func(i, j int) bool { return commands[i].Name < commands[j].Name })
	cmds := commands
	if len(args) > 1 && args[1] != "help" {
		for _, c := range commands {
			if c.HasName(args[1]) {
				cmds = []*cli.Command{c}
				break
			}
		}
	}
	// A bad flag of a command is a usage error too: one line and exit 2,
	// not the command's help on stdout (which, for exec, is the
	// command's output stream) and exit 1.
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = func(c *cli.Context, err error, isSubcommand bool) error {
				return usageErr("%s: %v; see polc %s --help", c.Command.Name, err, c.Command.Name)
			}
		}
	}
	return &cli.App{
		Name:                 "polc",
		Usage:                "compile Codex permission profiles into signed sandbox artifacts",
		Version:              version,
		Commands:             cmds,
		EnableBashCompletion: false,
		HideHelpCommand:      true,
		// Set, so that urfave/cli does not stat polc's executable for
		// it on every start; polc never shows it.
		Compiled: time.Unix(0, 1),
		// polc has its own help command (version.go), so urfave does not
		// add --help to the app by itself.
		Flags: []cli.Flag{cli.HelpFlag},
		OnUsageError: func(c *cli.Context, err error, isSubcommand bool) error {
			return usageErr("%v", err)
		},
		// No command at all is a usage error: the help goes to stderr
		// and polc exits 2, as go and git do.
		Action: func(c *cli.Context) error {
			if c.Args().Len() == 0 {
				c.App.Writer = os.Stderr
				cli.ShowAppHelp(c)
				return silentExit(2)
			}
			return usageErr("unknown command %q; see polc --help", c.Args().First())
		},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(os.Stderr, "polc: unknown command %q; see polc --help\n", name)
			os.Exit(2)
		},
	}
}

func main() {
	os.Exit(run(os.Args))
}

// run executes the app and maps its error to an exit status.
func run(args []string) int {
	err := newApp(args).Run(args)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "polc: "+ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "polc: "+err.Error())
	return 1
}

// printJSON writes v to stdout as indented JSON, the machine format of
// every command that has one.
func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
