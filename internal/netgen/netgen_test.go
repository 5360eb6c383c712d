package netgen

import (
	"math/rand"
	"testing"

	"polc/ir"
)

func TestHTTPProbe(t *testing.T) {
	for _, c := range []struct {
		url  string
		host string
		port int
		ok   bool
	}{
		{"http://example.com/", "example.com", 80, true},
		{"https://example.com/x", "example.com", 443, true},
		{"http://$HTTP/", "127.0.0.1", 40001, true},
		{"http://[::1]:8080/", "::1", 8080, true},
		{"ftp://example.com/", "", 0, false},
		{"example.com", "", 0, false},
	} {
		host, port, method, ok := HTTPProbe(c.url)
		if ok != c.ok || ok && (host != c.host || port != c.port || method != "GET") {
			t.Errorf("%s: %s %d %s %v", c.url, host, port, method, ok)
		}
	}
}

// TestProxyValid: every generated network is one ir accepts, and the
// generator reaches its variety (denies, limited methods, SOCKS5, custom
// ports).
func TestProxyValid(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var deny, limited, socks, ports int
	for i := 0; i < 300; i++ {
		px := Proxy(r)
		if _, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &px}); err != nil {
			t.Fatal(err)
		}
		for _, d := range px.Domains {
			if d.Action == ir.DomainDeny {
				deny++
				break
			}
		}
		if px.Methods == ir.MethodsLimited {
			limited++
		}
		if px.SOCKS5 {
			socks++
		}
		if px.HTTPPort != 0 {
			ports++
		}
	}
	if deny == 0 || limited == 0 || socks == 0 || ports == 0 {
		t.Errorf("variety: %d with denies, %d limited, %d SOCKS5, %d custom ports", deny, limited, socks, ports)
	}
}
