package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/urfave/cli/v2"

	"polc/artifact"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "keygen",
		Usage:     "make an ed25519 signing key: FILE (private, mode 0600) and FILE.pub",
		ArgsUsage: " ",
		Description: "Writes a PKCS#8 PEM private key to FILE and its PKIX PEM public key to FILE.pub,\n" +
			"and prints the key id. Keep FILE secret; give FILE.pub to polc exec --trust or install it\n" +
			"in the system trust directory. Existing files are never overwritten.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "o", Usage: "private key `FILE` (the public key goes to FILE.pub); required"},
		},
		Action: runKeygen,
	})
}

func runKeygen(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErr("keygen takes no arguments; use -o FILE")
	}
	file := c.String("o")
	if file == "" {
		return usageErr("keygen: -o FILE is required; usage: polc keygen -o FILE")
	}
	pub, priv, err := artifact.GenerateKey(rand.Reader)
	if err != nil {
		return failErr("generating a key: %v", err)
	}
	privPEM, err := artifact.MarshalPrivateKey(priv)
	if err != nil {
		return failErr("encoding the key: %v", err)
	}
	pubPEM, err := artifact.MarshalPublicKey(pub)
	if err != nil {
		return failErr("encoding the key: %v", err)
	}
	// O_EXCL: a key is never silently replaced (artifacts signed with it
	// would stop verifying).
	for _, f := range []string{file, file + ".pub"} {
		if _, err := os.Lstat(f); err == nil {
			return failErr("%s already exists; remove it or choose another -o", f)
		}
	}
	if err := writeExclusive(file, privPEM, 0o600); err != nil {
		return failErr("%v", err)
	}
	if err := writeExclusive(file+".pub", pubPEM, 0o644); err != nil {
		os.Remove(file)
		return failErr("%v", err)
	}
	fmt.Printf("wrote %s and %s (key id %s)\n", file, file+".pub", artifact.KeyID(pub))
	return nil
}

func writeExclusive(file string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s: %v", file, pe.Err)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(file)
		return fmt.Errorf("%s: %v", file, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(file)
		return fmt.Errorf("%s: %v", file, err)
	}
	return f.Close()
}
