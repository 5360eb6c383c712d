package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"polc/artifact"
	"polc/backends"
	"polc/backends/bwrap"
	"polc/diag"
	"polc/ir"
)

// artifactFlags are polc exec's flags for running a built artifact
// instead of compiling the config.
func artifactFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "artifact", Usage: "run under the built artifact `FILE` (reads no config)"},
		trustFlag,
	}
}

// prepareFromArtifact is exec's other source of a launch: a built
// artifact, verified, instead of compile + lower. Flags that select or
// change a config make no sense then and are refused rather than ignored.
func prepareFromArtifact(c *cli.Context) (*prepared, error) {
	if c.String("artifact") == "" {
		return nil, usageErr("exec: --trust needs --artifact FILE (a compiled config is not signed)")
	}
	for _, f := range []string{"P", "config", "c", "requirements"} {
		if c.IsSet(f) {
			return nil, usageErr("exec: -%s cannot be used with --artifact: the artifact was compiled already and polc reads no config", f)
		}
	}
	dir, err := filepath.Abs(c.String("C"))
	if err != nil {
		return nil, execFailure("-C %s: %v", c.String("C"), err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, execFailure("-C %s: not a directory", c.String("C"))
	}
	p, err := loadExecArtifact(c.String("artifact"), c.StringSlice("trust"), dir)
	if err != nil {
		return nil, err
	}
	p.Dir = dir
	return p, nil
}

// loadExecArtifact loads, checks and binds an artifact for running on
// this host (the caller sets Dir). Every refusal is an exit-125 error with one line saying why:
// an artifact that does not decode or whose payload or side files were
// modified, one for another platform, a missing signature or an unknown
// key or a bad signature when a trust key is configured (--trust, or
// *.pub in the system trust directory), a variable it needs that cannot
// be bound, and an artifact or a trust key stored where its own sandbox
// could write it.
// With no trust key at all the artifact's integrity is still checked,
// and the returned warning says its origin was not (the caller prints it
// once the launch is about to start, so that a refusal stays one line).
func loadExecArtifact(file string, trust []string, dir string) (*prepared, error) {
	refuse := func(err error) (*prepared, error) {
		return nil, execFailure("refusing to run the artifact: %v", diag.InFile(err, file))
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return refuse(err)
	}
	keys, err := artifact.LoadTrust(trust, systemTrustDir)
	if err != nil {
		return refuse(err)
	}
	a, err := artifact.Load(file)
	if err != nil {
		return refuse(err)
	}
	if host := ir.HostPlatform(); a.Scope.Platform != string(host) {
		return refuse(diag.Errorf(diag.ArtifactWrongPlatform,
			"artifact is for %s, this host runs %s; build it with polc build --target %s", a.Scope.Platform, host, host))
	}
	if len(keys) > 0 {
		if _, err := a.Verify(keys); err != nil {
			return refuse(err)
		}
	}
	// The host values, found as the compiler finds them.
	host, diags := ir.HostBindings(ir.HostInput{Dir: dir})
	if errs := diags.Errors(); len(errs) > 0 {
		return nil, execFailure("refusing to run the artifact: %s", oneLine(dir, errs[0]))
	}
	env, err := a.Bind(host.Bindings)
	if err != nil {
		return refuse(err)
	}
	if err := artifact.CheckStorage(a, abs, env); err != nil {
		return refuse(err)
	}
	// The keys that let this artifact run must not be the sandbox's to
	// replace either.
	for i := range keys {
		if keys[i].File, err = filepath.Abs(keys[i].File); err != nil {
			return refuse(err)
		}
	}
	if err := artifact.CheckTrustStorage(a, abs, keys, env); err != nil {
		return refuse(err)
	}
	warning := ""
	if len(keys) == 0 {
		warning = fmt.Sprintf("polc: warning: %s: signature not checked: no trust key configured (--trust PUBKEY, or %s/*.pub)", file, systemTrustDir)
	}
	out := &backends.Output{Platform: ir.Platform(a.Scope.Platform), Payload: a.Payload.Backend, Files: a.Files}
	if out.Platform == ir.Linux {
		// The launch runs the typed artifact, as polc exec runs the one it
		// lowers.
		if out.Artifact, err = bwrap.Decode(out.Payload); err != nil {
			if _, ok := diag.AsDiagnostic(err); !ok {
				err = diag.Errorf(diag.LinuxBadArtifact, "%v", err)
			}
			return refuse(err)
		}
	}
	// The signed policy's network: the domain rules a proxy-only network
	// enforces (Decode checked that the policy is there).
	network := a.Payload.Policy.Network
	return &prepared{Out: out, Env: env, Network: &network, Warning: warning}, nil
}
