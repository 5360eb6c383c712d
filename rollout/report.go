package rollout

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"polc/diag"
	"polc/ir"
)

// WriteText prints the report for a person: one block per config (a
// line for each profile, the changes and refusals below it), then the
// summary table. rel shortens file paths for display (identity when
// nil).
func WriteText(w io.Writer, rep *Report, rel func(string) string) {
	if rel == nil {
		rel = func(s string) string { return s }
	}
	relPos := func(p diag.Pos) string { p.File = rel(p.File); return p.String() }
	base := "no requirements"
	if len(rep.Baseline) > 0 {
		base = relList(rep.Baseline, rel)
	}
	fmt.Fprintf(w, "rollout of %s (baseline: %s) on %s", relList(rep.Requirements, rel), base, ir.JoinPlatforms(rep.Platforms, ", "))
	if rep.Host != "" {
		fmt.Fprintf(w, ", host %s", rep.Host)
	}
	fmt.Fprintln(w)
	for _, c := range rep.Configs {
		fmt.Fprintf(w, "\n%s: %s\n", rel(c.Path), c.Status)
		for _, d := range c.Errors {
			writeDiag(w, "  ", d, rel)
		}
		for _, p := range c.Profiles {
			writeProfile(w, p, rep.Platforms, rel, relPos)
		}
	}
	fmt.Fprintln(w)
	writeSummary(w, rep)
}

func relList(files []string, rel func(string) string) string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = rel(f)
	}
	return strings.Join(out, ", ")
}

func profileLabel(p Profile) string {
	switch {
	case p.Default && p.Name == "":
		return "(default profile)"
	case p.Default:
		return p.Name + " (default)"
	}
	return p.Name
}

func writeProfile(w io.Writer, p Profile, platforms []ir.Platform, rel func(string) string, relPos func(diag.Pos) string) {
	label := profileLabel(p)
	switch {
	case p.Status == Error:
		fmt.Fprintf(w, "  %s: error: the config cannot be evaluated\n", label)
		for _, d := range p.Errors {
			writeDiag(w, "    ", d, rel)
		}
		return
	case len(p.Refusals) > 0:
		suffix := ""
		if p.BaselineRefused {
			suffix = " (already refused by the baseline)"
		}
		fmt.Fprintf(w, "  %s: refused on every platform%s\n", label, suffix)
		writeRefusals(w, "    ", p.Refusals, rel, relPos)
		return
	}
	groups := groupPlatforms(p.Platforms)
	if len(groups) == 1 {
		g := groups[0]
		where := "on every platform"
		if len(platforms) == 1 {
			where = "on " + string(platforms[0])
		}
		fmt.Fprintf(w, "  %s: %s %s%s\n", label, g.res.Status, where, baselineNote(p, g.res))
		writePlatform(w, "    ", g.res, rel, relPos)
	} else {
		fmt.Fprintf(w, "  %s: %s\n", label, p.Status)
		for _, g := range groups {
			fmt.Fprintf(w, "    %s: %s%s\n", ir.JoinPlatforms(g.platforms, ", "), g.res.Status, baselineNote(p, g.res))
			writePlatform(w, "      ", g.res, rel, relPos)
		}
	}
	if len(p.Notes) > 0 {
		for _, d := range p.Notes {
			writeDiag(w, "    note: ", d, rel)
		}
	}
}

func baselineNote(p Profile, res Platform) string {
	switch {
	case p.BaselineRefused && res.Status == Widened:
		return " (the baseline refused it; it starts now)"
	case res.BaselineRefused:
		return " (already refused by the baseline)"
	}
	return ""
}

func writePlatform(w io.Writer, indent string, res Platform, rel func(string) string, relPos func(diag.Pos) string) {
	writeRefusals(w, indent, res.Refusals, rel, relPos)
	for _, c := range res.Changes {
		eff := ""
		if c.Effect != "" {
			eff = " (" + c.Effect + ")"
		}
		fmt.Fprintf(w, "%s%s: %s -> %s%s\n", indent, c.Subject, c.From, c.To, eff)
		if c.Was != "" {
			fmt.Fprintf(w, "%s    was: %s\n", indent, relText(c.Was, rel))
		}
		if c.Now != "" {
			fmt.Fprintf(w, "%s    now: %s\n", indent, relText(c.Now, rel))
		}
	}
}

