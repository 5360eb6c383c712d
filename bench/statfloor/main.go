// Command statfloor measures the floor under a warm launch: one bare
// stat of every directory a glob cache holds, by full path, in one
// thread, as the simplest program would. It reads the directories, one
// per line, from the file named by its argument (the bench makes it with
// find DIR -type d), stats each once untimed (so that the measured pass
// sees the same warm dentry cache a launch does), then times one pass
// and prints its nanoseconds. With -parallel N it also times a pass
// split over N threads and prints that second.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

func main() {
	par := flag.Int("parallel", 0, "also time a pass on this many threads")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: statfloor [-parallel N] DIRLIST")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "statfloor:", err)
		os.Exit(1)
	}
	var dirs [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// NUL-terminated once, so the timed loop copies nothing.
		dirs = append(dirs, append([]byte(sc.Text()), 0))
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "statfloor:", err)
		os.Exit(1)
	}
	if err := pass(dirs); err != nil {
		fmt.Fprintln(os.Stderr, "statfloor:", err)
		os.Exit(1)
	}
	t0 := time.Now()
	pass(dirs)
	fmt.Println(time.Since(t0).Nanoseconds())
	if *par > 1 {
		t0 = time.Now()
		var wg sync.WaitGroup
		for i := range *par {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lo, hi := len(dirs)*i / *par, len(dirs)*(i+1) / *par
				pass(dirs[lo:hi])
			}()
		}
		wg.Wait()
		fmt.Println(time.Since(t0).Nanoseconds())
	}
}
