package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"polc/artifact"
	"polc/diag"
)

// systemTrustDir holds the public keys every polc on this machine trusts
// (*.pub, PKIX PEM). When it has a key, polc exec --artifact refuses
// unsigned artifacts. A variable so tests can point it elsewhere.
var systemTrustDir = "/etc/polc/trust.d"

var trustFlag = &cli.StringSliceFlag{Name: "trust", Usage: "trusted ed25519 public key `PUBKEY` file (repeatable); " +
	"keys in /etc/polc/trust.d/*.pub are trusted too"}

func init() {
	commands = append(commands, &cli.Command{
		Name:      "verify",
		Usage:     "verify artifacts: integrity, side files and signature",
		ArgsUsage: "ARTIFACT...",
		Description: "Checks each artifact strictly: format, payload digest, side files, and an ed25519\n" +
			"signature by a trusted key (--trust PUBKEY, or the system trust directory). Exits 1\n" +
			"with one line per refused artifact.",
		Flags:  []cli.Flag{trustFlag},
		Action: runVerify,
	})
}

func runVerify(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErr("verify needs at least one ARTIFACT")
	}
	trust, err := artifact.LoadTrust(c.StringSlice("trust"), systemTrustDir)
	if err != nil {
		return failErr("%v", err)
	}
	if len(trust) == 0 {
		return usageErr("no trust key: pass --trust PUBKEY, or install one in %s", systemTrustDir)
	}
	failed := 0
	for _, file := range c.Args().Slice() {
		a, err := artifact.Load(file)
		if err == nil {
			var k *artifact.PublicKey
			if k, err = a.Verify(trust); err == nil {
				fmt.Printf("ok: %s (profile %s, %s, polc %s) signed by %s (%s)\n", file, a.Scope.Profile, a.Scope.Platform, a.Scope.PolcVersion, k.ID, k.File)
				continue
			}
			err = diag.InFile(err, file)
		}
		failed++
		fmt.Fprintln(os.Stderr, "polc: "+err.Error())
	}
	if failed > 0 {
		return silentExit(1)
	}
	return nil
}
