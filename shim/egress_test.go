package shim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"polc/diag"
	"polc/ir"
	"polc/netproxy"
)

// syncBuffer is a bytes.Buffer safe for the proxy's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func envValue(environ []string, key string) (string, int) {
	v, n := "", 0
	for _, kv := range environ {
		if k, val, _ := strings.Cut(kv, "="); strings.EqualFold(k, key) {
			v, n = val, n+1
		}
	}
	return v, n
}

// TestEgressLaunch is the macOS and Windows launches' proxy, run on
// Linux: it listens where the command's environment says, refuses what
// the policy refuses with one line on the launch's stderr, and stops.
func TestEgressLaunch(t *testing.T) {
	httpPort, socksPort := freePort(t), freePort(t)
	px := &ir.Proxy{HTTPPort: httpPort, SOCKSPort: socksPort, SOCKS5: true,
		Domains: []ir.DomainRule{{Pattern: "denied.example", Action: ir.DomainDeny, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "domains"}}}}
	var stderr, netLog syncBuffer
	n := &ir.Network{Mode: ir.NetworkProxy, Proxy: px}
	eg, err := startEgress(&Launch{Network: n, Stderr: &stderr, NetLog: &netLog}, px, diag.MacProxyStart)
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"PATH=/bin", "https_proxy=http://stale:1", "GIT_SSH_COMMAND=my-ssh"}
	environ := eg.env(base, px, true)
	want := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	if v, n := envValue(environ, "HTTPS_PROXY"); v != want || n != 2 {
		t.Errorf("HTTPS_PROXY = %q (%d entries), want %q in both spellings: %v", v, n, want, environ)
	}
	if v, _ := envValue(environ, "ALL_PROXY"); v != fmt.Sprintf("socks5h://127.0.0.1:%d", socksPort) {
		t.Errorf("ALL_PROXY = %q", v)
	}
	if v, n := envValue(environ, "GIT_SSH_COMMAND"); v != "my-ssh" || n != 1 {
		t.Errorf("the user's GIT_SSH_COMMAND was replaced: %q", v)
	}
	if v, _ := envValue(eg.env([]string{"PATH=/bin"}, px, true), "GIT_SSH_COMMAND"); !strings.Contains(v, fmt.Sprintf("-x 127.0.0.1:%d", socksPort)) {
		t.Errorf("GIT_SSH_COMMAND %q does not use the SOCKS5 listener", v)
	}
	if _, n := envValue(eg.env([]string{"PATH=/bin"}, px, false), "GIT_SSH_COMMAND"); n != 0 {
		t.Errorf("GIT_SSH_COMMAND set without gitSSH")
	}

	// A refused request: 403 to the command, one line to stderr.
	u, _ := url.Parse(want)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
	resp, err := client.Get("http://denied.example/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("denied host: %d", resp.StatusCode)
	}
	line := stderr.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, "denied.example") || !strings.Contains(line, ir.ReasonDenied) {
		t.Errorf("stderr %q: want one line naming the host and the reason", line)
	}
	var logged netproxy.Refusal
	if js := netLog.String(); strings.Count(js, "\n") != 1 || json.Unmarshal([]byte(js), &logged) != nil ||
		logged.Decision.Host != "denied.example" || logged.Decision.Reason != ir.ReasonDenied {
		t.Errorf("--net-log %q: want one JSON line for the refusal", js)
	}

	eg.stop()
	if c, err := net.DialTimeout("tcp4", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("the proxy still listens after stop")
	}
}

// TestEgressFailsClosed: a port held by another program refuses the
// launch with one line naming the code.
func TestEgressFailsClosed(t *testing.T) {
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	_, err = startEgress(&Launch{Stderr: io.Discard}, &ir.Proxy{HTTPPort: port}, diag.WindowsProxyStart)
	var f *diag.Diagnostic
	if !errors.As(err, &f) {
		t.Fatalf("busy port: %v, want a *diag.Diagnostic", err)
	}
	if strings.Contains(f.Error(), "\n") || !strings.Contains(f.Message, fmt.Sprintf("127.0.0.1:%d", port)) || f.Code != diag.WindowsProxyStart || f.Fix == "" {
		t.Errorf("failure %q", f.Error())
	}
	if _, err := startEgress(&Launch{}, nil, diag.MacProxyStart); !errors.As(err, &f) {
		t.Errorf("no proxy network: %v", err)
	}
	// The artifact's proxy network must be the policy's.
	free := freePort(t)
	art := &ir.Proxy{HTTPPort: free, Domains: []ir.DomainRule{{Pattern: "a.example", Action: ir.DomainAllow}}}
	for name, n := range map[string]*ir.Network{
		"no network": {Mode: ir.NetworkNone},
		"other rule": {Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: free, Domains: []ir.DomainRule{{Pattern: "b.example", Action: ir.DomainAllow}}}},
		"other port": {Mode: ir.NetworkProxy, Proxy: &ir.Proxy{Domains: art.Domains}},
		"limited":    {Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: free, Domains: art.Domains, Methods: ir.MethodsLimited}},
		"no rules":   {Mode: ir.NetworkProxy},
		"local":      {Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: free, Domains: art.Domains, AllowLocal: true}},
	} {
		if eg, err := startEgress(&Launch{Network: n}, art, diag.MacProxyStart); !errors.As(err, &f) || !strings.Contains(f.Message, "not the policy's") {
			t.Errorf("%s: %v", name, err)
			if eg != nil {
				eg.stop()
			}
		}
	}
	// Origins may differ; "" methods are full.
	same := &ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: free, Methods: ir.MethodsFull,
		Domains: []ir.DomainRule{{Pattern: "a.example", Action: ir.DomainAllow, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "x"}}}}}
	eg, err := startEgress(&Launch{Network: same}, art, diag.MacProxyStart)
	if err != nil {
		t.Fatalf("the same proxy network: %v", err)
	}
	eg.stop()
}
