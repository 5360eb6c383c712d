package netproxy

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	xproxy "golang.org/x/net/proxy"

	"polc/ir"
)

func envMap(kvs []string) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func TestEnv(t *testing.T) {
	// Defaults: the reference's ports, no SOCKS5.
	m := envMap(Env(ir.Proxy{}))
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy",
		"npm_config_proxy", "NPM_CONFIG_HTTPS_PROXY", "YARN_HTTPS_PROXY", "PIP_PROXY", "BUNDLE_HTTP_PROXY", "DOCKER_HTTPS_PROXY", "WSS_PROXY", "FTP_PROXY"} {
		if m[k] != "http://127.0.0.1:3128" {
			t.Errorf("%s = %q, want the HTTP proxy on the default port", k, m[k])
		}
	}
	for _, k := range []string{"NO_PROXY", "no_proxy", "npm_config_noproxy", "YARN_NO_PROXY", "BUNDLE_NO_PROXY"} {
		if m[k] != "localhost,127.0.0.1,::1" {
			t.Errorf("%s = %q", k, m[k])
		}
	}
	if m["CODEX_NETWORK_PROXY_ACTIVE"] != "1" || m["CODEX_NETWORK_ALLOW_LOCAL_BINDING"] != "0" || m["NODE_USE_ENV_PROXY"] != "1" {
		t.Errorf("markers: %v", m)
	}
	if len(m) != len(EnvKeys) {
		t.Errorf("Env sets %d variables, EnvKeys lists %d", len(m), len(EnvKeys))
	}

	// SOCKS5 switches ALL_PROXY and FTP_PROXY only; ports are the policy's.
	m = envMap(Env(ir.Proxy{SOCKS5: true, HTTPPort: 4000, SOCKSPort: 4001, AllowLocal: true}))
	if m["HTTPS_PROXY"] != "http://127.0.0.1:4000" || m["ALL_PROXY"] != "socks5h://127.0.0.1:4001" || m["ftp_proxy"] != "socks5h://127.0.0.1:4001" {
		t.Errorf("with SOCKS5: %v", m)
	}
	if m["CODEX_NETWORK_ALLOW_LOCAL_BINDING"] != "1" {
		t.Errorf("allow local: %q", m["CODEX_NETWORK_ALLOW_LOCAL_BINDING"])
	}

	// Sorted, one per key.
	kvs := Env(ir.Proxy{})
	for i := 1; i < len(kvs); i++ {
		if kvs[i-1] >= kvs[i] {
			t.Errorf("not sorted: %q before %q", kvs[i-1], kvs[i])
		}
	}
}

func TestWithEnv(t *testing.T) {
	base := []string{"PATH=/bin", "Http_Proxy=http://stale:1", "HTTPS_PROXY=http://user:9", "HOME=/h", "NOVALUE"}
	got := WithEnv(base, Env(ir.Proxy{}))
	m := envMap(got)
	if _, ok := m["Http_Proxy"]; ok {
		t.Errorf("a differently cased proxy variable survived: %v", got)
	}
	if m["HTTPS_PROXY"] != "http://127.0.0.1:3128" || m["PATH"] != "/bin" || m["HOME"] != "/h" {
		t.Errorf("WithEnv: %v", got)
	}
	if _, ok := m["NOVALUE"]; !ok {
		t.Errorf("an entry without = was dropped: %v", got)
	}
	n := 0
	for _, kv := range got {
		if strings.HasPrefix(kv, "HTTPS_PROXY=") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("HTTPS_PROXY set %d times", n)
	}
	if base[1] != "Http_Proxy=http://stale:1" {
		t.Errorf("base was modified")
	}
}

// freePorts returns n distinct loopback ports nothing listened on a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var out []int
	for len(out) < n {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

func startLoopback(t *testing.T, px ir.Proxy, table map[string][]netip.Addr) (*Loopback, func() []Refusal) {
	t.Helper()
	d, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &px})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var refused []Refusal
	lb, err := StartLoopback(Config{Decider: d, Resolver: &fakeResolver{table: table}, DialTimeout: 2 * time.Second,
		OnRefusal: func(r Refusal) { mu.Lock(); refused = append(refused, r); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lb.Close() })
	return lb, func() []Refusal { mu.Lock(); defer mu.Unlock(); return append([]Refusal(nil), refused...) }
}

