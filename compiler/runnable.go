package compiler

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// checkRunnable reports a profile under which no command can run: the
// command starts in the project directory, so the sandbox must be able to
// read it (POL143), and it needs to read a program and its loader — the
// shell stands for every command here (POL144). Each is an error: polc
// exec would fail after the sandbox was built, with a message from inside
// it that names no rule.
func (s *state) checkRunnable(dec *ir.Decider) {
	fsFix := func(key string) string { return "add " + key + " to " + s.filesystemTable() }
	// Default deny with a grant below the project still runs: the sandbox
	// holds the project directory as the parent of that grant's mount.
	if d := dec.Decide(s.dir, ir.OpRead); !d.Allowed && (d.Rule != nil || d.Glob != nil || !s.grantsBelow(s.dir)) {
		pos, fix := s.profilePos(), fsFix(`":workspace_roots" = "read" (or "write")`)
		switch {
		case d.Glob != nil:
			pos = d.Glob.Origin.Pos
			fix = "narrow the deny glob so that it matches only files below the project, not the project itself"
		case d.Rule != nil && d.Rule.Mandatory:
			pos = d.Rule.Origin.Pos
			fix = fmt.Sprintf("managed requirements deny the whole project: run in another project, or ask the admin to deny only what is secret below %s", s.dir)
		case d.Rule != nil:
			pos = d.Rule.Origin.Pos
			fix = `deny only what is secret below the project (for example ":workspace_roots" = { "**/*.env" = "deny" }), not the project itself`
		}
		s.diags.Addf(diag.ProjectUnreadable, pos, fix,
			"the sandbox cannot read the project directory %s, where every command starts: nothing can run (%s)", s.dir, d.Reason())
	}
	for i, need := range s.commandNeeds("/bin/sh") {
		// Named as on every host: where /bin/sh leads differs between them.
		what := "/bin/sh"
		if i > 0 {
			what = "the loader of /bin/sh"
		}
		if d := dec.Decide(need, ir.OpRead); !d.Allowed {
			pos := s.profilePos()
			if d.Rule != nil && d.Rule.Access == ir.Deny {
				pos = d.Rule.Origin.Pos
			} else if d.Glob != nil {
				pos = d.Glob.Origin.Pos
			}
			s.diags.Addf(diag.SystemUnreadable, pos, fsFix(`":minimal" = "read" (the system directories a command needs)`),
				"the sandbox cannot read %s, which commands need to start (the shell stands for them): nothing can run (%s)", what, d.Reason())
			return
		}
	}
}

// grantsBelow reports whether a read or write rule grants a path strictly
// below dir.
func (s *state) grantsBelow(dir string) bool {
	for _, r := range s.policy.Rules {
		if r.Access == ir.Deny {
			continue
		}
		if host, ok := s.bindings.BindOK(r.Path); ok && host != dir && ir.HasPathPrefix(host, dir) {
			return true
		}
	}
	return false
}

// filesystemTable names the selected profile's filesystem table for a fix.
func (s *state) filesystemTable() string {
	return FilesystemTable(s.prof.id)
}

// FilesystemTable names profile's filesystem table for a fix ("the
// profile's filesystem table" for a built-in, which has none to edit).
func FilesystemTable(profile string) string {
	if profile == "" || profile[0] == ':' {
		return fmt.Sprintf("the filesystem table of a profile that extends %s", profile)
	}
	return fmt.Sprintf("[permissions.%s.filesystem]", syntax.QuoteKey(profile))
}

// profilePos is where the selected profile's filesystem table (or the
// profile) is written; for a built-in, where it was selected.
func (s *state) profilePos() diag.Pos {
	if !s.prof.tablePos.IsZero() {
		return s.prof.tablePos
	}
	return s.prof.pos
}

// CommandNeeds lists the host files the sandbox must read to start the
// program at path: the program (symlinks resolved) and, for a dynamically
// linked ELF program, its loader. Nothing when path does not exist here.
func CommandNeeds(path string) []string {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil
	}
	out := []string{real}
	f, err := os.Open(real)
	if err != nil {
		return out
	}
	defer f.Close()
	if interp := elfInterp(f); filepath.IsAbs(interp) {
		out = append(out, interp)
	}
	return out
}

// elfInterp returns the loader an ELF program names (PT_INTERP), "" for
// a static program or a file that is not ELF. It reads the file header
// and the program headers only: debug/elf.NewFile would read and decode
// every section header too, on each launch, for the one entry.
func elfInterp(f io.ReaderAt) string {
	var ident [elf.EI_NIDENT]byte
	if _, err := f.ReadAt(ident[:], 0); err != nil || string(ident[:4]) != elf.ELFMAG {
		return ""
	}
	var bo binary.ByteOrder
	switch elf.Data(ident[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		bo = binary.BigEndian
	default:
		return ""
	}
	var phoff, phentsize, phnum, want int64
	is64 := elf.Class(ident[elf.EI_CLASS]) == elf.ELFCLASS64
	switch {
	case is64:
		var h elf.Header64
		if binary.Read(io.NewSectionReader(f, 0, int64(binary.Size(h))), bo, &h) != nil {
			return ""
		}
		phoff, phentsize, phnum, want = int64(h.Phoff), int64(h.Phentsize), int64(h.Phnum), int64(binary.Size(elf.Prog64{}))
	case elf.Class(ident[elf.EI_CLASS]) == elf.ELFCLASS32:
		var h elf.Header32
		if binary.Read(io.NewSectionReader(f, 0, int64(binary.Size(h))), bo, &h) != nil {
			return ""
		}
		phoff, phentsize, phnum, want = int64(h.Phoff), int64(h.Phentsize), int64(h.Phnum), int64(binary.Size(elf.Prog32{}))
	default:
		return ""
	}
	if phentsize < want || phnum > 1024 {
		return ""
	}
	for i := int64(0); i < phnum; i++ {
		r := io.NewSectionReader(f, phoff+i*phentsize, want)
		var typ elf.ProgType
		var off, size int64
		if is64 {
			var p elf.Prog64
			if binary.Read(r, bo, &p) != nil {
				return ""
			}
			typ, off, size = elf.ProgType(p.Type), int64(p.Off), int64(p.Filesz)
		} else {
			var p elf.Prog32
			if binary.Read(r, bo, &p) != nil {
				return ""
			}
			typ, off, size = elf.ProgType(p.Type), int64(p.Off), int64(p.Filesz)
		}
		if typ != elf.PT_INTERP {
			continue
		}
		if size == 0 || size > 4096 || off < 0 {
			return ""
		}
		b := make([]byte, size)
		if _, err := f.ReadAt(b, off); err != nil {
			return ""
		}
		return strings.TrimRight(string(b), "\x00") // NUL-terminated
	}
	return ""
}
