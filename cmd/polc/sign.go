package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"polc/artifact"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "sign",
		Usage:     "sign artifacts in place with an ed25519 key",
		ArgsUsage: "ARTIFACT...",
		Description: "Checks each artifact's integrity (payload digest, side files), then adds or replaces\n" +
			"its signature, rewriting the file atomically. The signature covers the payload digest\n" +
			"and the scope (profile, platform, polc version, requirements digest).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "ed25519 private key `FILE` (see polc keygen); required"},
		},
		Action: runSign,
	})
}

func runSign(c *cli.Context) error {
	if c.String("key") == "" {
		return usageErr("sign: --key FILE is required; usage: polc sign --key FILE ARTIFACT...")
	}
	if c.NArg() == 0 {
		return usageErr("sign needs at least one ARTIFACT; usage: polc sign --key FILE ARTIFACT...")
	}
	key, err := artifact.LoadPrivateKey(c.String("key"))
	if err != nil {
		return failErr("%v", err)
	}
	for _, file := range c.Args().Slice() {
		// Never sign what does not verify: a tampered artifact must not
		// be laundered by a signature.
		a, err := artifact.Load(file)
		if err != nil {
			return failErr("%v", err)
		}
		if err := a.Sign(key); err != nil {
			return failErr("%v", err)
		}
		body, err := a.Encode()
		if err != nil {
			return failErr("%s: %v", file, err)
		}
		if _, err := artifact.WriteFiles(filepath.Dir(file), map[string][]byte{filepath.Base(file): body}); err != nil {
			return failErr("%v", err)
		}
		fmt.Printf("signed %s (%s, %s) with key %s\n", file, a.Scope.Profile, a.Scope.Platform, a.Signature.KeyID)
	}
	return nil
}
