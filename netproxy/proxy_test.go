package netproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	xproxy "golang.org/x/net/proxy"

	"polc/ir"
)

// Every test server, proxy and dial in this file is on 127.0.0.1; names
// are answered by fakeResolver, never by DNS.

var loopback = netip.MustParseAddr("127.0.0.1")

// fakeResolver answers from a table and records every lookup.
type fakeResolver struct {
	mu      sync.Mutex
	table   map[string][]netip.Addr
	lookups []string
	// answer, if set, replaces the table (for rebinding tests).
	answer func(host string, n int) []netip.Addr
}

func (f *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups = append(f.lookups, host)
	if f.answer != nil {
		return f.answer(host, len(f.lookups)), nil
	}
	if a, ok := f.table[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (f *fakeResolver) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lookups...)
}

// recordingDial connects every address to one loopback listener and
// records what was asked: the proxy may "reach" a public address in a
// test without leaving the machine.
type recordingDial struct {
	mu    sync.Mutex
	to    string
	asked []string
}

func (r *recordingDial) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	r.mu.Lock()
	r.asked = append(r.asked, addr)
	r.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, r.to)
}

func (r *recordingDial) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.asked...)
}

type env struct {
	t        *testing.T
	proxy    *Proxy
	addr     string // the HTTP proxy's address
	socks    string // the SOCKS5 listener's address, if any
	resolver *fakeResolver
	mu       sync.Mutex
	refused  []Refusal
}

func (e *env) refusals() []Refusal {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Refusal(nil), e.refused...)
}

func rules(spec ...string) []ir.DomainRule {
	var out []ir.DomainRule
	for _, s := range spec {
		action, pattern, _ := strings.Cut(s, " ")
		out = append(out, ir.DomainRule{Pattern: ir.NormalizeDomainPattern(pattern), Action: ir.DomainAction(action),
			Origin: ir.Origin{Kind: ir.OriginConfig, Key: pattern}})
	}
	return out
}

func startProxy(t *testing.T, px ir.Proxy, table map[string][]netip.Addr, mod func(*Config)) *env {
	t.Helper()
	d, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &px})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, resolver: &fakeResolver{table: table}}
	cfg := Config{Decider: d, Resolver: e.resolver, DialTimeout: 2 * time.Second,
		OnRefusal: func(r Refusal) { e.mu.Lock(); e.refused = append(e.refused, r); e.mu.Unlock() }}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.proxy = p
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	served := make(chan error, 2)
	go func() { served <- p.Serve(l) }()
	n := 1
	if px.SOCKS5 {
		sl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		e.socks = sl.Addr().String()
		go func() { served <- p.ServeSOCKS5(sl) }()
		n++
	}
	t.Cleanup(func() {
		p.Close()
		for i := 0; i < n; i++ {
			if err := <-served; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	})
	return e
}

func (e *env) client() *http.Client {
	u, _ := url.Parse("http://" + e.addr)
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}, Timeout: 10 * time.Second}
}

// upstream is a loopback HTTP server answering 200 with the method and
// the Host header it saw.
func upstream(t *testing.T) (*httptest.Server, int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream %s %s", r.Method, r.Host)
	}))
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(p)
	return srv, port
}

func decodeBlocked(t *testing.T, resp *http.Response) Blocked {
	t.Helper()
	var b Blocked
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	var keys map[string]any
	json.Unmarshal(body, &keys)
	for _, k := range []string{"status", "host", "reason", "message"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("body %s lacks the reference's key %q", body, k)
		}
	}
	return b
}

