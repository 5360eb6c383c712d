// Package conformance reads the shared conformance cases (txtar files
// recorded from the reference, see testdata/README) and builds their
// worlds on disk, so that tests in any package can run them: ir.Decide,
// the backends' evaluators, and polc exec under a real sandbox.
package conformance

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/txtar"
)

// Case is one conformance case.
type Case struct {
	Name         string
	Comment      string
	Config       string // with $ROOT unreplaced
	Requirements string // "" when absent
	HasReq       bool
	Tree         []string
	Probes       []Probe
	// Want are the expected rows for polc: polc-want where present, else want.
	Want []string
	// Refused is set when polc must refuse to run ("run refused").
	Refused bool
	// RefusalCode is the diagnostic code polc refuses with: a comment
	// line "polc-refusal: CODE" (a comment, so that re-recording with the
	// reference keeps it); POL050 when absent.
	RefusalCode string
	// Reference are the rows the reference recorded (want).
	Reference []string
}

// Probe is one "op path" line; Path is relative to the root, "~" for home.
type Probe struct {
	Op   string
	Path string
}

// Key is the probe as written, the start of its result row.
func (p Probe) Key() string { return strings.TrimSpace(p.Op + " " + p.Path) }

// OverlayDir is where, below a case directory, polc keeps its own rows
// for shared cases that must stay byte-identical to the shared copy
// (TestInSyncWithShared): an overlay with the case's file name holds a
// comment saying why and a polc-want section, which replaces the case's
// polc-want rows (Load applies it).
const OverlayDir = "polc-want"

// Load reads every *.txtar case in dir, sorted by name, with its
// overlay from dir/OverlayDir applied.
func Load(dir string) ([]*Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*Case
	for _, f := range files {
		c, err := Parse(f)
		if err != nil {
			return nil, err
		}
		if err := c.overlay(filepath.Join(dir, OverlayDir, filepath.Base(f))); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// overlay applies polc's own rows for a shared case, if file exists.
func (c *Case) overlay(file string) error {
	if _, err := os.Stat(file); os.IsNotExist(err) {
		return nil
	}
	ar, err := txtar.ParseFile(file)
	if err != nil {
		return err
	}
	if len(ar.Files) != 1 || ar.Files[0].Name != "polc-want" || len(strings.TrimSpace(string(ar.Comment))) == 0 {
		return fmt.Errorf("%s: an overlay is a comment saying why and one polc-want section", file)
	}
	want := lines(string(ar.Files[0].Data))
	if len(want) != len(c.Probes) {
		return fmt.Errorf("%s: %d probes but %d polc-want rows", file, len(c.Probes), len(want))
	}
	c.Want, c.Refused = want, false
	c.Comment += string(ar.Comment)
	return nil
}

// Parse reads one case file.
func Parse(file string) (*Case, error) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		return nil, err
	}
	c := &Case{Name: strings.TrimSuffix(filepath.Base(file), ".txtar"), Comment: string(ar.Comment)}
	var want, polcWant []string
	for _, f := range ar.Files {
		data := string(f.Data)
		switch f.Name {
		case "config.toml":
			c.Config = data
		case "requirements.toml":
			c.Requirements, c.HasReq = data, true
		case "tree":
			c.Tree = lines(data)
		case "probes":
			for _, l := range lines(data) {
				op, p, _ := strings.Cut(l, " ")
				c.Probes = append(c.Probes, Probe{Op: op, Path: strings.TrimSpace(p)})
			}
		case "want":
			want = lines(data)
		case "polc-want":
			polcWant = lines(data)
		default:
			return nil, fmt.Errorf("%s: unknown section %q", file, f.Name)
		}
	}
	c.Reference = want
	c.Want = want
	if polcWant != nil {
		c.Want = polcWant
	}
	if len(c.Want) == 1 && c.Want[0] == "run refused" {
		c.Refused = true
		for _, l := range strings.Split(c.Comment, "\n") {
			if code, ok := strings.CutPrefix(strings.TrimSpace(l), "polc-refusal:"); ok {
				c.RefusalCode = strings.TrimSpace(code)
			}
		}
		if c.RefusalCode == "" {
			c.RefusalCode = "POL050"
		}
	} else if len(c.Want) != len(c.Probes) {
		return nil, fmt.Errorf("%s: %d probes but %d want rows", file, len(c.Probes), len(c.Want))
	}
	return c, nil
}

func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// WantFor returns the expected verdict ("allow" or "deny") of probe i.
func (c *Case) WantFor(i int) string {
	f := strings.Fields(c.Want[i])
	return f[len(f)-1]
}

// World is a case built on disk.
type World struct {
	Root, Proj, Home, Tmp, CodexHome string
	// ConfigFile and RequirementsFile are the written inputs
	// (RequirementsFile is "" when the case has none).
	ConfigFile, RequirementsFile string
}

