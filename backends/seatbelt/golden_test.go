package seatbelt

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"polc/backends"
	"polc/internal/canonjson"
	"polc/ir"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGoldenProfiles pins the profile text and payload of a few policies,
// so that a change to the emitted SBPL shows up as a reviewed diff.
func TestGoldenProfiles(t *testing.T) {
	hyphen := &ir.Policy{Profile: "hyphen", Rules: []ir.Rule{
		{Path: "/Users/u/my-app", Access: ir.Write},
		{Path: "/Users/u/my-app/.git", Access: ir.Read, SkipIfMissing: true},
		{Path: "/Users/u/my-app/secrets", Access: ir.Deny, Mandatory: true},
	}, Globs: []ir.Glob{{Pattern: "/Users/u/my-app/**/*.[pk]ey", Base: "/Users/u/my-app"}},
		Network: ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{SOCKS5: true}}}
	managed := proxyPolicy(ir.Proxy{SOCKS5: true, Methods: ir.MethodsLimited, Domains: []ir.DomainRule{
		{Pattern: "*.pkg.example", Action: ir.DomainAllow, Managed: true, Origin: ir.Origin{Kind: ir.OriginRequirement, Key: "experimental_network.domains"}},
		{Pattern: "evil.pkg.example", Action: ir.DomainDeny, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "domains"}},
	}})
	for name, pol := range map[string]*ir.Policy{
		"seed":          seedPolicy(),
		"hyphen-proxy":  hyphen,
		"managed-proxy": managed,
		"unrestricted":  {Profile: ":danger-full-access", Unrestricted: true},
	} {
		out, diags := Lower(pol, backends.Options{})
		if diags.HasErrors() {
			t.Fatalf("%s: %v", name, diags.Err())
		}
		got := append(append([]byte{}, out.Files["sb"]...), "\n---- payload without profile ----\n"...)
		pl, err := Decode(out.Payload)
		if err != nil {
			t.Fatal(err)
		}
		pl.Profile = ""
		got = append(got, mustJSON(t, pl)...)
		file := filepath.Join("testdata", name+".golden")
		if *update {
			os.MkdirAll("testdata", 0o755)
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test ./backends/seatbelt -run Golden -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: profile differs from %s (run with -update and review the diff)", name, file)
		}
		// Deterministic: a second lowering is byte-identical.
		again, _ := Lower(pol, backends.Options{})
		if !bytes.Equal(again.Payload, out.Payload) {
			t.Errorf("%s: two lowerings differ", name)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := canonjson.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
