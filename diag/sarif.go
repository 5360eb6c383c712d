package diag

import (
	"net/url"
	"path/filepath"
	"strings"
)

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

// sarifProps are a result's properties: its fix, and the platform and
// profile it concerns (also named in the message).
type sarifProps struct {
	Fix      string `json:"fix,omitempty"`
	Platform string `json:"platform,omitempty"`
	Profile  string `json:"profile,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
	// Message says what a related location is.
	Message *sarifMessage `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
	EndLine     int `json:"endLine,omitempty"`
	EndColumn   int `json:"endColumn,omitempty"`
}

func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

// srcRoot is the uriBaseId of files in the project.
const srcRoot = "%SRCROOT%"

// workspaceRootVar is how a machine-independent position names the
// project (workspaceRootVar; package ir imports diag, so the name is
// repeated here and a test holds the two equal).
const workspaceRootVar = "${WORKSPACE_ROOT}"

// hasPathPrefix reports whether clean absolute path p is prefix or below it.
func hasPathPrefix(p, prefix string) bool {
	if prefix == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == prefix || (strings.HasPrefix(p, prefix) && p[len(prefix)] == '/')
}

// sarifURI turns a diagnostic's file into a SARIF artifactLocation: a
// valid URI reference (percent-encoded: paths may hold spaces and
// non-ASCII), relative to %SRCROOT% for files in the project root (or
// written ${WORKSPACE_ROOT}/...), a file:// URI for other absolute paths.
func sarifURI(file, root string) sarifArtifactLocation {
	rel := ""
	if after, ok := strings.CutPrefix(file, workspaceRootVar+"/"); ok {
		rel = after
	} else if root != "" && filepath.IsAbs(file) && hasPathPrefix(filepath.Clean(file), root) && filepath.Clean(file) != root {
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

func sarifLoc(p Pos, end *Pos, root string) sarifLocation {
	var l sarifLocation
	l.PhysicalLocation.ArtifactLocation = sarifURI(p.File, root)
	if p.Line > 0 {
		l.PhysicalLocation.Region = &sarifRegion{StartLine: p.Line, StartColumn: p.Col}
		if end != nil && end.Line >= p.Line && end.Col > 0 {
			l.PhysicalLocation.Region.EndLine, l.PhysicalLocation.Region.EndColumn = end.Line, end.Col
		}
	}
	return l
}

// sarifLog renders diagnostics as SARIF 2.1.0; root is the project (the
// primary workspace root, "" when unknown).
func sarifLog(list List, root, version string) sarif {
	drv := sarifDriver{Name: "polc", Version: version, Rules: []sarifRule{}}
	index := map[Code]int{}
	for i, info := range Codes() {
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
		r := sarifResult{RuleID: string(d.Code), RuleIndex: idx, Level: sarifLevel(d.Severity), Message: sarifMessage{Text: d.subject()}}
		if !d.Pos.IsZero() {
			r.Locations = []sarifLocation{sarifLoc(d.Pos, d.End, root)}
		}
		for _, rel := range d.Related {
			if !rel.IsZero() {
				l := sarifLoc(rel.Pos, nil, root)
				if rel.Message != "" {
					l.Message = &sarifMessage{Text: rel.Message}
				}
				r.Related = append(r.Related, l)
			}
		}
		if d.Fix != "" {
			r.Message.Text += " Fix: " + d.Fix
		}
		if d.Fix != "" || d.Platform != "" || d.Profile != "" {
			r.Properties = &sarifProps{Fix: d.Fix, Platform: d.Platform, Profile: d.Profile}
		}
		run.Results = append(run.Results, r)
	}
	return sarif{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
}
