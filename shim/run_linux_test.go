package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/backends/bwrap"
)

func TestCommandEnvMatchesReference(t *testing.T) {
	art := &bwrap.Artifact{Env: map[string]string{"CODEX_SANDBOX_NETWORK_DISABLED": "1"}}
	got := commandEnv([]string{"PATH=/usr/bin", "PWD=/elsewhere", "HOME=/h"}, art, "/proj")
	want := "PATH=/usr/bin HOME=/h CODEX_SANDBOX_NETWORK_DISABLED=1 PWD=/proj"
	if strings.Join(got, " ") != want {
		t.Fatalf("env = %v, want %s", got, want)
	}
}

func TestRemoveSyntheticKeepsContent(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, ".codex")
	full := filepath.Join(dir, ".agents")
	emptyFile := filepath.Join(dir, "held")
	os.Mkdir(empty, 0o755)
	os.Mkdir(full, 0o755)
	os.WriteFile(filepath.Join(full, "x"), []byte("x"), 0o644)
	os.WriteFile(emptyFile, nil, 0o644)
	removeSynthetic([]string{empty, full, emptyFile, filepath.Join(dir, "never-made")})
	if _, err := os.Lstat(empty); err == nil {
		t.Error("empty mount point left behind")
	}
	if _, err := os.Lstat(emptyFile); err == nil {
		t.Error("empty file mount point left behind")
	}
	if _, err := os.Lstat(filepath.Join(full, "x")); err != nil {
		t.Error("a directory with content was removed")
	}
}

func TestFindBwrapSkipsPlantedBinaries(t *testing.T) {
	proj := t.TempDir()
	planted := filepath.Join(proj, "bin")
	os.Mkdir(planted, 0o755)
	os.WriteFile(filepath.Join(planted, "bwrap"), []byte("#!/bin/sh\n"), 0o755)
	t.Setenv("PATH", planted)
	got, err := FindBwrap(proj, &bwrap.HostPlan{})
	if err == nil && strings.HasPrefix(got, proj) {
		t.Fatalf("picked the project's own bwrap %s", got)
	}
	if err != nil && !strings.Contains(err.Error(), "POL070") {
		t.Fatalf("missing bwrap should be POL070: %v", err)
	}
}