func TestRefusedHostGets403(t *testing.T) {
	_, port := upstream(t)
	e := startProxy(t, ir.Proxy{AllowLocal: true, Domains: rules("allow *.example.test", "deny bad.example.test")},
		map[string][]netip.Addr{"good.example.test": {loopback}, "bad.example.test": {loopback}, "other.test": {loopback}}, nil)
	for _, c := range []struct {
		host, reason, header, rule string
	}{
		{"bad.example.test", ir.ReasonDenied, "blocked-by-denylist", "bad.example.test"},
		{"other.test", ir.ReasonNotAllowed, "blocked-by-allowlist", ""},
		{"example.test", ir.ReasonNotAllowed, "blocked-by-allowlist", ""},
	} {
		resp, err := e.client().Get(fmt.Sprintf("http://%s:%d/x", c.host, port))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d", c.host, resp.StatusCode)
		}
		if got := resp.Header.Get("X-Proxy-Error"); got != c.header {
			t.Errorf("%s: x-proxy-error %q, want %q", c.host, got, c.header)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: content type %q", c.host, ct)
		}
		b := decodeBlocked(t, resp)
		resp.Body.Close()
		if b.Status != "blocked" || b.Host != c.host || b.Reason != c.reason || b.Port != port || b.Method != "GET" {
			t.Errorf("%s: body %+v", c.host, b)
		}
		if (b.Rule == nil) != (c.rule == "") || b.Rule != nil && b.Rule.Pattern != c.rule {
			t.Errorf("%s: rule %+v, want %q", c.host, b.Rule, c.rule)
		}
	}
	// Refused names are never looked up.
	if got := e.resolver.asked(); len(got) != 0 {
		t.Errorf("refused names were resolved: %v", got)
	}
	// One line per refusal, naming the host, the reason and the rule.
	refs := e.refusals()
	if len(refs) != 3 {
		t.Fatalf("refusals: %v", refs)
	}
	if line := refs[0].String(); !strings.Contains(line, "bad.example.test:") || !strings.Contains(line, "denied") ||
		!strings.Contains(line, `deny "bad.example.test"`) || strings.Contains(line, "\n") {
		t.Errorf("refusal line %q", line)
	}
	if line := refs[1].String(); !strings.Contains(line, "other.test:") || !strings.Contains(line, "not_allowed") {
		t.Errorf("refusal line %q", line)
	}
}

func TestAllowedHostReachesServer(t *testing.T) {
	_, port := upstream(t)
	e := startProxy(t, ir.Proxy{AllowLocal: true, Domains: rules("allow *.example.test")},
		map[string][]netip.Addr{"good.example.test": {loopback}}, nil)
	for _, method := range []string{"GET", "POST", "DELETE"} {
		req, _ := http.NewRequest(method, fmt.Sprintf("http://good.example.test:%d/p", port), strings.NewReader("body"))
		resp, err := e.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf("upstream %s good.example.test:%d", method, port)
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("%s: %d %q, want 200 %q", method, resp.StatusCode, body, want)
		}
	}
	if len(e.refusals()) != 0 {
		t.Errorf("refusals: %v", e.refusals())
	}
}

// In full mode a protocol upgrade is forwarded and the connection then
// carries bytes both ways.
func TestUpgradeForwardedInFullMode(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want an upgrade", 400)
			return
		}
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		line, _ := brw.ReadString('\n')
		io.WriteString(c, "echo "+line)
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	e := startProxy(t, ir.Proxy{AllowLocal: true, Domains: rules("allow ws.test")},
		map[string][]netip.Addr{"ws.test": {loopback}}, nil)
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET http://ws.test:%d/ HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n", port)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(conn, "hello\n")
	if line, _ := br.ReadString('\n'); line != "echo hello\n" {
		t.Errorf("got %q", line)
	}
}

// The Host header the upstream sees is the host that was decided.
func TestHostHeaderIsTheDecidedHost(t *testing.T) {
	_, port := upstream(t)
	e := startProxy(t, ir.Proxy{AllowLocal: true, Domains: rules("allow good.test")},
		map[string][]netip.Addr{"good.test": {loopback}}, nil)
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET http://good.test:%d/ HTTP/1.1\r\nHost: evil.test\r\n\r\n", port)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if want := fmt.Sprintf("upstream GET good.test:%d", port); string(body) != want {
		t.Errorf("got %q, want %q", body, want)
	}
}

func TestUnreachableAllowedGets502Fast(t *testing.T) {
	// A closed loopback port: refused at once.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	// A destination that never answers: the injected dialer waits for
	// the deadline, as a black-holed address would.
	var blackholed sync.WaitGroup
	e := startProxy(t, ir.Proxy{AllowLocal: true, Domains: rules("allow *.test")},
		map[string][]netip.Addr{"closed.test": {loopback}, "void.test": {netip.MustParseAddr("192.0.2.1")}},
		func(c *Config) {
			c.DialTimeout = 300 * time.Millisecond
			c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				if strings.HasPrefix(addr, "192.0.2.1:") {
					blackholed.Add(1)
					defer blackholed.Done()
					<-ctx.Done()
					return nil, ctx.Err()
				}
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
		})
	for _, host := range []string{"closed.test", "void.test", "nxdomain.test"} {
		start := time.Now()
		resp, err := e.client().Get(fmt.Sprintf("http://%s:%d/", host, closedPort))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("%s: status %d, want 502", host, resp.StatusCode)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: 502 after %v", host, d)
		}
		// CONNECT too.
		code, _, _ := rawConnect(t, e.addr, fmt.Sprintf("%s:%d", host, closedPort))
		if code != http.StatusBadGateway {
			t.Errorf("CONNECT %s: status %d, want 502", host, code)
		}
	}
	blackholed.Wait()
	if len(e.refusals()) != 0 {
		t.Errorf("an unreachable host is not a refusal: %v", e.refusals())
	}
}

