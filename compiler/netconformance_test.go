package compiler_test

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"polc/diag"
	"polc/internal/conformance"
	"polc/ir"
)

// TestNetConformance compiles the network cases recorded from the
// reference (the conformance cases with an http probe or a polc-refusal
// code: the shared cases 020-023 and polc's own recordings 030-041; e2e
// runs the same cases under polc exec) and checks each network probe against the
// policy: an "http URL" probe through ir.DecideNet, a "net" probe (a
// direct connection) against the network mode, and "run refused" against
// the located error polc must give (polc-refusal). A decision that
// depends on what a name resolves to (local addresses not allowed) is
// skipped: the recording machine resolved no name.
func TestNetConformance(t *testing.T) {
	all, err := conformance.Load("../internal/conformance/testdata")
	if err != nil {
		t.Fatal(err)
	}
	var cases []*conformance.Case
	for _, c := range all {
		for _, p := range c.Probes {
			if p.Op == "http" || c.RefusalCode != "" {
				cases = append(cases, c)
				break
			}
		}
	}
	if len(cases) < 10 {
		t.Fatalf("only %d network cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			_, res := c.Compile(t)
			if c.Refused {
				if res.Policy != nil || !hasCode(res.Diags, diag.Code(c.RefusalCode)) {
					t.Fatalf("want the run refused with %s, got:\n%s", c.RefusalCode, diagText(res.Diags))
				}
				return
			}
			if res.Policy == nil {
				t.Fatalf("compile failed:\n%s", diagText(res.Diags))
			}
			for i, p := range c.Probes {
				want := c.WantFor(i) == "allow"
				switch p.Op {
				case "net":
					if got := res.Policy.Network.Mode == ir.NetworkFull; got != want {
						t.Errorf("net: full=%v, want allow=%v (network %s, %s)", got, want, res.Policy.Network.Mode, res.Policy.Network.Origin)
					}
				case "http":
					host, port := httpTarget(t, p.Path)
					d, err := ir.DecideNet(res.Policy, host, port, "GET")
					if err != nil {
						t.Fatal(err)
					}
					if d.CheckAddrs {
						continue
					}
					if d.Allowed != want {
						t.Errorf("%s: %s, want allow=%v", p.Key(), d.Explain(), want)
					}
				}
			}
		})
	}
}

// httpTarget is the host and port an http probe's URL names ($HTTP is a
// loopback server of the harness).
func httpTarget(t *testing.T, raw string) (string, int) {
	t.Helper()
	u, err := url.Parse(replaceHTTP(raw))
	if err != nil {
		t.Fatalf("probe URL %q: %v", raw, err)
	}
	host, portText, err := net.SplitHostPort(u.Host)
	if err != nil {
		return u.Host, 80
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatalf("probe URL %q: port %q", raw, portText)
	}
	return host, port
}

func replaceHTTP(s string) string { return strings.ReplaceAll(s, "$HTTP", "127.0.0.1:8080") }