// Build lays the case out under root (which must exist and must not lie
// under /tmp: the :workspace profile makes /tmp writable).
func (c *Case) Build(root string) (*World, error) {
	w := &World{Root: root, Proj: filepath.Join(root, "proj"), Home: filepath.Join(root, "home"),
		Tmp: filepath.Join(root, "tmp"), CodexHome: filepath.Join(root, "codexhome")}
	for _, d := range []string{w.Proj, w.Home, w.Tmp, w.CodexHome} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	for _, e := range c.Tree {
		if err := buildEntry(root, e); err != nil {
			return nil, fmt.Errorf("tree entry %q: %w", e, err)
		}
	}
	w.ConfigFile = filepath.Join(w.CodexHome, "config.toml")
	if err := os.WriteFile(w.ConfigFile, []byte(strings.ReplaceAll(c.Config, "$ROOT", root)), 0o644); err != nil {
		return nil, err
	}
	if c.HasReq {
		w.RequirementsFile = filepath.Join(root, "requirements.toml")
		if err := os.WriteFile(w.RequirementsFile, []byte(strings.ReplaceAll(c.Requirements, "$ROOT", root)), 0o644); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func buildEntry(root, e string) error {
	switch {
	case strings.Contains(e, " <<< "):
		p, content, _ := strings.Cut(e, " <<< ")
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		return os.WriteFile(full, []byte(strings.ReplaceAll(content, `\n`, "\n")+"\n"), 0o644)
	case strings.Contains(e, " -> "):
		p, target, _ := strings.Cut(e, " -> ")
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		return os.Symlink(strings.ReplaceAll(target, "$ROOT", root), full)
	case strings.HasSuffix(e, "/"):
		return os.MkdirAll(filepath.Join(root, e), 0o755)
	default:
		full := filepath.Join(root, e)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(e, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte("content of "+e+"\n"), mode); err != nil {
			return err
		}
		return os.Chmod(full, mode)
	}
}

// HostPath maps a probe path to its host path in the world.
func (w *World) HostPath(p string) string {
	switch {
	case strings.HasPrefix(p, "~"):
		return w.Home + strings.TrimPrefix(p, "~")
	case strings.HasPrefix(p, "/"):
		return p
	}
	return filepath.Join(w.Root, p)
}

// Env is the environment a tool runs the case with.
func (w *World) Env() []string {
	return []string{"CODEX_HOME=" + w.CodexHome, "HOME=" + w.Home, "TMPDIR=" + w.Tmp}
}

// Profile is the profile the harness passes with -P: the config's
// default_permissions, else :workspace.
func (c *Case) Profile() string {
	for _, l := range strings.Split(c.Config, "\n") {
		l = strings.TrimSpace(l)
		if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == "default_permissions" {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return ":workspace"
}

// Servers are the harness's loopback servers outside the sandbox
// (Serve): the TCP listener of net probes, and the HTTP server answering
// 200 that $HTTP names in http probes.
type Servers struct {
	TCP, HTTP int
}

// Script is the probe shell script the harness pipes to the sandboxed
// shell; each probe prints "@@ KEY allow|deny". It returns the shell to
// run it with.
//
// An http probe fetches its URL with curl through whatever proxy the
// sandbox's environment names: allow is any answer but 403 (an allowed
// host the proxy cannot reach answers 502), deny is 403 or no answer.
func (c *Case) Script(w *World, srv Servers) (script, shell string) {
	shell = "/bin/sh"
	var b strings.Builder
	for _, p := range c.Probes {
		q := shellQuote(w.HostPath(p.Path))
		var cmd string
		switch p.Op {
		case "http":
			u := shellQuote(strings.ReplaceAll(p.Path, "$HTTP", fmt.Sprintf("127.0.0.1:%d", srv.HTTP)))
			cmd = `c=$(curl -s -m 8 -o /dev/null -w "%{http_code}" ` + u + ` 2>/dev/null); [ "$c" != 000 ] && [ "$c" != 403 ]`
		case "read":
			cmd = "cat " + q + " >/dev/null 2>&1"
		case "list":
			cmd = "ls " + q + " >/dev/null 2>&1"
		case "write":
			cmd = "(printf x >> " + q + ") 2>/dev/null"
		case "mkdir":
			cmd = "mkdir " + q + " 2>/dev/null"
		case "rm":
			cmd = "rm -rf " + q + " 2>/dev/null && [ ! -e " + q + " ]"
		case "exec":
			cmd = q + " >/dev/null 2>&1"
		case "net":
			cmd = fmt.Sprintf("(exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null", srv.TCP)
			shell = "/bin/bash"
		}
		// The key stays as written ($HTTP is not the shell's).
		k := shellQuote("@@ " + p.Key())
		fmt.Fprintf(&b, "if %s; then echo %s' allow'; else echo %s' deny'; fi\n", cmd, k, k)
	}
	return "#!" + shell + "\n" + b.String(), shell
}

// ParseOutput reads the "@@ KEY verdict" lines of a probe run into rows in
// probe order; a probe without output gets "error".
func (c *Case) ParseOutput(out string) []string {
	got := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "@@ "); ok {
			if i := strings.LastIndex(rest, " "); i > 0 {
				got[rest[:i]] = rest[i+1:]
			}
		}
	}
	rows := make([]string, len(c.Probes))
	for i, p := range c.Probes {
		v, ok := got[p.Key()]
		if !ok {
			v = "error"
		}
		rows[i] = p.Key() + " " + v
	}
	return rows
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
