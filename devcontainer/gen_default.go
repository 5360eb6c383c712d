//go:build ignore

// gen_default writes docker-default.json, Docker's default seccomp
// profile as github.com/moby/profiles/seccomp builds it. The library's
// DefaultProfile exists only in Linux builds, so the profile is generated
// here once (go generate, on Linux) and embedded, and polc can write
// .devcontainer/seccomp.json on every platform. TestDockerDefaultInSync
// fails when the library and the file disagree.
package main

import (
	"encoding/json"
	"log"
	"os"

	"github.com/moby/profiles/seccomp"
)

func main() {
	b, err := json.MarshalIndent(seccomp.DefaultProfile(), "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("docker-default.json", append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}
