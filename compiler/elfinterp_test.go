package compiler

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// TestELFInterp: elfInterp finds the loader debug/elf finds, on the
// programs of this host (dynamic and static) and on files that are not
// ELF or are cut short.
func TestELFInterp(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755)
	files := []string{self, script, "/dev/null", "/bin/sh", "/bin/true", "/usr/bin/env", "/usr/bin/bwrap"}
	if b, err := os.ReadFile("/bin/true"); err == nil && len(b) > 200 {
		for _, n := range []int{10, 64, 100, 200} {
			cut := filepath.Join(dir, "cut"+string(rune('a'+n%26)))
			os.WriteFile(cut, b[:n], 0o755)
			files = append(files, cut)
		}
	}
	// A 32-bit big-endian program, as no host here has one.
	var be bytes.Buffer
	h := elf.Header32{Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_PPC), Version: 1,
		Phoff: 52, Ehsize: 52, Phentsize: 32, Phnum: 2, Shentsize: 40}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS32), byte(elf.ELFDATA2MSB), 1
	binary.Write(&be, binary.BigEndian, h)
	binary.Write(&be, binary.BigEndian, elf.Prog32{Type: uint32(elf.PT_LOAD)})
	binary.Write(&be, binary.BigEndian, elf.Prog32{Type: uint32(elf.PT_INTERP), Off: 116, Filesz: 14})
	be.WriteString("/lib/ld.so.1\x00\x00")
	be32 := filepath.Join(dir, "be32")
	os.WriteFile(be32, be.Bytes(), 0o755)
	files = append(files, be32)
	dynamic := 0
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		want := ""
		if ef, err := elf.NewFile(f); err == nil {
			for _, pr := range ef.Progs {
				if pr.Type == elf.PT_INTERP {
					b := make([]byte, pr.Filesz)
					if _, err := pr.ReadAt(b, 0); err == nil {
						want = string(bytes.TrimRight(b, "\x00"))
					}
					break
				}
			}
		}
		if got := elfInterp(f); got != want {
			t.Errorf("%s: elfInterp %q, debug/elf %q", p, got, want)
		}
		if want != "" {
			dynamic++
		} else if p == be32 {
			t.Error("debug/elf finds no loader in the 32-bit big-endian program: the test file is wrong")
		}
		f.Close()
	}
	if dynamic == 0 {
		t.Error("no dynamically linked program among the test files: nothing was compared")
	}
}
