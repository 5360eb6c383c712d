package main

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"polc/artifact"
	"polc/artifact/semdiff"
	"polc/compiler"
	"polc/diag"
	"polc/internal/canonjson"
	"polc/ir"
	"polc/lowering"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "build",
		Usage:     "compile a profile into per-platform artifacts (default .polc/ at the project root)",
		ArgsUsage: " ",
		Description: "Compiles the selected profile and lowers it for every target, writing\n" +
			"<profile>.<platform>.json (and side files such as the macOS .sb profile) atomically.\n" +
			"Artifacts hold symbolic paths and no timestamps: two builds are byte-identical.\n" +
			"--check writes nothing and exits 1 with a diff when the committed artifacts are stale.",
		Flags: append(compileFlags(),
			&cli.StringFlag{Name: "target", Value: ir.JoinPlatforms(ir.Platforms, ","), Usage: "comma-separated `PLATFORMS` to build (also devcontainer: .devcontainer/ files and the firewall artifact)"},
			&cli.StringFlag{Name: "o", Usage: "output `DIR` (default: .polc under -C DIR)"},
			&cli.StringFlag{Name: "sign-key", Usage: "sign the artifacts with the ed25519 private key in `FILE` (see polc keygen)"},
			&cli.BoolFlag{Name: "check", Usage: "compare with the artifacts in the output dir instead of writing; exit 1 when stale"},
			&cli.StringFlag{Name: "emit", Usage: "print an intermediate form instead of building: `ir` (the policy as canonical JSON)"},
			&cli.BoolFlag{Name: "timings", Usage: "print each compiler pass and its wall time"},
			&cli.BoolFlag{Name: "strict", Usage: "treat deny-glob matches beyond glob_scan_max_depth as errors"},
			&cli.BoolFlag{Name: "verbose", Usage: "name every path a grouped diagnostic counts, those outside the project and the home included"},
			&cli.BoolFlag{Name: "diff", Usage: "with --check, also print the text diff of each stale file (after the semantic summary)"},
			&cli.BoolFlag{Name: "unsigned", Usage: "write changed artifacts without a signature even where the committed ones are signed"},
		),
		Action: runBuild,
	})
}

func runBuild(c *cli.Context) (err error) {
	if c.NArg() > 0 {
		return usageErr("build takes no arguments (got %q); use -C DIR for the project", c.Args().First())
	}
	if e := c.String("emit"); e != "" && e != "ir" {
		return usageErr("unknown --emit %q: use ir", e)
	}
	targets, dev, err := parseTargets(c.String("target"))
	if err != nil {
		return err
	}
	var key ed25519.PrivateKey
	if f := c.String("sign-key"); f != "" {
		if key, err = artifact.LoadPrivateKey(f); err != nil {
			return failErr("%v", err)
		}
	}

	opts := compileOptions(c)
	opts.Strict = c.Bool("strict")
	opts.Verbose = c.Bool("verbose")
	res := compiler.Compile(opts)
	if c.Bool("timings") {
		writeTimings(os.Stdout, res.Timings)
	}
	printDiags(c, res.Diags)
	if res.Diags.HasErrors() || res.Policy == nil {
		return failErr("build failed: the profile has errors; nothing written")
	}
	if c.String("emit") == "ir" {
		b, err := canonjson.Marshal(res.Policy)
		if err != nil {
			return failErr("encoding the policy: %v", err)
		}
		os.Stdout.Write(b)
		return nil
	}

	var devFiles map[string][]byte
	if dev {
		if devFiles, err = devcontainerFiles(res, key); err != nil {
			return err
		}
	}
	arts, diags := artifact.Build(res.Policy, lowering.LowerAll(res.Policy, targets, lowerOptions(c)),
		artifact.BuildOptions{Version: version, SignKey: key})
	printDiags(c, res.Env.HostDiags(diags))
	if diags.HasErrors() {
		return failErr("build failed: not every target could be built; nothing written")
	}

	outDir := c.String("o")
	if outDir == "" {
		outDir = filepath.Join(c.String("C"), ".polc")
	}
	var review map[string][]byte
	if len(arts) > 0 {
		review = map[string][]byte{reviewName(arts[0].Scope.Profile): []byte(reviewText(arts[0].Payload.Policy))}
	}
	if c.Bool("check") {
		var devErr error
		if dev {
			devErr = checkDevcontainer(os.Stdout, devcontainerDir(c), devFiles, key == nil, c.Bool("diff"))
			if len(targets) == 0 {
				return devErr
			}
		}
		if err := checkBuild(os.Stdout, outDir, arts, review, key == nil, c.Bool("diff")); err != nil {
			return err
		}
		return devErr
	}
	if dev {
		if key == nil {
			if err := keepFirewallSignature(devcontainerDir(c), devFiles, c.Bool("unsigned")); err != nil {
				return err
			}
		}
		if len(targets) == 0 {
			return writeDevcontainer(devcontainerDir(c), devFiles)
		}
		defer func() {
			if err == nil {
				err = writeDevcontainer(devcontainerDir(c), devFiles)
			}
		}()
	}
	files := map[string][]byte{}
	for n, b := range review {
		files[n] = b
	}
	for _, a := range arts {
		fs, err := a.Render()
		if err != nil {
			return failErr("%v", err)
		}
		for n, b := range fs {
			files[n] = b
		}
	}
	if key == nil {
		if err := keepSignatures(outDir, arts, files, c.Bool("unsigned")); err != nil {
			return err
		}
	}
	if err := writeFiles(outDir, files); err != nil {
		return err
	}
	warnWritableStorage(outDir, arts, res.Env)
	return nil
}

