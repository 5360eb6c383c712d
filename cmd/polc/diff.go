package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"polc/artifact"
	"polc/artifact/semdiff"
	"polc/compiler"
	"polc/internal/canonjson"
	"polc/ir"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "diff",
		Usage:     "show what a change opens or closes: per platform, which paths changed access and which rule did it",
		ArgsUsage: "OLD NEW",
		Description: "OLD and NEW are each an artifact (*.json), a config file (*.toml, compiled on its own:\n" +
			"no user, system or project layers), or a project directory (compiled with Codex's discovery).\n" +
			"The diff is semantic, not textual: per platform, each path whose effective access changed,\n" +
			"from what to what, and the rule with its file:line before and after; deny globs, network,\n" +
			"approvals and requirements. Exits 0 when nothing changed, 1 when something did, as diff(1).",
		Flags: []cli.Flag{
			profileFlag,
			requirementsFlag,
		},
		Action: runDiff,
	})
}

// diffSide is one input of polc diff, compiled or loaded.
type diffSide struct {
	name     string
	policy   *ir.Policy
	platform ir.Platform // "" when the side is a config (all platforms)
	art      *artifact.Artifact
}

func (s *diffSide) header() string {
	parts := []string{"profile " + s.policy.Profile}
	if s.art != nil {
		parts = append(parts, string(s.platform), "polc "+s.art.Scope.PolcVersion)
		if s.art.Signature != nil {
			parts = append(parts, "signed by "+s.art.Signature.KeyID)
		}
	}
	return fmt.Sprintf("%s (%s)", s.name, strings.Join(parts, ", "))
}

func runDiff(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageErr("diff needs exactly two arguments: OLD NEW")
	}
	old, err := loadDiffSide(c, c.Args().Get(0))
	if err != nil {
		return err
	}
	nw, err := loadDiffSide(c, c.Args().Get(1))
	if err != nil {
		return err
	}
	var out bytes.Buffer
	changed := writeDiff(&out, old, nw)
	os.Stdout.Write(out.Bytes())
	if changed {
		return silentExit(1)
	}
	return nil
}

// writeDiff prints the semantic diff and reports whether anything changed.
func writeDiff(w io.Writer, old, nw *diffSide) bool {
	platforms := ir.Platforms
	mismatch := old.platform != "" && nw.platform != "" && old.platform != nw.platform
	switch {
	case mismatch:
		fmt.Fprintf(w, "--- %s\n+++ %s\n", old.header(), nw.header())
		fmt.Fprintf(w, "platform: %s -> %s (artifacts for different platforms; comparing their policies on %s)\n", old.platform, nw.platform, nw.platform)
		platforms = []ir.Platform{nw.platform}
	case old.platform != "":
		platforms = []ir.Platform{old.platform}
	case nw.platform != "":
		platforms = []ir.Platform{nw.platform}
	}
	sections := semdiff.Compare(old.policy, nw.policy, platforms)
	var extra []string
	if old.policy.Profile != nw.policy.Profile {
		extra = append(extra, fmt.Sprintf("profile: %s -> %s", old.policy.Profile, nw.policy.Profile))
	}
	moved := ""
	if len(sections) == 0 && !samePolicy(old.policy, nw.policy, false) && samePolicy(old.policy, nw.policy, true) {
		moved = "; only rule origins (file:line) moved"
	}
	if old.art != nil && nw.art != nil && len(sections) == 0 && old.art.Scope.PolcVersion != nw.art.Scope.PolcVersion {
		// Same policy, another polc: the lowering itself may differ.
		if !bytes.Equal(old.art.Payload.Backend, nw.art.Payload.Backend) || !sameFiles(old.art, nw.art) {
			extra = append(extra, fmt.Sprintf("%s backend payload changed with no policy change (polc %s -> %s)", nw.platform, old.art.Scope.PolcVersion, nw.art.Scope.PolcVersion))
		}
	}
	if len(sections) == 0 && len(extra) == 0 && !mismatch {
		fmt.Fprintf(w, "no change in what the sandbox enforces (%s vs %s)%s\n", old.name, nw.name, moved)
		return false
	}
	if !mismatch {
		fmt.Fprintf(w, "--- %s\n+++ %s\n", old.header(), nw.header())
	}
	for _, e := range extra {
		fmt.Fprintln(w, e)
	}
	semdiff.Write(w, sections, platforms)
	return true
}

// samePolicy compares two policies as canonical JSON, with every origin
// blanked when ignoreOrigins is set. Both sides are sorted already (the
// compiler's canonical order), so rule order does not count.
func samePolicy(a, b *ir.Policy, ignoreOrigins bool) bool {
	enc := func(p *ir.Policy) []byte {
		c := *p
		if ignoreOrigins {
			c.Rules = append([]ir.Rule(nil), p.Rules...)
			for i := range c.Rules {
				c.Rules[i].Origin = ir.Origin{}
			}
			c.Globs = append([]ir.Glob(nil), p.Globs...)
			for i := range c.Globs {
				c.Globs[i].Origin = ir.Origin{}
			}
			if c.Minimal != nil {
				c.Minimal = &ir.Origin{}
			}
			c.Network.Origin = ir.Origin{}
		}
		b, err := canonjson.Marshal(&c)
		if err != nil {
			return nil
		}
		return b
	}
	ea, eb := enc(a), enc(b)
	return ea != nil && bytes.Equal(ea, eb)
}

func sameFiles(a, b *artifact.Artifact) bool {
	if len(a.Payload.Files) != len(b.Payload.Files) {
		return false
	}
	for k, v := range a.Payload.Files {
		if b.Payload.Files[k] != v {
			return false
		}
	}
	return true
}

// loadDiffSide reads an artifact, compiles a lone config file, or
// compiles a project directory.
func loadDiffSide(c *cli.Context, arg string) (*diffSide, error) {
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, usageErr("%s: %v", arg, statReason(err))
	}
	if !fi.IsDir() && strings.HasSuffix(arg, ".json") {
		a, err := artifact.Load(arg)
		if err != nil {
			if side := firewallDiffSide(arg); side != nil {
				return side, nil
			}
			return nil, failErr("%v", err)
		}
		return &diffSide{name: arg, policy: a.Payload.Policy, platform: ir.Platform(a.Scope.Platform), art: a}, nil
	}
	opts := compiler.Options{Profile: c.String("P"), RequirementFiles: c.StringSlice("requirements")}
	if fi.IsDir() {
		opts.Dir = arg
	} else {
		// A lone config: isolate it from this machine's layers, so the
		// diff is about the two files and nothing else.
		empty, err := os.MkdirTemp("", "polc-diff-")
		if err != nil {
			return nil, failErr("%v", err)
		}
		defer os.RemoveAll(empty)
		opts.Dir, opts.CodexHome, opts.SystemDir = empty, empty, empty
		opts.ConfigFiles = []string{arg}
	}
	opts.NoExpand = true
	res := compiler.Compile(opts)
	if res.Diags.HasErrors() || res.Policy == nil {
		printDiags(c, res.Diags.Errors())
		return nil, failErr("%s: the config has errors; cannot diff it", arg)
	}
	// A lone config's origins name it --config:NAME; the diff names it
	// as given (files below a variable stay symbolic, as in an artifact).
	return &diffSide{name: arg, policy: ir.Env{Inputs: res.Env.Inputs}.HostOrigins(res.Policy)}, nil
}

func statReason(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
