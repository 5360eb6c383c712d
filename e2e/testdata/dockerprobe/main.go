// Command dockerprobe is the test program TestDevcontainerInDocker runs
// in its containers: a web server for the test hosts and the client
// probes the agent's container makes. Built statically so that the
// test's image needs no libc for it.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: dockerprobe serve ADDR | get URL | dial HOST:PORT | resolve NAME")
		os.Exit(2)
	}
	arg := os.Args[2]
	switch os.Args[1] {
	case "serve":
		name, _ := os.Hostname()
		err := http.ListenAndServe(arg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s\n", name)
		}))
		fail(err)
	case "get":
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(arg)
		fail(err)
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s", resp.StatusCode, body)
	case "dial":
		c, err := net.DialTimeout("tcp", arg, 3*time.Second)
		fail(err)
		c.Close()
		fmt.Println("connected")
	case "resolve":
		addrs, err := net.LookupHost(arg)
		fail(err)
		fmt.Println(addrs)
	default:
		fail(fmt.Errorf("unknown probe %q", os.Args[1]))
	}
}

func fail(err error) {
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}