func writeRefusals(w io.Writer, indent string, rs []Refusal, rel func(string) string, relPos func(diag.Pos) string) {
	for _, f := range rs {
		fmt.Fprintf(w, "%s%s [%s]\n", indent, relText(f.Message, rel), f.Code)
		if !f.Config.IsZero() {
			fmt.Fprintf(w, "%s    config:      %s\n", indent, relPos(f.Config))
		}
		if !f.Requirement.IsZero() {
			fmt.Fprintf(w, "%s    requirement: %s\n", indent, relPos(f.Requirement))
		}
		if f.Fix != "" {
			fmt.Fprintf(w, "%s    fix: %s\n", indent, relText(f.Fix, rel))
		}
	}
}

func writeDiag(w io.Writer, indent string, d diag.Diagnostic, rel func(string) string) {
	d.Pos.File = rel(d.Pos.File)
	d.Message = relText(d.Message, rel)
	d.Related = append([]diag.Related(nil), d.Related...) // the report's own stay as they are
	for i := range d.Related {
		d.Related[i].File = rel(d.Related[i].File)
	}
	d.Fix = relText(d.Fix, rel)
	s := strings.ReplaceAll(d.String(), "\n\t", "\n"+strings.Repeat(" ", len(indent))+"  ")
	fmt.Fprintf(w, "%s%s\n", indent, s)
}

// relText shortens the paths inside a message: each word (after a space,
// a quote or a parenthesis) that rel would shorten.
func relText(s string, rel func(string) string) string {
	var b strings.Builder
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && !strings.ContainsRune(" \"'(", rune(s[i])) {
			continue
		}
		b.WriteString(rel(s[start:i]))
		if i < len(s) {
			b.WriteByte(s[i])
		}
		start = i + 1
	}
	return b.String()
}

type platformGroup struct {
	platforms []ir.Platform
	res       Platform
}

// groupPlatforms merges platforms whose results read the same.
func groupPlatforms(ps []Platform) []platformGroup {
	var out []platformGroup
	idx := map[string]int{}
	for _, p := range ps {
		k := platformKey(p)
		if i, ok := idx[k]; ok {
			out[i].platforms = append(out[i].platforms, p.Platform)
			continue
		}
		idx[k] = len(out)
		out = append(out, platformGroup{platforms: []ir.Platform{p.Platform}, res: p})
	}
	return out
}

func platformKey(p Platform) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %v", p.Status, p.BaselineRefused)
	for _, r := range p.Refusals {
		fmt.Fprintf(&b, "\x00r%s%s%s%s", r.Code, r.Message, r.Config, r.Requirement)
	}
	for _, c := range p.Changes {
		fmt.Fprintf(&b, "\x00c%s\x01%s\x01%s\x01%s\x01%s\x01%s", c.Subject, c.From, c.To, c.Was, c.Now, c.Effect)
	}
	return b.String()
}

