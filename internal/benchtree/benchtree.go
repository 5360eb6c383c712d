// Package benchtree builds the synthetic project tree polc's benchmarks
// walk: 200,000 files in 10,000 leaf directories four levels down
// (pkgNN/modNN/dirNN/fileNN.go), a .env file in every tenth leaf (1,200,
// each at depth 4), a server.pem in every 25th and a .hidden file here
// and there. It is built once and reused across runs and packages.
package benchtree

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Files is how many files the tree holds.
const Files = 200_000

// Dir returns the tree, building it on first use under $POLC_BENCH_TREE
// or /var/tmp (a marker file says it is complete).
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("POLC_BENCH_TREE")
	if dir == "" {
		tmp := "/var/tmp"
		if _, err := os.Stat(tmp); err != nil {
			tmp = os.TempDir()
		}
		dir = filepath.Join(tmp, "polc-globwalk-bench-200k")
	}
	marker := filepath.Join(dir, ".complete-v1")
	if _, err := os.Stat(marker); err == nil {
		return dir
	}
	tb.Logf("building the %d-file benchmark tree in %s (once)", Files, dir)
	os.RemoveAll(dir)
	for i := 0; i < 20; i++ {
		for j := 0; j < 20; j++ {
			for k := 0; k < 25; k++ {
				leaf := filepath.Join(dir, fmt.Sprintf("pkg%02d", i), fmt.Sprintf("mod%02d", j), fmt.Sprintf("dir%02d", k))
				if err := os.MkdirAll(leaf, 0o755); err != nil {
					tb.Fatal(err)
				}
				for f := 0; f < 20; f++ {
					name := fmt.Sprintf("file%02d.go", f)
					switch {
					case f == 0 && k%10 == 0:
						name = ".env"
					case f == 1 && k%25 == 3:
						name = "server.pem"
					case f == 2 && j%5 == 0:
						name = ".hidden"
					}
					if err := os.WriteFile(filepath.Join(leaf, name), nil, 0o644); err != nil {
						tb.Fatal(err)
					}
				}
			}
		}
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}
