package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"polc/backends"
	"polc/backends/bwrap"
	"polc/compiler"
	"polc/diag"
	"polc/ir"
	"polc/lowering"
	"polc/shim"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "exec",
		Usage:     "run a command under a permission profile (as `codex sandbox` does)",
		ArgsUsage: "-- CMD [ARG...]",
		Flags: append(append(compileFlags(), artifactFlags()...), landlockFlag,
			&cli.StringFlag{Name: "net-log", Usage: "append each request the network proxy refuses to `FILE` as a JSON line"}),
		Action: execAction,
	})
}

// prepared is what a launch needs: the platform artifact and how its
// variables bind on this host. Compiling the config is one way to get
// it; a signed artifact file is another (it replaces prepareFromConfig
// only, the launch is shared).
type prepared struct {
	Out *backends.Output
	Env ir.Env
	// Dir is the command's working directory (-C), absolute.
	Dir string
	// Network is the policy's network (the domain rules polc's proxy
	// enforces for a proxy-only network).
	Network *ir.Network
	// Warning is printed (one line) once the launch is about to start;
	// a launch polc refuses prints its refusal alone.
	Warning string
	// Landlock, when set, is the Landlock payload the command runs under
	// instead of bubblewrap (exec_landlock.go).
	Landlock []byte
	// landlockOffer, when set, says whether Landlock mode would enforce
	// the profile exactly here, for a launch bubblewrap cannot make.
	landlockOffer func() string
}

func execAction(c *cli.Context) error {
	argv := c.Args().Slice()
	if len(argv) == 0 {
		return usageErr("exec: no command given; usage: polc exec [-C DIR] [-P PROFILE] -- CMD [ARG...]")
	}
	if c.IsSet(hostnameFlag.Name) {
		// A command runs on this host: remote_sandbox_config must match
		// this machine's name, not one the caller picks.
		return usageErr("exec: --hostname is for check, explain and build; a command runs under this host's requirements")
	}
	prepare := prepareFromConfig
	if c.IsSet("artifact") || c.IsSet("trust") {
		if c.Bool(landlockFlag.Name) {
			return landlockWithArtifact()
		}
		prepare = prepareFromArtifact // exec_artifact.go
	}
	p, err := prepare(c)
	if err != nil {
		return err
	}
	return launch(p, argv, c.String("net-log"))
}

// execFailure is polc's own failure to run the command: exit 125, one line.
func execFailure(format string, args ...any) error {
	e := exitf(125, format, args...)
	e.msg = strings.ReplaceAll(strings.TrimSpace(e.msg), "\n", " ")
	return e
}

// prepareFromConfig compiles the profile from the config layers (as the
// reference does when it runs a command) and lowers it for this platform.
func prepareFromConfig(c *cli.Context) (*prepared, error) {
	opts := compileOptions(c)
	opts.ForExec = true
	// The shim expands deny globs at launch; a second walk here would
	// only slow every command down.
	opts.NoExpand = true
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, execFailure("-C %s: %v", opts.Dir, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, execFailure("-C %s: not a directory", opts.Dir)
	}
	opts.Dir = dir
	// One command's compile and its readability check ask the host the
	// same questions (every rule's path resolved, the command's loader):
	// a cache for this launch answers each once. The launch plan asks
	// the host again.
	opts.Host = compiler.NewHostCache()
	res := compiler.Compile(opts)
	if res.Diags.HasErrors() || res.Policy == nil {
		errs := res.Diags.Errors()
		if len(errs) == 0 {
			return nil, execFailure("compiling the profile failed")
		}
		line := oneLine(dir, errs[0])
		if n := len(errs) - 1; n > 0 {
			line += fmt.Sprintf(" (and %d more error(s): run polc check)", n)
		}
		e := exitf(125, "refusing to run: %s", line)
		e.cause = errs.Err()
		return nil, e
	}
	if err := checkCommandReadable(res, opts.Host, c.Args().First(), dir); err != nil {
		return nil, err
	}
	// The launch runs the lowered artifact as it is: no payload to encode.
	lopts := lowerOptions(c)
	lopts.NoPayload = true
	lowered := lowering.LowerAll(res.Policy, []ir.Platform{ir.HostPlatform()}, lopts)[0]
	if d := lowered.Refusal(); d != nil {
		hd := res.Env.HostDiags(diag.List{*d})[0]
		hd.Platform = string(lowered.Platform)
		e := exitf(125, "refusing to run: %s [%s]", hd.Message, hd.Code)
		e.cause = &hd
		return nil, e
	}
	if lowered.Output == nil {
		return nil, execFailure("refusing to run: the %s backend made no artifact", lowered.Platform)
	}
	out, diags := lowered.Output, res.Env.HostDiags(lowered.Diags)
	env := res.Env
	env.Platform = ir.HostPlatform()
	// A rule the user let the platform widen (--allow-unenforceable) is
	// said on every launch, not only by polc check.
	warning := ""
	for _, d := range diags {
		if d.Code == diag.LinuxUnixSocketWidened {
			warning = "polc: " + oneLine(dir, d)
			break
		}
	}
	// A project layer exec did not load (the project is not trusted) is
	// said on every launch: check and explain read it, exec does not.
	var skipped []diag.Diagnostic
	for _, d := range res.Diags {
		if d.Code == diag.UntrustedProject {
			skipped = append(skipped, d)
		}
	}
	if len(skipped) > 0 {
		line := "polc: " + oneLine(dir, skipped[0])
		if len(skipped) > 1 {
			line = fmt.Sprintf("polc: warning: %d project configs are not loaded (the nearest: %s): the project is not trusted [%s]; fix: %s",
				len(skipped), skipped[len(skipped)-1].Pos.File, diag.UntrustedProject, skipped[0].Fix)
		}
		if warning != "" {
			warning += "\n"
		}
		warning += line
	}
	// The proxy names the rule behind a refusal: the file it was read
	// from, on this host.
	network := res.Env.HostOrigins(res.Policy).Network
	ll, err := landlockPayload(res, env)
	if err != nil {
		return nil, err
	}
	return &prepared{Out: out, Env: env, Dir: dir, Network: &network, Warning: warning, Landlock: ll, landlockOffer: landlockOffer(res, env)}, nil
}