func TestPublicNameResolvingPrivateIsRefused(t *testing.T) {
	rd := &recordingDial{to: "127.0.0.1:1"}
	e := startProxy(t, ir.Proxy{Domains: rules("allow *.example.test", "allow 127.0.0.1")},
		map[string][]netip.Addr{
			"rebind.example.test": {netip.MustParseAddr("10.0.0.5")},
			"mixed.example.test":  {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("169.254.169.254")},
			"mapped.example.test": {netip.MustParseAddr("::ffff:127.0.0.1")},
		}, func(c *Config) { c.Dial = rd.dial })
	for _, host := range []string{"rebind.example.test", "mixed.example.test", "mapped.example.test", "nxdomain.example.test"} {
		resp, err := e.client().Get("http://" + host + "/")
		if err != nil {
			t.Fatal(err)
		}
		b := decodeBlocked(t, resp)
		resp.Body.Close()
		if resp.StatusCode != 403 || b.Reason != ir.ReasonNotAllowedLocal || resp.Header.Get("X-Proxy-Error") != "blocked-by-allowlist" {
			t.Errorf("%s: %d %+v", host, resp.StatusCode, b)
		}
		code, hdr, _ := rawConnect(t, e.addr, host+":443")
		if code != 403 || hdr.Get("X-Proxy-Error") != "blocked-by-allowlist" {
			t.Errorf("CONNECT %s: %d %v", host, code, hdr)
		}
	}
	// Local literals: refused, unless an exact allow rule names them.
	resp, err := e.client().Get("http://10.9.9.9/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("10.9.9.9: %d", resp.StatusCode)
	}
	if got := rd.calls(); len(got) != 0 {
		t.Errorf("the proxy connected to refused addresses: %v", got)
	}
}

// The proxy connects to the address it checked: a rebinding resolver
// that answers a public address first and a private one after gets one
// question, and the dial goes to the public address.
func TestConnectsToCheckedAddress(t *testing.T) {
	_, port := upstream(t)
	rd := &recordingDial{to: fmt.Sprintf("127.0.0.1:%d", port)}
	public := netip.MustParseAddr("93.184.215.14")
	e := startProxy(t, ir.Proxy{Domains: rules("allow rebind.test")}, nil, func(c *Config) { c.Dial = rd.dial })
	e.resolver.answer = func(host string, n int) []netip.Addr {
		if n%2 == 1 {
			return []netip.Addr{public}
		}
		return []netip.Addr{loopback}
	}
	resp, err := e.client().Get("http://rebind.test/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := e.resolver.asked(); len(got) != 1 {
		t.Errorf("lookups %v, want one", got)
	}
	if got := rd.calls(); len(got) != 1 || got[0] != "93.184.215.14:80" {
		t.Errorf("dials %v, want the checked address", got)
	}
	// The next request asks again and gets the loopback answer: refused.
	if code, _, _ := rawConnect(t, e.addr, "rebind.test:443"); code != 403 {
		t.Errorf("CONNECT after rebinding: %d", code)
	}
	// And the one after gets the public one: tunnelled there.
	code, _, conn := rawConnect(t, e.addr, "rebind.test:443")
	if code != 200 {
		t.Fatalf("CONNECT: %d", code)
	}
	conn.Close()
	if got := rd.calls(); len(got) != 2 || got[1] != "93.184.215.14:443" {
		t.Errorf("dials %v, want the checked address", got)
	}
	if got := e.resolver.asked(); len(got) != 3 {
		t.Errorf("lookups %v, want one per request", got)
	}
}

