package rollout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"polc/diag"
)

// entry is one user's config in the corpus: what the compiler reads for
// it, and what went wrong finding it.
type entry struct {
	// path is the corpus path as given (a file, or a directory).
	path string
	// configFile is a lone config file, read as the user's layer.
	configFile string
	// codexHome is a directory holding the user's config.toml; dir a
	// project tree whose .codex/config.toml layers are read.
	codexHome, dir string
	// problem is why the entry cannot be evaluated (nothing else set).
	problem *diag.Diagnostic
	// data is the content of the entry's one config file (files()[0])
	// while it is checked, when it was read already (configOnce).
	data []byte
}

// files lists the config layers the entry reads, as found now.
func (e *entry) files() []string {
	var out []string
	if e.configFile != "" {
		out = append(out, e.configFile)
	}
	if e.codexHome != "" {
		out = append(out, filepath.Join(e.codexHome, "config.toml"))
	}
	if e.dir != "" {
		out = append(out, filepath.Join(e.dir, ".codex", "config.toml"))
	}
	return out
}

// Discover turns the PATH arguments into corpus entries, in order:
//
//   - a file is one user's config (read as the user layer, whatever its
//     name);
//   - a directory holding config.toml (a collected CODEX_HOME) and/or
//     .codex/config.toml (a project tree) is one entry;
//   - any other directory is a corpus: each of its *.toml files and each
//     subdirectory that is an entry as above is one entry, by name.
//
// Discovery lists at most one directory level per PATH: it never walks a
// tree. A path that does not exist, or a corpus directory holding no
// config, is an entry with a problem: reported, never fatal.
func discover(paths []string) []*entry {
	var out []*entry
	for _, p := range paths {
		out = append(out, discoverPath(p)...)
	}
	return out
}

func discoverPath(p string) []*entry {
	fi, err := os.Stat(p)
	if err != nil {
		return []*entry{bad(p, diag.RolloutBadInput, "check the path; the rest of the corpus is checked", "cannot read %s: %v", p, unwrap(err))}
	}
	if !fi.IsDir() {
		return []*entry{{path: p, configFile: p}}
	}
	if e := dirEntry(p); e != nil {
		return []*entry{e}
	}
	names, err := readDirNames(p)
	if err != nil {
		return []*entry{bad(p, diag.RolloutBadInput, "check the directory's permissions; the rest of the corpus is checked", "cannot list %s: %v", p, unwrap(err))}
	}
	var out []*entry
	for _, n := range names {
		child := filepath.Join(p, n.name)
		switch {
		case n.dir:
			if e := dirEntry(child); e != nil {
				out = append(out, e)
			}
		case strings.HasSuffix(n.name, ".toml"):
			out = append(out, &entry{path: child, configFile: child})
		}
	}
	if len(out) == 0 {
		return []*entry{bad(p, diag.RolloutNoConfig,
			"pass config files, directories holding config.toml or .codex/config.toml, or a directory of them",
			"%s holds no config: no *.toml file, and no directory with config.toml or .codex/config.toml", p)}
	}
	return out
}

// dirEntry is the entry a directory is, or nil when it holds neither a
// config.toml nor a .codex/config.toml.
func dirEntry(d string) *entry {
	e := &entry{path: d}
	if isFile(filepath.Join(d, "config.toml")) {
		// Absolute, as the compiler names the user layer's file.
		e.codexHome = d
		if abs, err := filepath.Abs(d); err == nil {
			e.codexHome = abs
		}
	}
	if isFile(filepath.Join(d, ".codex", "config.toml")) {
		e.dir = d
	}
	if e.codexHome == "" && e.dir == "" {
		return nil
	}
	return e
}

type dirName struct {
	name string
	dir  bool
}

// readDirNames lists a directory, sorted, following symlinks to tell
// files from directories.
func readDirNames(d string) ([]dirName, error) {
	ents, err := os.ReadDir(d)
	if err != nil {
		return nil, err
	}
	out := make([]dirName, 0, len(ents))
	for _, de := range ents {
		isDir := de.IsDir()
		if de.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(d, de.Name())); err == nil {
				isDir = fi.IsDir()
			}
		}
		out = append(out, dirName{name: de.Name(), dir: isDir})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func bad(p string, code diag.Code, fix, format string, args ...any) *entry {
	d := diag.Diagnostic{Code: code, Severity: code.Severity(), Pos: diag.Pos{File: p}, Message: fmt.Sprintf(format, args...), Fix: fix}
	return &entry{path: p, problem: &d}
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
