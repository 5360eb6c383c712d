package netproxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"polc/ir"
)

// The proxy's decision equals ir.DecideNet (finished by WithAddrs with
// what the resolver answered) on random domain policies, hosts and
// methods, over HTTP forwarding, CONNECT and SOCKS5 alike; an allowed
// request connects only to an address the resolver gave.
func TestProxyAgreesWithDecideNet(t *testing.T) {
	_, port := upstream(t)
	labels := []string{"a", "b", "ab", "test"}
	r := rand.New(rand.NewSource(10))
	pattern := func() string {
		n := 1 + r.Intn(3)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = labels[r.Intn(len(labels))]
			if r.Intn(10) == 0 {
				parts[i] = parts[i][:1] + "*"
			}
		}
		p := strings.Join(parts, ".")
		switch r.Intn(5) {
		case 0:
			p = "*." + p
		case 1:
			p = "**." + p
		case 2:
			if r.Intn(4) == 0 {
				p = []string{"10.1.2.3", "93.184.215.7", "127.0.0.1", "localhost"}[r.Intn(4)]
			}
		}
		return p
	}
	host := func() string {
		if r.Intn(6) == 0 {
			return []string{"10.1.2.3", "93.184.215.7", "127.0.0.1", "localhost", "[::1]"}[r.Intn(5)]
		}
		n := 1 + r.Intn(3)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = labels[r.Intn(len(labels))]
		}
		return strings.Join(parts, ".")
	}
	// Names resolve by hash: a public address, a private one, both, or
	// nothing.
	resolve := func(h string) []netip.Addr {
		f := fnv.New32a()
		f.Write([]byte(h))
		switch f.Sum32() % 4 {
		case 0:
			return []netip.Addr{netip.MustParseAddr("93.184.215.14")}
		case 1:
			return []netip.Addr{netip.MustParseAddr("10.0.0.9")}
		case 2:
			return []netip.Addr{netip.MustParseAddr("93.184.215.15"), netip.MustParseAddr("192.168.1.1")}
		}
		return nil
	}
	table := map[string][]netip.Addr{}
	for _, a := range labels {
		for _, b := range append(labels, "") {
			for _, c := range append(labels, "") {
				h := strings.Trim(strings.Join([]string{a, b, c}, "."), ".")
				h = strings.ReplaceAll(strings.ReplaceAll(h, "..", "."), "..", ".")
				if addrs := resolve(h); addrs != nil {
					table[h] = addrs
				}
			}
		}
	}
	table["localhost"] = []netip.Addr{netip.MustParseAddr("127.0.0.1")}

	checked := 0
	for iter := 0; iter < 60; iter++ {
		var rs []ir.DomainRule
		for i := 1 + r.Intn(5); i > 0; i-- {
			a := ir.DomainAllow
			if r.Intn(3) == 0 {
				a = ir.DomainDeny
			}
			rs = append(rs, ir.DomainRule{Pattern: ir.NormalizeDomainPattern(pattern()), Action: a})
		}
		if r.Intn(8) == 0 {
			rs = append(rs, ir.DomainRule{Pattern: "*", Action: ir.DomainAllow})
		}
		px := ir.Proxy{Domains: rs, AllowLocal: r.Intn(2) == 0, SOCKS5: true}
		if r.Intn(3) == 0 {
			px.Methods = ir.MethodsLimited
		}
		d, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &px})
		if err != nil {
			continue // a random global deny
		}
		rd := &recordingDial{to: fmt.Sprintf("127.0.0.1:%d", port)}
		e := startProxy(t, px, table, func(c *Config) { c.Dial = rd.dial })
		client := e.client()
		for j := 0; j < 12; j++ {
			h := host()
			method := []string{"GET", "POST", "HEAD", ir.MethodConnect, ir.MethodSOCKS5}[r.Intn(5)]
			want := d.DecideNet(h, port, method)
			unreachable := false
			var addrs []netip.Addr
			if want.Allowed {
				if a, err := netip.ParseAddr(want.Host); err == nil {
					addrs = []netip.Addr{a}
				} else {
					addrs = table[want.Host]
				}
				unreachable = len(addrs) == 0 && !want.CheckAddrs
				want = want.WithAddrs(addrs)
			}
			before := len(rd.calls())
			nRefused := len(e.refusals())
			got := observe(t, e, client, method, h, port)
			what := fmt.Sprintf("policy %+v: %s %s", rs, method, h)
			switch {
			case unreachable:
				if got != "unreachable" {
					t.Fatalf("%s: got %s, want unreachable (502)", what, got)
				}
			case want.Allowed:
				if got != "allowed" {
					t.Fatalf("%s: got %s, want allowed (%s)", what, got, want.Explain())
				}
				// Forwarded HTTP may reuse a kept-alive connection the
				// proxy dialed for the same host before.
				calls := rd.calls()
				reused := len(calls) == before && (method == "GET" || method == "POST" || method == "HEAD")
				if !reused && (len(calls) != before+1 || !dialedOneOf(calls[len(calls)-1], addrs)) {
					t.Fatalf("%s: dialed %v, want one of %v", what, calls[before:], addrs)
				}
			default:
				if got != want.Reason {
					t.Fatalf("%s: got %s, want refused %s (%s)", what, got, want.Reason, want.Explain())
				}
				if len(rd.calls()) != before {
					t.Fatalf("%s: refused, yet dialed %v", what, rd.calls()[before:])
				}
				if refs := e.refusals(); len(refs) != nRefused+1 || refs[len(refs)-1].Decision.Reason != want.Reason {
					t.Fatalf("%s: refusals %v", what, refs[nRefused:])
				}
			}
			checked++
		}
		e.proxy.Close()
	}
	if checked < 500 {
		t.Fatalf("only %d requests checked", checked)
	}
}

