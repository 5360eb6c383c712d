package compiler

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// Layer kinds, low to high precedence (ConfigLayerSource::precedence in
// codex-rs/config/src/config_layer_source.rs), with polc's --config files
// placed above the project layers and below -c: the user named them on
// the command line.
const (
	layerSystem   = "system"
	layerUser     = "user"
	layerProject  = "project"
	layerFlag     = "--config"
	layerOverride = "-c"
)

// layer is one config.toml (or the -c overrides) after parsing.
type layer struct {
	kind string
	file string
	tab  *syntax.Tab
	data []byte // the text, for the spans of diagnostics (spanEnds)
}

// reqLayer is one requirements.toml.
type reqLayer struct {
	file string
	data []byte
	tab  *syntax.Tab
}

// defaultSystemDir is Codex's managed configuration directory.
const defaultSystemDir = "/etc/codex"

// parse finds the host values and reads every input (Codex's discovery).
func (s *state) parse() {
	s.parseConfig()
	if s.stop {
		return
	}
	s.parseRequirements()
}

// parseConfig finds the host values and reads the config layers: the
// part of parse that does not depend on the requirements (or on -P).
func (s *state) parseConfig() {
	s.hostValues()
	if s.stop {
		return
	}
	if f := filepath.Join(s.systemDir, "config.toml"); s.exists(f) {
		s.readLayer(layerSystem, f, true)
	}
	s.readLayer(layerUser, filepath.Join(s.codexHome, "config.toml"), true)
	n := len(s.layers)
	for _, f := range s.opts.ConfigFiles {
		s.readLayer(layerFlag, f, false)
	}
	s.readOverrides()

	// Trust comes from the layers the project cannot write; for exec an
	// untrusted project's layers are not even read (Codex does not load them).
	base := syntax.NewTab()
	for _, l := range s.layers {
		syntax.Merge(base, l.tab)
	}
	s.trust = s.findTrust(base)
	above := append([]*layer(nil), s.layers[n:]...)
	s.layers = s.layers[:n]
	trustFix := fmt.Sprintf(`mark the project trusted in %s: [projects.%q] trust_level = "trusted"`, filepath.Join(s.codexHome, "config.toml"), s.dir)
	for _, f := range s.projectConfigFiles() {
		if s.trust.level != "trusted" {
			if s.opts.ForExec {
				s.diags.Add(diag.UntrustedProject, diag.Pos{File: f},
					"this project config is not loaded: the project is not trusted", trustFix)
				continue
			}
			// check, build and explain describe the project's config;
			// say that exec, like Codex, will run without it.
			s.diags.Add(diag.ExecSkipsProjectLayer, diag.Pos{File: f},
				"polc exec will not load this project config: the project is not trusted (check, build and explain read it)", trustFix)
		}
		s.readLayer(layerProject, f, true)
	}
	s.layers = append(s.layers, above...)
}

// parseRequirements reads the requirement files (--requirements, else
// the system's requirements.toml), and stops the compile when any input
// could not be read or parsed.
func (s *state) parseRequirements() {
	defer s.stopOnUnreadable()
	reqFiles := s.opts.RequirementFiles
	if len(reqFiles) == 0 {
		if f := filepath.Join(s.systemDir, "requirements.toml"); s.exists(f) {
			reqFiles = []string{f}
		}
	}
	for _, f := range reqFiles {
		if s.opts.Host != nil {
			s.opts.Host.readRequirementLayer(s, f)
			continue
		}
		s.readRequirementLayer(f)
	}
}

// readRequirementLayer reads and parses one requirements file.
func (s *state) readRequirementLayer(f string) {
	data, ok := s.readFile(f, false)
	if !ok {
		return
	}
	tab, d := syntax.Parse(f, data)
	s.diags = append(s.diags, d...)
	if tab != nil {
		s.reqLayers = append(s.reqLayers, &reqLayer{file: f, data: data, tab: tab})
	}
}

