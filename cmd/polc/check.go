package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"polc/backends"
	"polc/compiler"
	"polc/diag"
	"polc/ir"
	"polc/lowering"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "check",
		Usage:     "check a profile and its requirements; print diagnostics like go vet",
		ArgsUsage: "[FILE|DIR]...",
		Description: "Compiles the selected profile (config discovery as Codex does it) and reports every\n" +
			"error and warning with file:line:col, a stable code and a fix. Exits 1 when there is an error.",
		Flags: append(compileFlags(), landlockFlag,
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text, json or sarif"},
			&cli.BoolFlag{Name: "strict", Usage: "treat deny-glob matches beyond glob_scan_max_depth as errors"},
			&cli.BoolFlag{Name: "verbose", Usage: "name every path a grouped diagnostic counts, those outside the project and the home included"},
			&cli.BoolFlag{Name: "all", Usage: "check every profile (the built-ins and each [permissions] profile), not only the selected one"},
			&cli.StringFlag{Name: "target", Usage: "comma-separated `PLATFORMS` whose backends also check the policy (default: every platform; none to skip)"},
		),
		Action: runCheck,
	})
}

func runCheck(c *cli.Context) error {
	format := c.String("format")
	if format != "text" && format != "json" && format != "sarif" {
		return usageErr("unknown --format %q: use text, json or sarif", format)
	}
	opts := compileOptions(c)
	if err := checkArgs(c, &opts); err != nil {
		return err
	}
	opts.Strict = c.Bool("strict")
	opts.Verbose = c.Bool("verbose")
	if c.Bool("all") {
		return checkAll(c, opts, format)
	}
	res := compiler.Compile(opts)
	if err := lowerCheck(c.String("target"), res, lowerOptions(c)); err != nil {
		return err
	}
	if err := writeDiags(os.Stdout, res, format); err != nil {
		return failErr("%v", err)
	}
	if res.Diags.HasErrors() {
		return silentExit(1)
	}
	return nil
}

// checkArgs reads polc check's optional FILE and DIR arguments, as users
// of other policy checkers type them: a requirements.toml is checked as
// --requirements, any other file as a --config layer, and a directory is
// the project (-C).
func checkArgs(c *cli.Context, opts *compiler.Options) error {
	dirSet := c.IsSet("C")
	for _, arg := range c.Args().Slice() {
		fi, err := os.Stat(arg)
		switch {
		case err != nil:
			return usageErr("check %s: %v; pass a config.toml, a requirements.toml or a project directory", arg, unwrapStatErr(err))
		case fi.IsDir():
			if dirSet {
				return usageErr("check: give the project once (-C DIR or one DIR argument)")
			}
			opts.Dir, dirSet = arg, true
		case filepath.Base(arg) == "requirements.toml":
			opts.RequirementFiles = append(opts.RequirementFiles, arg)
		default:
			opts.ConfigFiles = append(opts.ConfigFiles, arg)
		}
	}
	return nil
}

func unwrapStatErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkAll checks each profile in turn, as an admin does before a
// rollout: which profiles the requirements refuse or narrow, and what each
// platform cannot enforce. Text output has a header per profile; JSON and
// SARIF hold every profile's diagnostics, each message prefixed with it.
func checkAll(c *cli.Context, opts compiler.Options, format string) error {
	if opts.Profile != "" {
		return usageErr("--all checks every profile; do not combine it with -P")
	}
	failed := false
	all := &compiler.Result{}
	for _, name := range compiler.ProfileNames(opts) {
		o := opts
		o.Profile = name
		res := compiler.Compile(o)
		if err := lowerCheck(c.String("target"), res, lowerOptions(c)); err != nil {
			return err
		}
		// --all selects each profile itself: the selection is not a -P
		// the user typed, and the header (or the message prefix) names it.
		for i := range res.Diags {
			if res.Diags[i].Pos.File == "-P" {
				res.Diags[i].Pos = diag.Pos{}
			}
		}
		failed = failed || res.Diags.HasErrors()
		if format == "text" {
			fmt.Printf("== %s\n", name)
			if err := writeDiags(os.Stdout, res, format); err != nil {
				return failErr("%v", err)
			}
			continue
		}
		for _, d := range res.Diags {
			d.Message = "profile " + name + ": " + d.Message
			all.Diags = append(all.Diags, d)
		}
	}
	if format != "text" {
		if err := writeDiags(os.Stdout, all, format); err != nil {
			return failErr("%v", err)
		}
	}
	if failed {
		return silentExit(1)
	}
	return nil
}