func dialedOneOf(addr string, addrs []netip.Addr) bool {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if ap.Addr() == a {
			return true
		}
	}
	return false
}

// observe makes one request through the proxy and reports "allowed",
// "unreachable", or the refusal reason the proxy gave.
func observe(t *testing.T, e *env, client *http.Client, method, host string, port int) string {
	t.Helper()
	authority := net.JoinHostPort(strings.Trim(host, "[]"), fmt.Sprint(port))
	switch method {
	case ir.MethodSOCKS5:
		n := len(e.refusals())
		c, err := socksDial(t, e.socks, authority)
		if err == nil {
			c.Close()
			return "allowed"
		}
		if refs := e.refusals(); len(refs) > n {
			return refs[len(refs)-1].Decision.Reason
		}
		return "unreachable"
	case ir.MethodConnect:
		conn, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", authority, authority)
		resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "CONNECT"})
		if err != nil {
			t.Fatal(err)
		}
		return outcome(t, e, resp)
	}
	req, _ := http.NewRequest(method, "http://"+authority+"/", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return outcome(t, e, resp)
}

func outcome(t *testing.T, e *env, resp *http.Response) string {
	switch resp.StatusCode {
	case http.StatusOK:
		return "allowed"
	case http.StatusBadGateway:
		return "unreachable"
	case http.StatusForbidden:
		var b Blocked
		body, _ := io.ReadAll(resp.Body)
		if len(body) == 0 && resp.Request != nil && resp.Request.Method == "HEAD" {
			// No body for HEAD: the reason is the logged one.
			refs := e.refusals()
			b.Reason = refs[len(refs)-1].Decision.Reason
		} else if err := json.Unmarshal(body, &b); err != nil {
			t.Fatalf("403 body %q: %v", body, err)
		}
		if resp.Header.Get("X-Proxy-Error") != HeaderValue(b.Reason) {
			t.Fatalf("x-proxy-error %q for reason %q", resp.Header.Get("X-Proxy-Error"), b.Reason)
		}
		return b.Reason
	}
	return fmt.Sprintf("status %d", resp.StatusCode)
}
