package hugetext

import (
	"os/exec"
	"testing"
)

// TestProgramMatchesSource: zprogram.go is program_amd64.asm assembled.
func TestProgramMatchesSource(t *testing.T) {
	for _, tool := range []string{"as", "objcopy", "nm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	if out, err := exec.Command("go", "run", "polc/internal/asmgen", "-check", "-pkg", "hugetext", "-fields", "size,exe,wait,count,ranges").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestProgramParameters(t *testing.T) {
	const size = 9 << 20
	for _, c := range []struct {
		exe, wait int
		size      int64
		offs      []int64
		ok        bool
	}{
		{3, 4, size, []int64{0, 2 << 20, 6 << 20}, true},
		{3, 4, size, nil, true},
		{3, 3, size, nil, false},              // one descriptor for both
		{-1, 4, size, nil, false},             // no executable
		{3, 4, 0, nil, false},                 // an empty file
		{3, 4, size, []int64{1 << 20}, false}, // not on a 2 MiB boundary
		{3, 4, size, []int64{8 << 20}, false}, // past the end
		{3, 4, 1 << 40, make([]int64, MaxRanges+1), false},
	} {
		b, err := Program("amd64", c.exe, c.wait, c.size, c.offs)
		if (err == nil) != c.ok {
			t.Errorf("Program(%d, %d, %d, %v): %v", c.exe, c.wait, c.size, c.offs, err)
		}
		if err == nil && len(b) != len(amd64Image.code) {
			t.Errorf("Program: %d bytes, not %d", len(b), len(amd64Image.code))
		}
	}
	if _, err := Program("riscv64", 3, 4, size, nil); err == nil {
		t.Error("a primer for riscv64")
	}
}
