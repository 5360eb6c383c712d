// Package benchtree builds the synthetic project trees polc's benchmarks
// walk. Two shapes:
//
//   - Small (Files = 200,000): 10,000 leaf directories four levels down
//     (pkgNN/modNN/dirNN/fileNN.go), a .env file in every tenth leaf
//     (1,200, each at depth 4), a server.pem in every 25th and a .hidden
//     file here and there. Dir builds it once and reuses it.
//   - Large (1,000,000 files): 100,000 leaf directories five levels down
//     (aN/bN/cN/dNN/fileN.go, 101,112 directories in all), ten files
//     each, 483 .env files spread over depths 2 to 6, a server.pem in
//     every 500th leaf. Build makes it where the caller says (the bench
//     scripts use their own temporary directory; go run ./bench/mktree).
//
// Nothing here is committed: the trees are generated on the machine that
// measures.
package benchtree

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// Files is how many files the small tree holds.
const Files = 200_000

// LargeFiles, LargeDirs and LargeEnv describe the large tree: its files,
// its directories (the root included) and its **/*.env matches.
const (
	LargeFiles = 1_000_000
	LargeDirs  = 1 + 10 + 100 + 1000 + 100_000 + 1 // a4/b5/c6/d70/deep
	LargeEnv   = 483
)

// Dir returns the small tree, building it on first use under
// $POLC_BENCH_TREE or /var/tmp (a marker file says it is complete).
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
	if err := BuildSmall(dir); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// BuildSmall writes the small tree into dir.
func BuildSmall(dir string) error {
	for i := 0; i < 20; i++ {
		for j := 0; j < 20; j++ {
			for k := 0; k < 25; k++ {
				leaf := filepath.Join(dir, fmt.Sprintf("pkg%02d", i), fmt.Sprintf("mod%02d", j), fmt.Sprintf("dir%02d", k))
				if err := os.MkdirAll(leaf, 0o755); err != nil {
					return err
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
						return err
					}
				}
			}
		}
	}
	return nil
}

// LargeDeepest is the depth (below the root) of the deepest .env file
// of the large tree.
const LargeDeepest = 6

// BuildLarge writes the large tree into dir (which must not exist yet,
// or be empty), on every core. The leaves are aN/bN/cN/dNN: leaf l (0 to
// 99,999) holds ten files, file0.go to file9.go, except that every 207th
// leaf (206, 413, ...) has .env in place of file0.go (483 of them, at depth 5), every
// 500th has server.pem in place of file1.go, and .env files also sit in
// three places above the leaves (depth 2 to 4) and one below a leaf
// (depth 6) so that depth caps have something to cut. The root holds
// nothing else.
func BuildLarge(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	jobs := make(chan int)
	errs := make(chan error, 10)
	var wg sync.WaitGroup
	for range max(2, runtime.NumCPU()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range jobs {
				if err := buildLargeTop(dir, a); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for a := 0; a < 10; a++ {
		jobs <- a
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	// The 483 leaf .env files (leaves 206, 413, ... 99,980) are all at
	// depth 5; move the last four to other depths: depth
	// 2, 3, 4 (directories above leaves) and 6 (below a leaf).
	moves := []string{"a1/.env", "a2/b3/.env", "a3/b4/c5/.env", "a4/b5/c6/d70/deep/.env"}
	leaves := []int{99980, 99773, 99566, 99359}
	for i, m := range moves {
		from := filepath.Join(dir, leafPath(leaves[i]), ".env")
		to := filepath.Join(dir, m)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.Rename(from, to); err != nil {
			return err
		}
		// The leaf keeps ten files.
		if err := touch(filepath.Join(dir, leafPath(leaves[i]), "file0.go")); err != nil {
			return err
		}
	}
	return nil
}

// leafPath is leaf l's path below the root.
func leafPath(l int) string {
	return fmt.Sprintf("a%d/b%d/c%d/d%02d", l/10000, l/1000%10, l/100%10, l%100)
}

func buildLargeTop(dir string, a int) error {
	for l := a * 10000; l < (a+1)*10000; l++ {
		leaf := filepath.Join(dir, leafPath(l))
		if l%100 == 0 {
			if err := os.MkdirAll(leaf, 0o755); err != nil {
				return err
			}
		} else if err := os.Mkdir(leaf, 0o755); err != nil {
			return err
		}
		for f := 0; f < 10; f++ {
			name := "file" + strconv.Itoa(f) + ".go"
			switch {
			case f == 0 && l%207 == 206:
				name = ".env"
			case f == 1 && l%500 == 3:
				name = "server.pem"
			}
			fh, err := os.OpenFile(filepath.Join(leaf, name), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			fh.Close()
		}
	}
	return nil
}

func touch(p string) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}
