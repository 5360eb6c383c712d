package shim

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"polc/backends/bwrap"
	"polc/internal/sockexec"
)

// Choosing the launch: the direct one (bwrap applies the masks and runs
// the command, one process of polc) when the plan has at most
// bwrap.MaxDirectMasks masks and polc knows from the plan that the
// working directory and the command are there for the sandbox, so that
// the mask stage's answers for a missing, hidden or non-executable
// command (127, 126 and its message) and an invisible working directory
// (125) stay exact; the mask stage (package maskstage) otherwise. A
// proxy-only network launches directly too where sockexec has a program
// for the architecture and the sandbox has /proc to run it from: the
// program makes the proxy's sockets and execs the command bwrap would
// have run (netbridge_linux.go).

// directLaunch decides whether a plan can be launched directly, and
// returns the working directory to give bwrap; why says otherwise.
func directLaunch(plan *bwrap.HostPlan, argv []string, dir string, environ []string) (chdir string, why string) {
	if plan.Artifact.Proxy != nil && (!sockexec.Supported(runtime.GOARCH) || !plan.Artifact.Proc) {
		return "", "the proxy-only network's sockets are made by the mask stage here"
	}
	if n := len(plan.Masks); n > bwrap.MaxDirectMasks {
		return "", fmt.Sprintf("%d masks (more than %d)", n, bwrap.MaxDirectMasks)
	}
	real := plan.Resolve(dir)
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() || !plan.Readable(real) {
		return "", "the working directory is not readable in the sandbox"
	}
	if !commandVisible(plan, argv[0], real, lookupEnv(environ, "PATH")) {
		return "", "the command is not plainly executable in the sandbox"
	}
	return real, ""
}

func lookupEnv(environ []string, key string) *string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return &v
		}
	}
	return nil
}

// commandVisible reports whether the command name resolves, as execvp
// resolves it inside the sandbox, to an executable regular file the
// sandbox sees as on the host. A candidate missing on the host is
// missing in the sandbox too (the sandbox shows host files or empty
// directories); any other doubt answers false.
func commandVisible(plan *bwrap.HostPlan, name, dir string, path *string) bool {
	_, ok := commandPath(plan, name, dir, path)
	return ok
}

// commandPath is the file commandVisible finds: the one execvp would run.
func commandPath(plan *bwrap.HostPlan, name, dir string, path *string) (string, bool) {
	var cands []string
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		cands = []string{name}
	} else {
		if path == nil || name == "" {
			return "", false // execvp's default path and Go's refusal differ
		}
		for _, d := range filepath.SplitList(*path) {
			if !filepath.IsAbs(d) {
				return "", false // "" and relative entries mean the working directory
			}
			cands = append(cands, filepath.Join(d, name))
		}
	}
	for _, c := range cands {
		var st unix.Stat_t
		if err := unix.Stat(c, &st); err != nil {
			if err == unix.ENOENT || err == unix.ENOTDIR {
				continue
			}
			return "", false
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG || !mayExec(&st) {
			return "", false
		}
		var fs unix.Statfs_t
		if err := unix.Statfs(c, &fs); err != nil || fs.Flags&unix.ST_NOEXEC != 0 {
			return "", false
		}
		return c, plan.Readable(plan.Resolve(c))
	}
	return "", false
}

// mayExec applies the owner, group or other execute bit for this
// process, without capabilities (the sandbox has none, root included).
func mayExec(st *unix.Stat_t) bool {
	switch {
	case st.Uid == uint32(os.Geteuid()):
		return st.Mode&0o100 != 0
	case inGroup(st.Gid):
		return st.Mode&0o010 != 0
	}
	return st.Mode&0o001 != 0
}

func inGroup(gid uint32) bool {
	if gid == uint32(os.Getegid()) {
		return true
	}
	groups, _ := os.Getgroups()
	for _, g := range groups {
		if uint32(g) == gid {
			return true
		}
	}
	return false
}
