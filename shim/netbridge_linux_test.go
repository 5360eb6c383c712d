package shim

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"polc/backends/bwrap"
	"polc/diag"
	"polc/ir"
)

// TestBridgeCarriesConnectionsToTheProxy runs both halves of the bridge
// in this process, without a sandbox: the stage's listener hands a
// client's connection to polc's proxy, which answers with its decision.
func TestBridgeCarriesConnectionsToTheProxy(t *testing.T) {
	port := freePort(t)
	art := &bwrap.Artifact{Proxy: &bwrap.ProxyRoute{HTTPPort: port}}
	n := &ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: port, Domains: []ir.DomainRule{
		{Pattern: "denied.test", Action: ir.DomainDeny, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "domains"}}}}}
	var stderr, log bytes.Buffer
	r, err := startNetRoute(art, n, &stderr, &log)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := bridgeListen(&bridgeSpec{HTTPPort: port})
	if err != nil {
		t.Fatal(err)
	}
	bridgeServe(ls, int(r.child.Fd()))
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("GET http://denied.test/ HTTP/1.1\r\nHost: denied.test\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c.Close()
	if resp.StatusCode != 403 || resp.Header.Get("x-proxy-error") != "blocked-by-denylist" {
		t.Errorf("answer %d %v", resp.StatusCode, resp.Header)
	}
	r.close()
	if !strings.Contains(stderr.String(), "denied.test:80: refused (denied)") || !strings.Contains(log.String(), `"reason":"denied"`) {
		t.Errorf("refusal not reported: stderr %q log %q", stderr.String(), log.String())
	}
}

// TestNetRouteFailsClosed: without the policy's network, or with a
// policy that disagrees with the artifact's route, no proxy starts and
// the launch fails with POL220; a bridge port that cannot be bound is an
// error the stage reports (exit 125).
func TestNetRouteFailsClosed(t *testing.T) {
	art := &bwrap.Artifact{Proxy: &bwrap.ProxyRoute{HTTPPort: 3128, SOCKSPort: 8081}}
	for name, n := range map[string]*ir.Network{
		"no policy":        nil,
		"full network":     {Mode: ir.NetworkFull},
		"socks disagrees":  {Mode: ir.NetworkProxy, Proxy: &ir.Proxy{}},
		"http disagrees":   {Mode: ir.NetworkProxy, Proxy: &ir.Proxy{SOCKS5: true, HTTPPort: 3129}},
		"invalid decision": {Mode: ir.NetworkProxy, Proxy: &ir.Proxy{SOCKS5: true, Methods: "some"}},
	} {
		_, err := startNetRoute(art, n, nil, nil)
		var f *diag.Diagnostic
		if !errors.As(err, &f) || f.Code != diag.LinuxNetworkRoute {
			t.Errorf("%s: want a POL220 failure, got %v", name, err)
		}
	}
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := bridgeListen(&bridgeSpec{HTTPPort: held.Addr().(*net.TCPAddr).Port}); err == nil || !strings.Contains(err.Error(), "proxy bridge") {
		t.Errorf("a held port: want a bridge error, got %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