// writeFiles writes the files that changed into dir and says which, or
// that all were up to date.
func writeFiles(dir string, files map[string][]byte) error {
	written, err := artifact.WriteFiles(dir, files)
	if err != nil {
		return failErr("%v", err)
	}
	for _, w := range written {
		fmt.Fprintln(os.Stdout, "wrote", w)
	}
	if len(written) == 0 {
		fmt.Fprintf(os.Stdout, "%s is up to date (%d files)\n", dir, len(files))
	}
	return nil
}

// warnWritableStorage tells the user now, rather than at the first
// polc exec --artifact, that the artifacts sit where their own sandbox
// could rewrite them (exec will refuse them there).
func warnWritableStorage(outDir string, arts []*artifact.Artifact, env ir.Env) {
	for _, a := range arts {
		if a.Scope.Platform != string(ir.HostPlatform()) {
			continue
		}
		file, err := filepath.Abs(filepath.Join(outDir, artifact.FileName(a.Scope.Profile, a.Scope.Platform)))
		if err != nil {
			continue
		}
		env.Platform = ir.Platform(a.Scope.Platform)
		if err := artifact.CheckStorage(a, file, env); err != nil {
			fmt.Fprintf(os.Stderr, "warning: %s; polc exec --artifact will refuse it there\n", err)
		}
	}
}

// parseTargets splits --target into platforms and whether the
// devcontainer target is named, refusing unknown names (never skipping
// them).
func parseTargets(s string) (platforms []ir.Platform, dev bool, err error) {
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if t == devcontainerTarget {
			dev = true
			continue
		}
		p, err := ir.ParsePlatform(t)
		if err != nil {
			return nil, false, usageErr("unknown target %q: use one or more of %s,%s", t, ir.JoinPlatforms(ir.Platforms, ","), devcontainerTarget)
		}
		platforms = append(platforms, p)
	}
	if len(platforms) == 0 && !dev {
		return nil, false, usageErr("--target names no platform")
	}
	return platforms, dev, nil
}

func writeTimings(w io.Writer, ts []compiler.Timing) {
	var total float64
	for _, t := range ts {
		ms := float64(t.Duration.Microseconds()) / 1000
		total += ms
		fmt.Fprintf(w, "%-24s %8.3f ms\n", t.Pass, ms)
	}
	fmt.Fprintf(w, "%-24s %8.3f ms\n", "total", total)
}

// missingSignatures reports committed artifacts that lack a signature
// they should carry: another artifact in the directory is signed (a
// signature went missing from this one), or this machine trusts signing
// keys (polc exec --artifact refuses unsigned artifacts then). Files
// already stale are not listed twice.
func missingSignatures(outDir string, arts []*artifact.Artifact, stale []artifact.Stale) []artifact.Stale {
	listed := map[string]bool{}
	for _, s := range stale {
		listed[s.Name] = true
	}
	signer := ""
	var unsigned []string
	for _, a := range arts {
		name := artifact.FileName(a.Scope.Profile, a.Scope.Platform)
		b, err := artifact.ReadCommitted(filepath.Join(outDir, name))
		if err != nil {
			continue
		}
		e, err := artifact.Decode(b)
		if err != nil {
			continue
		}
		if e.Signature != nil {
			signer = e.Signature.KeyID
		} else if !listed[name] {
			unsigned = append(unsigned, name)
		}
	}
	why := ""
	switch keys, _ := artifact.LoadTrust(nil, systemTrustDir); {
	case signer != "":
		why = "other artifacts here are signed by key " + signer
	case len(keys) > 0:
		why = "this machine trusts signing keys (" + systemTrustDir + "), and polc exec --artifact refuses an unsigned artifact"
	default:
		return nil
	}
	var out []artifact.Stale
	for _, name := range unsigned {
		out = append(out, artifact.Stale{Name: name, Reason: fmt.Sprintf("signature missing: %s; sign it with polc build --sign-key FILE [%s]", why, diag.SignatureDropped)})
	}
	return out
}

