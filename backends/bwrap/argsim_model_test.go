package bwrap

import (
	"fmt"
	"os"
	"strconv"

	"polc/ir"
)

// argSim models the mount namespace bubblewrap builds from an argument
// vector, from the arguments alone (and the host files they bind): the
// plan's Entries say what polc meant, the arguments are what runs, and a
// test that reads only the plan would miss an argument emitted in the
// wrong order, a remount forgotten, or a mask never passed on. Every
// option polc emits must be known here: an unknown one is an error, not
// a guess.
//
// It answers as the plan's evaluator does (Evaluator): a path is decided
// by the visible mount nearest above it (a later mount at or above an
// earlier one covers it, as on Linux) and, within a tmpfs, by the
// directory bwrap created there.
type argSim struct {
	args   []string // what was simulated, for failure messages
	mounts []simMount
	// made are the directories (--dir) and symlinks (--symlink) created
	// inside tmpfs mounts, by path.
	made map[string]simMade
}

type simKind uint8

const (
	simBind simKind = iota
	simTmpfs
	simDev
	simProc
	simData // an empty file from --ro-bind-data (a mask) or a mask stage's bind
)

type simMount struct {
	path  string
	kind  simKind
	ro    bool
	perms os.FileMode // of a tmpfs root or a data file
}

type simMade struct {
	perms os.FileMode
	link  bool
}

// simulateArgs reads a bwrap argument vector (options only, as polc
// passes them through --args) followed by the masks a mask stage applies
// after bwrap's mounts (nil in a direct launch).
func simulateArgs(args []string, stageMasks []Mask) (*argSim, error) {
	s := &argSim{args: args, made: map[string]simMade{}}
	perms := os.FileMode(0o755) // bwrap's default for --tmpfs and --dir
	havePerms := false
	arity := map[string]int{
		"--new-session": 0, "--die-with-parent": 0, "--as-pid-1": 0,
		"--unshare-user": 0, "--unshare-pid": 0, "--unshare-ipc": 0, "--unshare-net": 0, "--unshare-uts": 0,
		"--cap-drop": 1, "--cap-add": 1, "--seccomp": 1, "--json-status-fd": 1, "--block-fd": 1,
		"--info-fd": 1, "--chdir": 1, "--args": 1, "--perms": 1,
		"--tmpfs": 1, "--dev": 1, "--proc": 1, "--dir": 1, "--remount-ro": 1,
		"--bind": 2, "--ro-bind": 2, "--ro-bind-try": 2, "--symlink": 2, "--ro-bind-data": 2, "--file": 2,
	}
	for i := 0; i < len(args); {
		opt := args[i]
		n, ok := arity[opt]
		if !ok {
			return nil, fmt.Errorf("bwrap argument %d: %q is not an option the simulator knows", i, opt)
		}
		if i+1+n > len(args) {
			return nil, fmt.Errorf("bwrap argument %d: %s needs %d values", i, opt, n)
		}
		v := args[i+1 : i+1+n]
		i += 1 + n
		// --perms applies to the next operation that creates something.
		p := perms
		if !havePerms {
			p = 0o755
		}
		switch opt {
		case "--perms":
			m, err := strconv.ParseUint(v[0], 8, 32)
			if err != nil {
				return nil, fmt.Errorf("--perms %q: %v", v[0], err)
			}
			perms, havePerms = os.FileMode(m), true
			continue
		case "--tmpfs":
			s.mount(simMount{path: v[0], kind: simTmpfs, perms: p})
		case "--dev":
			s.mount(simMount{path: v[0], kind: simDev})
		case "--proc":
			s.mount(simMount{path: v[0], kind: simProc})
		case "--dir":
			s.made[v[0]] = simMade{perms: p}
		case "--symlink":
			s.made[v[1]] = simMade{link: true}
		case "--remount-ro":
			// bwrap remounts the mount at the path, and fails where none is.
			m := s.at(v[0])
			if m == nil || m.path != v[0] {
				return nil, fmt.Errorf("--remount-ro %s: no mount there", v[0])
			}
			m.ro = true
		case "--bind", "--ro-bind", "--ro-bind-try":
			if v[0] != v[1] {
				return nil, fmt.Errorf("%s %s %s: polc binds paths onto themselves", opt, v[0], v[1])
			}
			if opt == "--ro-bind-try" {
				if _, err := os.Lstat(v[0]); err != nil {
					break
				}
			}
			s.mount(simMount{path: v[1], kind: simBind, ro: opt != "--bind"})
		case "--ro-bind-data":
			s.mount(simMount{path: v[1], kind: simData, ro: true, perms: p})
		case "--file":
			// polc's sync point writes nothing to the sandbox (/dev/null).
			if v[1] != "/dev/null" {
				return nil, fmt.Errorf("--file %s: polc writes no file into the sandbox", v[1])
			}
		}
		havePerms = false
	}
	for _, m := range stageMasks {
		if m.Dir {
			s.mount(simMount{path: m.Path, kind: simTmpfs, ro: true, perms: 0})
		} else {
			s.mount(simMount{path: m.Path, kind: simData, ro: true, perms: 0})
		}
	}
	return s, nil
}

// mount stacks m on top of what is there.
func (s *argSim) mount(m simMount) { s.mounts = append(s.mounts, m) }

// at is the mount that decides p: among the mounts at or above p that no
// later mount covers (a mount covers every earlier one at or below its
// own path), the deepest.
func (s *argSim) at(p string) *simMount {
	var best *simMount
	for i := range s.mounts {
		m := &s.mounts[i]
		if !ir.HasPathPrefix(p, m.path) {
			continue
		}
		covered := false
		for j := i + 1; j < len(s.mounts) && !covered; j++ {
			covered = ir.HasPathPrefix(m.path, s.mounts[j].path)
		}
		if !covered && (best == nil || ir.Depth(m.path) > ir.Depth(best.path)) {
			best = m
		}
	}
	return best
}

// Access is what the simulated sandbox lets the command do at the
// resolved host path p: write, read, or nothing.
func (s *argSim) Access(p string) ir.Access {
	m := s.at(p)
	if m == nil {
		return ir.Deny // nothing mounted: no root at all
	}
	switch m.kind {
	case simDev, simProc:
		return ir.Read
	case simData:
		return ir.Deny // an empty mode-000 file: the mask
	case simBind:
		if m.ro {
			return ir.Read
		}
		return ir.Write
	}
	// A tmpfs: its root, or what bwrap made in it.
	perms := m.perms
	if p != m.path {
		made, ok := s.made[p]
		if !ok || made.link {
			return ir.Deny // nothing there (links are judged by their targets)
		}
		perms = made.perms
	}
	if perms&0o444 == 0 {
		return ir.Deny
	}
	if !m.ro && perms&0o222 != 0 {
		return ir.Write
	}
	return ir.Read
}
