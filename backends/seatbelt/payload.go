package seatbelt

import (
	"encoding/json"
	"strings"

	"polc/ir"
)

// FormatTag names the payload layout; it changes when the layout does.
// Layout 3 stores the profile as an array of lines (layouts 1 and 2 held
// it as one string, which made every review diff a single huge line).
const FormatTag = "polc.seatbelt/3"

// FormatTagProxy names the layout of a payload that carries polc's
// proxy network (Payload.Proxy). It differs from FormatTag so that a
// polc that predates the proxy refuses the payload instead of running
// the command with its proxy ports open and no proxy behind them.
const FormatTagProxy = "polc.seatbelt/4"

// Text is SBPL source. In JSON it is an array of its lines (split at
// every newline, so joining them back gives the text byte for byte):
// the artifact then diffs one SBPL line per changed line, as the .sb file
// beside it does.
type Text string

// MarshalJSON writes the text as its lines.
func (t Text) MarshalJSON() ([]byte, error) {
	if t == "" {
		return []byte("[]"), nil
	}
	return json.Marshal(strings.Split(string(t), "\n"))
}

// UnmarshalJSON reads the lines back. A plain string (the layout before
// 3) is refused: such a payload carries an older format tag anyway.
func (t *Text) UnmarshalJSON(b []byte) error {
	var lines []string
	if err := json.Unmarshal(b, &lines); err != nil {
		return err
	}
	*t = Text(strings.Join(lines, "\n"))
	return nil
}

// Unbound is the value a conditional parameter takes when its condition
// does not hold at launch. It names no vnode (/dev/null is not a
// directory), so the clause using it matches nothing.
const Unbound = "/dev/null/polc-unbound"

// Payload is the macOS artifact body (canonical JSON). Profile is the SBPL
// text exactly as sandbox-exec reads it (stored as its lines); Params say how the shim binds
// each (param "NAME") on the host, from the symbolic paths in Places and
// Globs. Nothing in it depends on the machine that built it.
type Payload struct {
	Format       string         `json:"format"`
	Profile      Text           `json:"profile"`
	Unrestricted bool           `json:"unrestricted,omitempty"`
	Network      ir.NetworkMode `json:"network"`
	// ProxyPorts are the loopback ports the profile lets the command
	// connect to in proxy mode: the listeners of Proxy when set (polc
	// runs the proxy for the launch), else a proxy the user runs.
	ProxyPorts []int `json:"proxy_ports,omitempty"`
	// Proxy is the proxy network polc's egress proxy enforces for the
	// launch (ir.NetDecider on it decides every request).
	Proxy  *ir.Proxy  `json:"proxy,omitempty"`
	Places []Place    `json:"places,omitempty"`
	Globs  []GlobBase `json:"globs,omitempty"`
	Params []Param    `json:"params,omitempty"`
}

// Place is one distinct rule path of the policy, with the access its
// rules give it.
type Place struct {
	// Path is symbolic (${WORKSPACE_ROOT}/docs) or absolute.
	Path string `json:"path"`
	// Root is the variable Path starts with, or "/" for absolute paths.
	// Paths under one root nest as their text says (the shim checks it);
	// paths under different roots nest however the host binds them.
	Root string `json:"root"`
	// Access is the effective access when the path exists.
	Access ir.Access `json:"access"`
	// IfMissing is the effective access when it does not (rules that are
	// skipped when missing drop out); 0 means no rule applies then.
	IfMissing ir.Access `json:"if_missing,omitempty"`
	// Mandatory marks a requirement deny: nothing below it is reachable.
	Mandatory bool `json:"mandatory,omitempty"`
	// Minimal marks a :minimal system root, written into the profile as a
	// literal rather than a parameter.
	Minimal bool `json:"minimal,omitempty"`
	// Parent is the index of the nearest enclosing place under the same
	// root (-1 for none); Top marks the places that head their root's
	// tree (every enclosing place is skipped-when-missing).
	Parent int  `json:"parent"`
	Top    bool `json:"top,omitempty"`
}

// GlobBase is a deny glob's symbolic base directory; the regex below it is
// in the profile.
type GlobBase struct {
	Pattern string `json:"pattern"`
	Base    string `json:"base"`
	Root    string `json:"root"`
}

// Param says how one (param "NAME") is bound at launch.
type Param struct {
	Name string `json:"name"`
	// Place indexes Places, or Globs when Glob is set (the value is then
	// the canonical base with a trailing slash, for regex-quote).
	Place int  `json:"place"`
	Glob  bool `json:"glob,omitempty"`
	// When is "" (always the canonical path), "exists" or "missing" (the
	// path when it exists / is missing at launch, else Unbound), or "in":
	// the path when the place exists and decides inside some place of
	// Root (lies strictly below it, or at it with a stronger access),
	// else Unbound.
	When string `json:"when,omitempty"`
	Root string `json:"root,omitempty"`
}