func TestLimitedMode(t *testing.T) {
	_, port := upstream(t)
	e := startProxy(t, ir.Proxy{AllowLocal: true, Methods: ir.MethodsLimited, SOCKS5: true,
		Domains: rules("allow good.test", "deny bad.test")},
		map[string][]netip.Addr{"good.test": {loopback}}, nil)
	u := fmt.Sprintf("http://good.test:%d/", port)
	for _, m := range []string{"GET", "HEAD", "OPTIONS"} {
		req, _ := http.NewRequest(m, u, nil)
		resp, err := e.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", m, resp.StatusCode)
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		req, _ := http.NewRequest(m, u, strings.NewReader("x"))
		resp, err := e.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := decodeBlocked(t, resp)
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("X-Proxy-Error") != "blocked-by-method-policy" || b.Reason != ir.ReasonMethodNotAllowed {
			t.Errorf("%s: %d %+v", m, resp.StatusCode, b)
		}
	}
	code, hdr, _ := rawConnect(t, e.addr, fmt.Sprintf("good.test:%d", port))
	if code != 403 || hdr.Get("X-Proxy-Error") != "blocked-by-method-policy" {
		t.Errorf("CONNECT in limited mode: %d %v", code, hdr)
	}
	// A GET that asks to switch protocols would become a tunnel.
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Connection", "keep-alive, Upgrade")
	req.Header.Set("Upgrade", "websocket")
	up, err := e.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	up.Body.Close()
	if up.StatusCode != 403 || up.Header.Get("X-Proxy-Error") != "blocked-by-method-policy" {
		t.Errorf("upgrade in limited mode: %d %v", up.StatusCode, up.Header)
	}
	// A denied host is refused as denied, before the method.
	resp, err := e.client().Post("http://bad.test/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Proxy-Error") != "blocked-by-denylist" {
		t.Errorf("denied host in limited mode: %v", resp.Header)
	}
	// SOCKS5 is a tunnel too.
	if _, err := socksDial(t, e.socks, fmt.Sprintf("good.test:%d", port)); err == nil {
		t.Error("SOCKS5 in limited mode: connected")
	}
	if got := e.resolver.asked(); len(got) != 3 { // GET, HEAD, OPTIONS
		t.Errorf("lookups %v", got)
	}
}

func TestConnectTunnel(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tls upstream")
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	e := startProxy(t, ir.Proxy{AllowLocal: true, Domains: rules("allow secure.test")},
		map[string][]netip.Addr{"secure.test": {loopback}}, nil)
	u, _ := url.Parse("http://" + e.addr)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(u)
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the test server's certificate names 127.0.0.1
	resp, err := (&http.Client{Transport: tr}).Get(fmt.Sprintf("https://secure.test:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "tls upstream" {
		t.Errorf("got %q", body)
	}
	_, err = (&http.Client{Transport: tr}).Get(fmt.Sprintf("https://other.test:%d/", port))
	if err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("CONNECT to a refused host: %v", err)
	}
	// The CONNECT refusal carries the header and the body.
	code, hdr, _ := rawConnect(t, e.addr, fmt.Sprintf("other.test:%d", port))
	if code != 403 || hdr.Get("X-Proxy-Error") != "blocked-by-allowlist" {
		t.Errorf("refused CONNECT: %d %v", code, hdr)
	}
}

// Bytes the client sends right behind its CONNECT request reach the
// upstream (they were read into the server's buffer before the hijack).
func TestConnectPipelinedBytes(t *testing.T) {
	_, port := upstream(t)
	e := startProxy(t, ir.Proxy{AllowLocal: true, Domains: rules("allow up.test")},
		map[string][]netip.Addr{"up.test": {loopback}}, nil)
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT up.test:%d HTTP/1.1\r\nHost: up.test:%d\r\n\r\nGET /a HTTP/1.1\r\nHost: up.test\r\nConnection: close\r\n\r\n", port, port)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "upstream GET up.test" {
		t.Errorf("got %q", body)
	}
}

func TestSOCKS5(t *testing.T) {
	_, port := upstream(t)
	e := startProxy(t, ir.Proxy{AllowLocal: true, SOCKS5: true, Domains: rules("allow good.test", "deny bad.test", "allow 127.0.0.1")},
		map[string][]netip.Addr{"good.test": {loopback}, "bad.test": {loopback}}, nil)
	for _, target := range []string{fmt.Sprintf("good.test:%d", port), fmt.Sprintf("127.0.0.1:%d", port)} {
		c, err := socksDial(t, e.socks, target)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: good.test\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		if string(body) != "upstream GET good.test" {
			t.Errorf("%s: got %q", target, body)
		}
	}
	for _, target := range []string{fmt.Sprintf("bad.test:%d", port), fmt.Sprintf("other.test:%d", port)} {
		if c, err := socksDial(t, e.socks, target); err == nil {
			c.Close()
			t.Errorf("%s: connected", target)
		} else if !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("%s: %v, want a ruleset refusal", target, err)
		}
	}
	refs := e.refusals()
	if len(refs) != 2 || refs[0].Protocol != "socks5" || refs[0].Decision.Reason != ir.ReasonDenied || refs[1].Decision.Reason != ir.ReasonNotAllowed {
		t.Errorf("refusals %v", refs)
	}
	// Not enabled by the policy: ServeSOCKS5 refuses to start.
	d, _ := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{}})
	p, _ := New(Config{Decider: d})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	if err := p.ServeSOCKS5(l); err == nil {
		t.Error("SOCKS5 served without enable_socks5")
	}
}

