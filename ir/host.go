package ir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"polc/diag"
)

// HostInput is where HostBindings finds the host values: explicit
// values (the compiler's options; "" means unset) and, for the rest, the
// environment. The lookups are parameters so that a caller with a cache
// (the compiler's HostCache) or a test can supply its own; nil means the
// real one.
type HostInput struct {
	// Dir is the project directory (-C); "" means ".".
	Dir string
	// Home, CodexHome and Tmpdir, when set, replace $HOME, $CODEX_HOME
	// and $TMPDIR.
	Home, CodexHome, Tmpdir string
	Getenv                  func(string) string
	Stat                    func(string) (fs.FileInfo, error)
	EvalSymlinks            func(string) (string, error)
}

// Host is the host values HostBindings found, and the bindings of the
// policy variables they give.
type Host struct {
	// Dir is the real path of the project directory: ${WORKSPACE_ROOT}.
	Dir string
	// Home, CodexHome and Tmpdir are "" when unset (Tmpdir also when
	// $TMPDIR is relative).
	Home, CodexHome, Tmpdir string
	Bindings                Bindings
}

// HostBindings finds this host's values for the policy variables, the
// one way both the compiler and polc exec --artifact do:
// ${WORKSPACE_ROOT} is the real path of the project directory, which
// must exist; ${HOME} is $HOME (else the account's home directory), and
// a relative $HOME is refused (POL265) rather than bound against the
// working directory; ${CODEX_HOME} is $CODEX_HOME made absolute, which
// must name a directory (POL141, as Codex refuses), else ~/.codex;
// ${TMPDIR} is $TMPDIR only when it is absolute. A refusal is an error
// diagnostic at $HOME, $CODEX_HOME or the directory, and the Host is
// then incomplete.
func HostBindings(in HostInput) (Host, diag.List) {
	getenv, stat, eval := in.Getenv, in.Stat, in.EvalSymlinks
	if getenv == nil {
		getenv = os.Getenv
	}
	if stat == nil {
		stat = os.Stat
	}
	if eval == nil {
		eval = filepath.EvalSymlinks
	}
	var h Host
	var diags diag.List
	dir := in.Dir
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = eval(abs)
	}
	if err == nil {
		var st fs.FileInfo
		if st, err = stat(abs); err == nil && !st.IsDir() {
			err = errors.New("not a directory")
		}
	}
	if err != nil {
		diags.Addf(diag.FileUnreadable, diag.Pos{File: dir}, "pass an existing project directory with -C",
			"project directory %s: %v", dir, unwrapPathErr(err))
		return h, diags
	}
	h.Dir = abs

	h.Home = firstSet(in.Home, getenv("HOME"))
	if h.Home == "" {
		if u, err := os.UserHomeDir(); err == nil {
			h.Home = u
		}
	}
	if h.Home != "" && !filepath.IsAbs(h.Home) {
		diags.Add(diag.HomeRelative, diag.Pos{File: "$HOME"},
			fmt.Sprintf("HOME is %q, a relative path: polc will not guess which directory ~ stands for", h.Home),
			"set HOME to your home directory's absolute path (for example export HOME=/home/you)")
		return h, diags
	}
	if h.Home != "" {
		h.Home = filepath.Clean(h.Home)
	}
	if ch := firstSet(in.CodexHome, getenv("CODEX_HOME")); ch != "" {
		if a, err := filepath.Abs(ch); err == nil {
			ch = a
		}
		h.CodexHome = filepath.Clean(ch)
		if !checkCodexHome(h.CodexHome, stat, &diags) {
			return h, diags
		}
	} else if h.Home != "" {
		h.CodexHome = filepath.Join(h.Home, ".codex")
	}
	if tmp := firstSet(in.Tmpdir, getenv("TMPDIR")); filepath.IsAbs(tmp) {
		h.Tmpdir = filepath.Clean(tmp)
	}

	h.Bindings = Bindings{VarWorkspaceRoot: h.Dir}
	if h.Home != "" {
		h.Bindings[VarHome] = h.Home
	}
	if h.Tmpdir != "" {
		h.Bindings[VarTmpdir] = h.Tmpdir
	}
	if h.CodexHome != "" {
		h.Bindings[VarCodexHome] = h.CodexHome
	}
	return h, diags
}

// checkCodexHome refuses a CODEX_HOME that names no directory, as Codex
// does (find_codex_home): falling back to ~/.codex, or to no user layer
// at all, would silently select another profile (Codex's default
// :read-only).
func checkCodexHome(p string, stat func(string) (fs.FileInfo, error), diags *diag.List) bool {
	st, err := stat(p)
	msg := ""
	switch {
	case err != nil && errors.Is(err, fs.ErrNotExist):
		msg = fmt.Sprintf("CODEX_HOME points to %q, but that path does not exist", p)
	case err != nil:
		msg = fmt.Sprintf("CODEX_HOME points to %q, which cannot be read: %v", p, unwrapPathErr(err))
	case !st.IsDir():
		msg = fmt.Sprintf("CODEX_HOME points to %q, but that path is not a directory", p)
	default:
		return true
	}
	diags.Add(diag.CodexHomeMissing, diag.Pos{File: "$CODEX_HOME"}, msg,
		fmt.Sprintf("create it (mkdir -p %s) or point CODEX_HOME at your Codex directory; unset it to use ~/.codex", p))
	return false
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