// lowerCheck lowers the policy with each target's backend and adds what
// the backends report (rules a platform cannot enforce, or enforces
// differently) to the diagnostics, marked with the platform.
func lowerCheck(targets string, res *compiler.Result, opts backends.Options) error {
	platforms := ir.Platforms
	switch targets {
	case "":
	case "none":
		platforms = nil
	default:
		ps, err := parsePlatforms(targets)
		if err != nil {
			return err
		}
		platforms = ps
	}
	if res.Policy == nil {
		platforms = nil
	}
	for _, r := range lowering.LowerAll(res.Policy, platforms, opts) {
		// Another platform's notes (how Windows would run this profile)
		// are noise on a check nobody asked about it; they are shown when
		// its target is named, or when that platform fails.
		quiet := targets == "" && r.Platform != ir.HostPlatform() && r.Refusal() == nil
		for _, d := range r.Diags {
			if quiet && d.Severity == diag.Info {
				continue
			}
			if !strings.HasPrefix(d.Message, string(r.Platform)+": ") {
				d.Message = string(r.Platform) + ": " + d.Message
			}
			res.Diags = append(res.Diags, d)
		}
	}
	res.Diags.Sort()
	return nil
}

// writeDiags prints a compile's diagnostics in the chosen format.
func writeDiags(w io.Writer, res *compiler.Result, format string) error {
	switch format {
	case "json":
		list := res.Diags
		if list == nil {
			list = diag.List{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	case "sarif":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sarifLog(res.Diags, res.Env.Bindings[ir.VarWorkspaceRoot]))
	}
	for _, d := range res.Diags {
		fmt.Fprintln(w, relative(d).String())
	}
	fmt.Fprintln(w, summary(res))
	return nil
}

// relative shows a diagnostic's files relative to the working directory
// when they lie below it, as go vet and compilers do: the project's own
// files read as .codex/config.toml:3:1, others keep their absolute path.
// JSON and SARIF keep absolute paths (SARIF has its own base).
func relative(d diag.Diagnostic) diag.Diagnostic {
	wd, err := os.Getwd()
	if err != nil {
		return d
	}
	rel := func(p diag.Pos) diag.Pos {
		if filepath.IsAbs(p.File) && ir.HasPathPrefix(p.File, wd) && p.File != wd {
			if r, err := filepath.Rel(wd, p.File); err == nil {
				p.File = r
			}
		}
		return p
	}
	d.Pos = rel(d.Pos)
	if len(d.Related) > 0 {
		related := make([]diag.Pos, len(d.Related))
		for i, p := range d.Related {
			related[i] = rel(p)
		}
		d.Related = related
	}
	return d
}

// summary is the last line of text output: what was checked and the counts.
func summary(res *compiler.Result) string {
	var errs, warns, infos int
	for _, d := range res.Diags {
		switch d.Severity {
		case diag.Error:
			errs++
		case diag.Warning:
			warns++
		default:
			infos++
		}
	}
	what := "no policy"
	if res.Policy != nil {
		what = "profile " + res.Policy.Profile
		if len(res.Policy.Extends) > 0 {
			what += " (extends " + strings.Join(res.Policy.Extends, " -> ") + ")"
		}
		what += ": " + plural(len(res.Policy.Rules), "rule") + ", " + plural(len(res.Policy.Globs), "deny glob")
	}
	return fmt.Sprintf("%s; %s, %s, %s", what, plural(errs, "error"), plural(warns, "warning"), plural(infos, "note"))
}

// plural is "1 error", "2 errors".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// SARIF 2.1.0, the subset code-scanning tools read.
type sarif struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
	// OriginalURIBaseIDs says where %SRCROOT% (the project) is, so that
	// code scanning shows project files by their repository path.
	OriginalURIBaseIDs map[string]sarifArtifactLocation `json:"originalUriBaseIds,omitempty"`
}

type sarifArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	Name                 string       `json:"name"`
	ShortDescription     sarifMessage `json:"shortDescription"`
	DefaultConfiguration struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
	Related   []sarifLocation `json:"relatedLocations,omitempty"`
	// The one-line fix travels in the result's properties (and in the
	// message): a SARIF fix object must carry artifactChanges, which a
	// prose fix does not have.
	Properties *sarifProps `json:"properties,omitempty"`
}

