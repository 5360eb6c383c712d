// Command mktree writes one of internal/benchtree's synthetic trees for
// the bench scripts: mktree [-large] DIR. DIR must not exist yet.
package main

import (
	"flag"
	"fmt"
	"os"

	"polc/internal/benchtree"
)

func main() {
	large := flag.Bool("large", false, "the 1,000,000-file tree (default: the 200,000-file one)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mktree [-large] DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	if _, err := os.Lstat(dir); err == nil {
		fmt.Fprintf(os.Stderr, "mktree: %s exists\n", dir)
		os.Exit(1)
	}
	build := benchtree.BuildSmall
	if *large {
		build = benchtree.BuildLarge
	}
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "mktree:", err)
		os.Exit(1)
	}
}