func hasIPv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// TestLoopbackServesTheCommandsEnv runs the launch's whole path: the
// command's client reads Env's variables, reaches the proxy on the
// policy's loopback port, and gets the policy's decision.
func TestLoopbackServesTheCommandsEnv(t *testing.T) {
	_, upPort := upstream(t)
	ports := freePorts(t, 2)
	px := ir.Proxy{HTTPPort: ports[0], SOCKSPort: ports[1], SOCKS5: true, AllowLocal: true,
		Domains: rules("allow *.example.test", "deny bad.example.test")}
	lb, refused := startLoopback(t, px, map[string][]netip.Addr{"good.example.test": {loopback}, "bad.example.test": {loopback}})

	// The proxy listens where Env says, on both loopback addresses when
	// the host has IPv6 loopback.
	want := map[string]bool{net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])): true, net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])): true}
	if hasIPv6Loopback() {
		want[net.JoinHostPort("::1", strconv.Itoa(ports[0]))] = true
		want[net.JoinHostPort("::1", strconv.Itoa(ports[1]))] = true
	}
	got := map[string]bool{}
	for _, a := range lb.addrs() {
		got[a.String()] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listens on %v, want %v", got, want)
	}

	m := envMap(lb.Env())
	hu, err := url.Parse(m["HTTP_PROXY"])
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(hu)}}
	get := func(host string) (int, string) {
		resp, err := client.Get(fmt.Sprintf("http://%s:%d/", host, upPort))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("good.example.test"); code != 200 || !strings.HasPrefix(body, "upstream GET") {
		t.Errorf("allowed host: %d %q", code, body)
	}
	if code, _ := get("bad.example.test"); code != http.StatusForbidden {
		t.Errorf("denied host: %d", code)
	}
	if refs := refused(); len(refs) != 1 || refs[0].Decision.Reason != ir.ReasonDenied {
		t.Errorf("refusals: %v", refs)
	}

	// ALL_PROXY is the SOCKS5 listener, which decides too.
	su, err := url.Parse(m["ALL_PROXY"])
	if err != nil || su.Scheme != "socks5h" {
		t.Fatalf("ALL_PROXY %q", m["ALL_PROXY"])
	}
	d, err := xproxy.SOCKS5("tcp", su.Host, nil, xproxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Dial("tcp", fmt.Sprintf("good.example.test:%d", upPort))
	if err != nil {
		t.Fatalf("SOCKS5 to an allowed host: %v", err)
	}
	c.Close()
	if _, err := d.Dial("tcp", fmt.Sprintf("other.test:%d", upPort)); err == nil {
		t.Errorf("SOCKS5 to a host no rule allows was connected")
	}

	// Close stops every listener.
	if err := lb.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, a := range lb.addrs() {
		if c, err := net.DialTimeout("tcp", a.String(), time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts after Close", a)
		}
	}
}

func TestLoopbackWithoutSOCKS(t *testing.T) {
	ports := freePorts(t, 1)
	lb, _ := startLoopback(t, ir.Proxy{HTTPPort: ports[0]}, nil)
	for _, a := range lb.addrs() {
		if a.(*net.TCPAddr).Port != ports[0] {
			t.Errorf("listens on %s: only the HTTP port was promised", a)
		}
	}
	if m := envMap(lb.Env()); m["ALL_PROXY"] != HTTPURL(ports[0]) {
		t.Errorf("ALL_PROXY %q without SOCKS5", m["ALL_PROXY"])
	}
}

// TestLoopbackFailsClosed: a port someone else holds, on either loopback
// address, or colliding ports, fail the start and leave nothing open.
func TestLoopbackFailsClosed(t *testing.T) {
	d := func(px ir.Proxy) *ir.NetDecider {
		dd, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &px})
		if err != nil {
			t.Fatal(err)
		}
		return dd
	}
	// The SOCKS5 port is taken: the HTTP listener it opened first is closed again.
	ports := freePorts(t, 1)
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	_, err = StartLoopback(Config{Decider: d(ir.Proxy{HTTPPort: ports[0], SOCKSPort: busyPort, SOCKS5: true})})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d", busyPort)) {
		t.Fatalf("busy SOCKS5 port: %v", err)
	}
	if c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", ports[0]), time.Second); err == nil {
		c.Close()
		t.Errorf("the HTTP listener stayed open after the start failed")
	}

	// Colliding ports.
	if _, err := StartLoopback(Config{Decider: d(ir.Proxy{HTTPPort: ports[0], SOCKSPort: ports[0], SOCKS5: true})}); err == nil {
		t.Errorf("HTTP and SOCKS5 on one port started")
	}
	// Colliding ports without SOCKS5 are fine: only HTTP listens.
	lb, err := StartLoopback(Config{Decider: d(ir.Proxy{HTTPPort: ports[0], SOCKSPort: ports[0]})})
	if err != nil {
		t.Errorf("HTTP only: %v", err)
	} else {
		lb.Close()
	}

	// Not a proxy network.
	none, _ := ir.NewNetDecider(ir.Network{Mode: ir.NetworkNone})
	if _, err := StartLoopback(Config{Decider: none}); err == nil {
		t.Errorf("started for a policy without a proxy network")
	}

	// Someone answers on [::1] at the port: the sandbox could reach them.
	if !hasIPv6Loopback() {
		t.Log("no IPv6 loopback: the [::1] case is not exercised")
		return
	}
	other, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	go func() {
		for {
			c, err := other.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	p6 := other.Addr().(*net.TCPAddr).Port
	l4, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p6))
	if err != nil {
		t.Skipf("127.0.0.1:%d is taken: %v", p6, err)
	}
	l4.Close()
	_, err = StartLoopback(Config{Decider: d(ir.Proxy{HTTPPort: p6})})
	if err == nil || !strings.Contains(err.Error(), "[::1]") {
		t.Errorf("[::1] held by another program: %v", err)
	}
	if c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", p6), time.Second); err == nil {
		c.Close()
		t.Errorf("the IPv4 listener stayed open after the start failed")
	}
}

// BenchmarkStartLoopback is what a macOS or Windows launch pays for its
// proxy: start on both loopback addresses (HTTP and SOCKS5), then stop.
func BenchmarkStartLoopback(b *testing.B) {
	var ls []net.Listener
	var ports []int
	for len(ports) < 2 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	px := ir.Proxy{HTTPPort: ports[0], SOCKSPort: ports[1], SOCKS5: true, Domains: rules("allow *.example.test")}
	d, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &px})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lb, err := StartLoopback(Config{Decider: d})
		if err != nil {
			b.Fatal(err)
		}
		lb.Close()
	}
}

// addrs are the addresses the proxy listens on.
func (lb *Loopback) addrs() []net.Addr {
	out := make([]net.Addr, len(lb.ls))
	for i, l := range lb.ls {
		out[i] = l.Addr()
	}
	return out
}