// checkCommandReadable refuses, in one line, a command no rule lets the
// sandbox read (or whose loader no rule reaches): inside the sandbox it
// would not exist, and fail with a message that names no rule. A command
// not found here is left to the launch, which reports it.
func checkCommandReadable(res *compiler.Result, host *compiler.HostCache, name, dir string) error {
	path := name
	if !strings.Contains(name, "/") {
		p, err := exec.LookPath(name)
		if err != nil {
			return nil
		}
		path = p
	} else if !filepath.IsAbs(name) {
		path = filepath.Join(dir, name)
	}
	env := res.Env
	env.Resolve, env.Exists = host.ResolvePath, host.Exists
	dec, err := ir.NewDecider(res.Policy, env)
	if err != nil {
		return execFailure("evaluating the policy: %v", err)
	}
	for i, need := range host.CommandNeeds(path) {
		// A command a deny rule or glob hides is the user's choice: the
		// launch runs and the shell's 126 says permission denied. Only a
		// command no rule reaches is absent from the sandbox altogether.
		d := dec.Decide(need, ir.OpRead)
		if d.Allowed || d.Rule != nil || d.Glob != nil {
			continue
		}
		what := "the command " + need
		if i > 0 {
			what = fmt.Sprintf("%s, the loader of the command %s", need, path)
		}
		key := fmt.Sprintf("%q = \"read\"", filepath.Dir(need))
		for _, root := range ir.MinimalRoots[ir.HostPlatform()] {
			if ir.HasPathPrefix(need, root) || ir.HasPathPrefix(path, root) {
				key = `":minimal" = "read"`
			}
		}
		return execFailure("refusing to run: %v", diag.Errorf(diag.CommandUnreadable, "the sandbox cannot read %s (%s)", what, d.Reason()).
			WithFix(fmt.Sprintf("add %s to %s", key, compiler.FilesystemTable(res.Policy.Profile))))
	}
	return nil
}

// oneLine renders a diagnostic on one line, its files named relative to
// the project directory dir as check names them: file:line:col:
// severity: message [CODE]; fix: fix.
func oneLine(dir string, d diag.Diagnostic) string {
	return diag.Printer{Format: diag.Text, Base: dir}.Relative(d).Line()
}

// launch runs argv under a prepared artifact and exits with its status.
// netLog, when not "", is the file the proxy appends refusals to.
func launch(p *prepared, argv []string, netLog string) error {
	warned := p.Warning == ""
	warn := func() {
		if !warned {
			warned = true
			fmt.Fprintln(os.Stderr, p.Warning)
		}
	}
	var logw io.Writer
	if netLog != "" {
		f, err := os.OpenFile(netLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return execFailure("--net-log: %v", err)
		}
		defer f.Close()
		logw = f
	}
	run := shim.Run
	if p.Landlock != nil {
		run = func(l *shim.Launch) (int, error) { return shim.RunLandlock(l, p.Landlock) }
	}
	linux, _ := p.Out.Artifact.(*bwrap.Artifact) // nil off Linux
	sw := envSwitches()
	var debug io.Writer
	if sw.debug {
		debug = os.Stderr
	}
	code, err := run(&shim.Launch{
		Debug:       debug,
		MaskStage:   sw.maskStage,
		WindowsMode: sw.windowsMode,
		Network:     p.Network,
		NetLog:      logw,
		Ready:       warn,
		Linux:       linux,
		Payload:     p.Out.Payload,
		Files:       p.Out.Files,
		Env:         p.Env,
		Argv:        argv,
		Dir:         p.Dir,
		Environ:     os.Environ(),
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
	})
	if err != nil {
		return execFailure("%s", offerLandlock(p, err))
	}
	warn() // a runtime that does not call Ready: late, but said
	if code == 0 {
		return nil
	}
	return silentExit(code)
}