type sarifProps struct {
	Fix string `json:"fix"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

func sarifLevel(s diag.Severity) string {
	switch s {
	case diag.Error:
		return "error"
	case diag.Warning:
		return "warning"
	}
	return "note"
}

// srcRoot is the uriBaseId of files in the project.
const srcRoot = "%SRCROOT%"

// sarifURI turns a diagnostic's file into a SARIF artifactLocation: a
// valid URI reference (percent-encoded: paths may hold spaces and
// non-ASCII), relative to %SRCROOT% for files in the project root (or
// written ${WORKSPACE_ROOT}/...), a file:// URI for other absolute paths.
func sarifURI(file, root string) sarifArtifactLocation {
	rel := ""
	if after, ok := strings.CutPrefix(file, ir.VarWorkspaceRoot+"/"); ok {
		rel = after
	} else if root != "" && filepath.IsAbs(file) && ir.HasPathPrefix(filepath.Clean(file), root) && filepath.Clean(file) != root {
		rel = strings.TrimPrefix(filepath.Clean(file)[len(root):], "/")
		if root == "/" {
			rel = strings.TrimPrefix(filepath.Clean(file), "/")
		}
	}
	if rel != "" {
		return sarifArtifactLocation{URI: (&url.URL{Path: filepath.ToSlash(rel)}).String(), URIBaseID: srcRoot}
	}
	if filepath.IsAbs(file) {
		return sarifArtifactLocation{URI: (&url.URL{Scheme: "file", Path: filepath.ToSlash(file)}).String()}
	}
	return sarifArtifactLocation{URI: (&url.URL{Path: filepath.ToSlash(file)}).String()}
}

func sarifLoc(p diag.Pos, root string) sarifLocation {
	var l sarifLocation
	l.PhysicalLocation.ArtifactLocation = sarifURI(p.File, root)
	if p.Line > 0 {
		l.PhysicalLocation.Region = &sarifRegion{StartLine: p.Line, StartColumn: p.Col}
	}
	return l
}

// sarifLog renders diagnostics as SARIF 2.1.0; root is the project (the
// primary workspace root, "" when unknown).
func sarifLog(list diag.List, root string) sarif {
	drv := sarifDriver{Name: "polc", Version: version, Rules: []sarifRule{}}
	index := map[diag.Code]int{}
	for i, info := range diag.Codes() {
		r := sarifRule{ID: string(info.Code), Name: info.Title, ShortDescription: sarifMessage{Text: info.Title}}
		r.DefaultConfiguration.Level = sarifLevel(info.Severity)
		drv.Rules = append(drv.Rules, r)
		index[info.Code] = i
	}
	run := sarifRun{Tool: sarifTool{Driver: drv}, Results: []sarifResult{}}
	if root != "" && filepath.IsAbs(root) {
		dir := filepath.ToSlash(root)
		if !strings.HasSuffix(dir, "/") {
			dir += "/" // a base URI must end with a slash
		}
		run.OriginalURIBaseIDs = map[string]sarifArtifactLocation{srcRoot: {URI: (&url.URL{Scheme: "file", Path: dir}).String()}}
	}
	for _, d := range list {
		idx, ok := index[d.Code]
		if !ok {
			// A code missing from the table (never expected): name a
			// rule for it rather than point at another one.
			idx = len(drv.Rules)
			r := sarifRule{ID: string(d.Code), Name: string(d.Code), ShortDescription: sarifMessage{Text: string(d.Code)}}
			r.DefaultConfiguration.Level = sarifLevel(d.Severity)
			drv.Rules = append(drv.Rules, r)
			index[d.Code] = idx
			run.Tool.Driver = drv
		}
		r := sarifResult{RuleID: string(d.Code), RuleIndex: idx, Level: sarifLevel(d.Severity), Message: sarifMessage{Text: d.Message}}
		if !d.Pos.IsZero() {
			r.Locations = []sarifLocation{sarifLoc(d.Pos, root)}
		}
		for _, rel := range d.Related {
			if !rel.IsZero() {
				r.Related = append(r.Related, sarifLoc(rel, root))
			}
		}
		if d.Fix != "" {
			r.Message.Text += " Fix: " + d.Fix
			r.Properties = &sarifProps{Fix: d.Fix}
		}
		run.Results = append(run.Results, r)
	}
	return sarif{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
}