// writeSummary prints the table: per status, how many configs, profiles
// and, per platform, profiles.
func writeSummary(w io.Writer, rep *Report) {
	head := []string{"status", "configs", "profiles"}
	for _, pl := range rep.Platforms {
		head = append(head, string(pl))
	}
	rows := [][]string{head}
	total := make([]int, len(head)-1)
	for _, s := range Statuses {
		row := []string{string(s), fmt.Sprint(rep.Summary.Configs[s]), fmt.Sprint(rep.Summary.Profiles[s])}
		total[0] += rep.Summary.Configs[s]
		total[1] += rep.Summary.Profiles[s]
		for i, pl := range rep.Platforms {
			n := rep.Summary.PerPlatform[pl][s]
			row = append(row, fmt.Sprint(n))
			total[2+i] += n
		}
		rows = append(rows, row)
	}
	tr := []string{"total"}
	for _, n := range total {
		tr = append(tr, fmt.Sprint(n))
	}
	rows = append(rows, tr)
	widths := make([]int, len(head))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i == 0 {
				fmt.Fprintf(&b, "%-*s", widths[i], c)
			} else {
				fmt.Fprintf(&b, "  %*s", widths[i], c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

// Diagnostics turns the report into findings for SARIF (and anything
// else that reads diag.List): one per config, profile and platform set
// that the change affects, and one per entry that could not be
// evaluated. Refusals are located at the config, with the requirement
// as the related location.
func (rep *Report) Diagnostics() diag.List {
	var out diag.List
	for _, c := range rep.Configs {
		for _, d := range c.Errors {
			out = append(out, badInput(c.Path, "", d))
		}
		for _, p := range c.Profiles {
			label := profileLabel(p)
			if p.Status == Error {
				for _, d := range p.Errors {
					out = append(out, badInput(c.Path, label, d))
				}
				continue
			}
			if len(p.Refusals) > 0 {
				for _, f := range p.Refusals {
					out = append(out, refusalDiag(c.Path, label, "every platform", f))
				}
				continue
			}
			for _, g := range groupPlatforms(p.Platforms) {
				where := ir.JoinPlatforms(g.platforms, ", ")
				for _, f := range g.res.Refusals {
					out = append(out, refusalDiag(c.Path, label, where, f))
				}
				if len(g.res.Refusals) > 0 {
					continue
				}
				code := map[Status]diag.Code{Narrowed: diag.RolloutNarrowed, Widened: diag.RolloutWidened, Changed: diag.RolloutChanged}[g.res.Status]
				if code == "" {
					continue
				}
				var parts []string
				for _, ch := range g.res.Changes {
					parts = append(parts, fmt.Sprintf("%s: %s -> %s", ch.Subject, ch.From, ch.To))
				}
				if len(parts) == 0 && p.BaselineRefused {
					parts = append(parts, "the baseline refused it; it starts now")
				}
				d := diag.Diagnostic{Code: code, Severity: code.Severity(), Pos: firstFile(c),
					Message: fmt.Sprintf("%s, profile %s, %s: %s: %s", c.Path, label, where, g.res.Status, strings.Join(parts, "; "))}
				for _, n := range p.Notes {
					d.Related = append(d.Related, diag.Rel(n.Pos, n.Message))
					d.Related = append(d.Related, n.Related...)
				}
				out = append(out, d)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pos.File < out[j].Pos.File })
	return out
}

func firstFile(c Config) diag.Pos {
	if len(c.Files) > 0 {
		return diag.Pos{File: existing(c.Files)}
	}
	return diag.Pos{File: c.Path}
}

func refusalDiag(path, label, where string, f Refusal) diag.Diagnostic {
	d := diag.Diagnostic{Code: diag.RolloutRefused, Severity: diag.Error, Pos: f.Config,
		Message: fmt.Sprintf("%s, profile %s, %s: refused: %s [%s]", path, label, where, f.Message, f.Code), Fix: f.Fix}
	if d.Pos.IsZero() {
		d.Pos = diag.Pos{File: path}
	}
	if !f.Requirement.IsZero() {
		d.Related = []diag.Related{diag.Rel(f.Requirement, "the requirement")}
	}
	return d
}

func badInput(path, label string, d diag.Diagnostic) diag.Diagnostic {
	who := path
	if label != "" {
		who += ", profile " + label
	}
	msg := d.Message
	if d.Code != diag.RolloutBadInput && d.Code != diag.RolloutNoConfig {
		msg = fmt.Sprintf("%s [%s]", msg, d.Code)
	}
	code := diag.RolloutBadInput
	if d.Code == diag.RolloutNoConfig {
		code = diag.RolloutNoConfig
	}
	return diag.Diagnostic{Code: code, Severity: code.Severity(), Pos: d.Pos, Related: d.Related,
		Message: fmt.Sprintf("%s: cannot be evaluated: %s", who, msg), Fix: d.Fix}
}