// hostValues fills the directories and the root bindings, found by
// ir.HostBindings (as polc exec --artifact finds them): values are
// cleaned and absolute; the workspace root is the real path of -C, since
// that is what the sandbox will see.
func (s *state) hostValues() {
	h, diags := ir.HostBindings(ir.HostInput{Dir: s.opts.Dir, Home: s.opts.Home, CodexHome: s.opts.CodexHome, Tmpdir: s.opts.Tmpdir,
		Stat: s.stat, EvalSymlinks: s.evalSymlinks})
	s.diags = append(s.diags, diags...)
	if diags.HasErrors() {
		s.stop = true
		return
	}
	s.dir, s.home, s.codexHome, s.tmpdir, s.bindings = h.Dir, h.Home, h.CodexHome, h.Tmpdir, h.Bindings
	s.systemDir = firstNonEmpty(s.opts.SystemDir, defaultSystemDir)
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// repoRoot is the nearest ancestor of dir (or dir) holding .git, the
// project root marker Codex uses; "" when there is none.
func (s *state) repoRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := s.lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// projectConfigFiles lists the project layers, repo root first, down to
// the project directory. A .codex directory that is CODEX_HOME itself is
// the user layer, not a project layer.
func (s *state) projectConfigFiles() []string {
	root := s.repoRoot(s.dir)
	if root == "" {
		root = s.dir
	}
	var dirs []string
	for d := s.dir; ; d = filepath.Dir(d) {
		dirs = append(dirs, d)
		if d == root || filepath.Dir(d) == d {
			break
		}
	}
	var out []string
	for i := len(dirs) - 1; i >= 0; i-- {
		codexDir := filepath.Join(dirs[i], ".codex")
		if s.codexHome != "" && s.samePath(codexDir, s.codexHome) {
			continue
		}
		if f := filepath.Join(codexDir, "config.toml"); s.exists(f) {
			out = append(out, f)
		}
	}
	return out
}

func (s *state) samePath(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := s.evalSymlinks(a)
	rb, err2 := s.evalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// readFile reads an input with the size cap. A missing file is fine when
// optional (discovery), an error otherwise.
func (s *state) readFile(file string, optional bool) ([]byte, bool) {
	if d := s.preread; d != nil && d.file == file {
		s.preread = nil
		return d.data[:min(len(d.data), syntax.MaxFileSize+1)], true
	}
	f, err := os.Open(file)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return nil, false
		}
		s.diags.Addf(diag.FileUnreadable, diag.Pos{File: file}, "check the path and its permissions", "cannot read %s: %v", file, unwrapPathErr(err))
		return nil, false
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		s.diags.Addf(diag.FileUnreadable, diag.Pos{File: file}, "pass the config.toml file, not its directory", "cannot read %s: it is a directory", file)
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(f, syntax.MaxFileSize+1))
	if err != nil {
		s.diags.Addf(diag.FileUnreadable, diag.Pos{File: file}, "check the path and its permissions", "cannot read %s: %v", file, unwrapPathErr(err))
		return nil, false
	}
	return data, true
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (s *state) readLayer(kind, file string, optional bool) {
	data, ok := s.readFile(file, optional)
	if !ok {
		return
	}
	tab, d := syntax.Parse(file, data)
	s.diags = append(s.diags, d...)
	if tab != nil {
		s.layers = append(s.layers, &layer{kind: kind, file: file, tab: tab, data: data})
	}
}

// readOverrides turns -c key=value into the highest layer. The value is
// TOML when it parses as TOML, else the literal string (Codex's rule).
func (s *state) readOverrides() {
	if len(s.opts.Overrides) == 0 {
		return
	}
	tab := syntax.NewTab()
	for i, o := range s.opts.Overrides {
		pos := diag.Pos{File: "-c", Line: i + 1, Col: 1}
		key, val, ok := strings.Cut(o, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			s.diags.Addf(diag.BadOverride, pos, `write -c key=value, for example -c default_permissions='":workspace"'`,
				"override %q is not key=value", o)
			continue
		}
		parts, ok := splitDottedKey(key)
		if !ok {
			s.diags.Addf(diag.BadOverride, pos, "write the key as TOML dotted keys: permissions.dev.network.enabled",
				"override key %q is not a TOML key", key)
			continue
		}
		vpos := diag.Pos{File: "-c", Line: i + 1, Col: len(key) + 2}
		v, ok := syntax.ParseValue("-c", strings.TrimSpace(val))
		if !ok {
			v = syntax.StringValue(strings.TrimSpace(val), vpos)
		}
		v.SetPositions(vpos)
		v.KeyPos = pos
		t := tab
		for _, p := range parts[:len(parts)-1] {
			next := t.Get(p)
			if next == nil || next.Kind != syntax.Table {
				next = syntax.TableValue(syntax.NewTab(), pos)
				t.Set(p, next)
			}
			t = next.Tab
		}
		t.Set(parts[len(parts)-1], v)
	}
	s.layers = append(s.layers, &layer{kind: layerOverride, file: "-c", tab: tab})
}

// splitDottedKey splits a.b."c.d" into its parts using the TOML parser.
func splitDottedKey(key string) ([]string, bool) {
	tab, d := syntax.Parse("-c", []byte(key+" = 0"))
	if d.HasErrors() || tab == nil {
		return nil, false
	}
	var parts []string
	for t := tab; t != nil; {
		keys := t.Keys()
		if len(keys) != 1 {
			return nil, false
		}
		parts = append(parts, keys[0])
		v := t.Get(keys[0])
		if v.Kind != syntax.Table {
			break
		}
		t = v.Tab
	}
	return parts, true
}

// stopOnUnreadable ends the compile after parsing when an input could not
// be read as TOML at all: what the passes would say about a half-read
// file is noise next to the syntax error.
func (s *state) stopOnUnreadable() {
	for _, d := range s.diags {
		switch d.Code {
		case diag.SyntaxError, diag.FileTooLarge, diag.BinaryInput, diag.FileUnreadable, diag.BadOverride:
			s.stop = true
		}
	}
}