// The proxy serves a Unix socket as well as TCP: what a launcher bridges
// into the sandbox.
func TestUnixListener(t *testing.T) {
	_, port := upstream(t)
	d, _ := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{AllowLocal: true, Domains: rules("allow good.test")}})
	p, err := New(Config{Decider: d, Resolver: &fakeResolver{table: map[string][]netip.Addr{"good.test": {loopback}}}})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "proxy.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(l) }()
	defer func() {
		p.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	u, _ := url.Parse("http://proxy.invalid")
	tr := &http.Transport{Proxy: http.ProxyURL(u), DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	resp, err := (&http.Client{Transport: tr}).Get(fmt.Sprintf("http://good.test:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "upstream GET") {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
}

func TestCloseEndsTunnels(t *testing.T) {
	// An upstream that holds the connection open.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	d, _ := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{AllowLocal: true, Domains: rules("allow 127.0.0.1")}})
	p, _ := New(Config{Decider: d, Resolver: &fakeResolver{}})
	pl, _ := net.Listen("tcp", "127.0.0.1:0")
	go p.Serve(pl)
	code, _, conn := rawConnect(t, pl.Addr().String(), fmt.Sprintf("127.0.0.1:%d", port))
	if code != 200 {
		t.Fatalf("CONNECT: %d", code)
	}
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on an open tunnel")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Errorf("the tunnel is still open after Close: %v", err)
	}
	if err := p.Serve(pl); err == nil {
		t.Error("Serve after Close")
	}
}

func TestBadRequests(t *testing.T) {
	e := startProxy(t, ir.Proxy{AllowLocal: true, Domains: rules("allow *")}, nil, nil)
	for _, raw := range []string{
		"GET / HTTP/1.1\r\nHost: x.test\r\n\r\n",                                   // origin form: not a proxy request
		"GET ftp://x.test/ HTTP/1.1\r\nHost: x.test\r\n\r\n",                       // scheme
		"CONNECT x.test HTTP/1.1\r\nHost: x.test\r\n\r\n",                          // no port
		"GET http://x.test:99999/ HTTP/1.1\r\nHost: x.test\r\n\r\n",                // port
		"GET http://x.test/ HTTP/1.1\r\nHost: x.test\r\nX-Unix-Socket: /s\r\n\r\n", // unix socket
	} {
		conn, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, raw)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if resp.StatusCode != 400 && resp.StatusCode != 501 {
			t.Errorf("%q: %d", raw, resp.StatusCode)
		}
	}
	if got := e.resolver.asked(); len(got) != 0 {
		t.Errorf("lookups %v", got)
	}
}

// A request to the proxy's own address is not forwarded to itself.
func TestNoLoopThroughItself(t *testing.T) {
	e := startProxy(t, ir.Proxy{SOCKS5: true, Domains: rules("allow 127.0.0.1")}, nil, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, self := range []string{e.addr, e.socks} {
			resp, err := e.client().Get("http://" + self + "/")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("GET the proxy itself: %d", resp.StatusCode)
			}
			if code, _, _ := rawConnect(t, e.addr, self); code != http.StatusBadGateway {
				t.Errorf("CONNECT the proxy itself: %d", code)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a request to the proxy itself hangs")
	}
}

func TestNewRefusesOtherModes(t *testing.T) {
	for _, n := range []ir.Network{{Mode: ir.NetworkNone}, {Mode: ir.NetworkFull}} {
		d, _ := ir.NewNetDecider(n)
		if _, err := New(Config{Decider: d}); err == nil {
			t.Errorf("%s: a proxy was built", n.Mode)
		}
	}
	if _, err := New(Config{}); err == nil {
		t.Error("a proxy without a decider")
	}
}

// rawConnect sends a CONNECT and returns the status, the headers and,
// on 200, the open tunnel.
func rawConnect(t *testing.T, proxyAddr, target string) (int, http.Header, net.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "CONNECT"})
	conn.SetReadDeadline(time.Time{})
	if err != nil {
		conn.Close()
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	if resp.StatusCode != 200 {
		conn.Close()
		return resp.StatusCode, resp.Header, nil
	}
	t.Cleanup(func() { conn.Close() })
	return resp.StatusCode, resp.Header, conn
}

func socksDial(t *testing.T, socksAddr, target string) (net.Conn, error) {
	t.Helper()
	d, err := xproxy.SOCKS5("tcp", socksAddr, nil, xproxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	return d.Dial("tcp", target)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