// keepSignatures stops a build without a key from dropping signatures
// silently. A committed artifact that is signed and that this build would
// leave unchanged but for the signature is kept as it is (signature
// included); one this build changes is refused (POL145) unless unsigned
// is set, and then the dropped signature is said.
func keepSignatures(outDir string, arts []*artifact.Artifact, files map[string][]byte, unsigned bool) error {
	var refused []string
	for _, a := range arts {
		name := artifact.FileName(a.Scope.Profile, a.Scope.Platform)
		committed, err := artifact.ReadCommitted(filepath.Join(outDir, name))
		if err != nil {
			continue
		}
		old, err := artifact.Decode(committed)
		if err != nil || old.Signature == nil {
			continue
		}
		if artifact.SameUnsigned(committed, files[name]) {
			files[name] = committed
			continue
		}
		if unsigned {
			signatureDropped(filepath.Join(outDir, name), "the signature by key "+old.Signature.KeyID+" is dropped")
			continue
		}
		refused = append(refused, fmt.Sprintf("%s (key %s)", filepath.Join(outDir, name), old.Signature.KeyID))
	}
	if len(refused) > 0 {
		return failErr("%v", diag.Errorf(diag.SignatureDropped, "build would drop the signature of %s, which this build changes; nothing written", strings.Join(refused, ", ")).
			WithFix("pass --sign-key FILE to sign the new build, or --unsigned to write it unsigned"))
	}
	return nil
}

// signatureDropped warns, through the diagnostics printer, that build
// --unsigned writes file without the signature it had (POL145, a
// warning here: the user asked for it).
func signatureDropped(file, what string) {
	d := diag.New(diag.SignatureDropped, diag.Pos{File: file}, what+": the artifact changed and no --sign-key was given", "")
	d.Severity = diag.Warning
	printDiags(nil, diag.List{*d})
}

// checkBuild prints what is stale in outDir and fails when anything is:
// for each artifact the semantic diff (what access changed, and the rule
// responsible), and with textDiff the text diff of the file (the macOS
// artifact alone can be tens of kilobytes: a reviewer reads the summary).
func checkBuild(w io.Writer, outDir string, arts []*artifact.Artifact, review map[string][]byte, ignoreSignature, textDiff bool) error {
	stale, err := artifact.Check(outDir, arts, ignoreSignature)
	if err != nil {
		return failErr("%v", err)
	}
	for name, want := range review {
		got, err := artifact.ReadCommitted(filepath.Join(outDir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			stale = append(stale, artifact.Stale{Name: name, Reason: "missing", New: want})
		case err != nil:
			stale = append(stale, artifact.Stale{Name: name, Reason: fmt.Sprintf("unreadable: %v", err), New: want})
		case !bytes.Equal(got, want):
			stale = append(stale, artifact.Stale{Name: name, Reason: "differs", Old: got, New: want})
		}
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i].Name < stale[j].Name })
	if ignoreSignature {
		stale = append(stale, missingSignatures(outDir, arts, stale)...)
		sort.Slice(stale, func(i, j int) bool { return stale[i].Name < stale[j].Name })
	}
	if len(stale) == 0 {
		fmt.Fprintf(w, "ok: %d artifacts and the review file in %s are up to date\n", len(arts), outDir)
		return nil
	}
	for _, s := range stale {
		path := filepath.Join(outDir, s.Name)
		fmt.Fprintf(w, "stale: %s (%s)\n", path, s.Reason)
		if s.Old == nil {
			continue
		}
		if strings.HasSuffix(s.Name, ".json") {
			old, err1 := artifact.Decode(s.Old)
			nw, err2 := artifact.Decode(s.New)
			if err1 == nil && err2 == nil {
				var b bytes.Buffer
				semdiff.Write(&b, semdiff.Compare(old.Payload.Policy, nw.Payload.Policy, []ir.Platform{ir.Platform(nw.Scope.Platform)}), nil)
				indent(w, b.String())
			}
		}
		// The review file is the short form: its diff is the summary.
		if _, isReview := review[s.Name]; textDiff || isReview {
			indent(w, artifact.LineDiff(path+" (committed)", path+" (fresh build)", s.Old, s.New, 80))
		}
	}
	if !textDiff {
		fmt.Fprintln(w, "(polc build --check --diff adds the text diff of each file)")
	}
	return &exitError{code: 1, msg: fmt.Sprintf("%d artifact file(s) in %s are stale; run polc build and commit the result", len(stale), outDir)}
}

func indent(w io.Writer, s string) {
	for _, line := range strings.SplitAfter(s, "\n") {
		if line != "" {
			fmt.Fprint(w, "    "+line)
		}
	}
}
