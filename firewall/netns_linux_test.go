//go:build linux

package firewall

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The network tests run in two network namespaces they create: "inside"
// (the container: firewall, forwarder, clients) and "outside" (a test DNS
// server and test hosts), joined by a veth pair. Every address is a
// documentation address (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32).

const (
	envRole    = "POLC_FW_TEST_ROLE"
	envPeer    = "POLC_FW_TEST_PEER"
	envSpec    = "POLC_FW_TEST_SPEC"
	upstreamIP = "198.51.100.53"
	otherDNSIP = "198.51.100.54"
)

var hosts = []string{"192.0.2.10", "192.0.2.11", "192.0.2.12", "2001:db8::10"}

func TestMain(m *testing.M) {
	switch os.Getenv(envRole) {
	case "outside":
		runOutside()
		return
	case "apply":
		if err := runApply(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runApply is the "apply" child: it installs the ruleset and exits, so
// that the test sees the ruleset outlive the process that applied it.
func runApply() error {
	b, err := os.ReadFile(os.Getenv(envSpec))
	if err != nil {
		return err
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return Apply(&s, []netip.AddrPort{netip.MustParseAddrPort(upstreamIP + ":53")})
}

// runOutside is the outside namespace: it waits for its veth end to be
// configured, then serves DNS and the test hosts until killed.
func runOutside() {
	deadline := time.Now().Add(20 * time.Second)
	for !hasAddr(otherDNSIP) || !hasAddr("2001:db8::10") {
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "outside: the veth was never configured")
			os.Exit(1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		q := r.Question[0]
		recs, ok := zone[strings.ToLower(q.Name)]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, s := range recs {
			rr, err := dns.NewRR(s)
			if err == nil && (rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME) {
				m.Answer = append(m.Answer, rr)
			}
		}
		_ = w.WriteMsg(m)
	})
	// 192.0.2.10 also serves DNS: an address the firewall opens for an
	// allowed name must not become a way around the forwarder.
	for _, ip := range []string{upstreamIP, otherDNSIP, "192.0.2.10"} {
		for _, n := range []string{"udp", "tcp"} {
			s := &dns.Server{Addr: ip + ":53", Net: n, Handler: handler}
			go func() {
				if err := s.ListenAndServe(); err != nil {
					fmt.Fprintln(os.Stderr, "outside DNS:", err)
					os.Exit(1)
				}
			}()
		}
	}
	for _, h := range hosts {
		ln, err := net.Listen("tcp", net.JoinHostPort(h, "80"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "outside:", err)
			os.Exit(1)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				fmt.Fprintf(c, "hello from %s\n", h)
				c.Close()
			}
		}()
	}
	fmt.Println("ready")
	select {}
}

func hasAddr(ip string) bool {
	ifc, err := net.InterfaceByName("pfw1")
	if err != nil {
		return false
	}
	addrs, _ := ifc.Addrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().String() == ip {
			return true
		}
	}
	return false
}

func needNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespace tests need root")
	}
	for _, tool := range []string{"ip", "unshare", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("network namespace tests need %s", tool)
		}
	}
	if err := exec.Command("unshare", "-n", "true").Run(); err != nil {
		t.Skipf("cannot create a network namespace here: %v", err)
	}
}

// TestFirewallInNetns starts the outside namespace, then runs
// TestInsideNetns in a namespace of its own, wired to it.
func TestFirewallInNetns(t *testing.T) {
	if os.Getenv(envRole) != "" {
		t.Skip("runs from the top")
	}
	needNetns(t)
	outside := exec.Command("unshare", "-n", os.Args[0], "-test.run=^$")
	outside.Env = append(os.Environ(), envRole+"=outside")
	out, err := outside.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	outside.Stderr = os.Stderr
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = outside.Process.Kill()
		_ = outside.Wait()
	}()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
			}
		}
	}()
	inside := exec.Command("unshare", "-n", os.Args[0], "-test.run=^TestInsideNetns$", "-test.v")
	inside.Env = append(os.Environ(), envRole+"=inside", envPeer+"="+strconv.Itoa(outside.Process.Pid))
	b, err := inside.CombinedOutput()
	t.Logf("inside namespace:\n%s", b)
	if err != nil {
		t.Fatalf("the inside namespace's tests failed: %v", err)
	}
	if !strings.Contains(string(b), "--- PASS: TestInsideNetns") {
		t.Fatal("TestInsideNetns did not run")
	}
	select {
	case <-ready:
	default:
		t.Fatal("the outside namespace never served")
	}
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestInsideNetns(t *testing.T) {
	if os.Getenv(envRole) != "inside" {
		t.Skip("runs inside the namespace TestFirewallInNetns makes")
	}
	peer := os.Getenv(envPeer)
	in := func(args ...string) { run(t, append([]string{"nsenter", "-t", peer, "-n"}, args...)...) }
	run(t, "ip", "link", "set", "lo", "up")
	run(t, "ip", "link", "add", "pfw0", "type", "veth", "peer", "name", "pfw1", "netns", peer)
	run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "pfw0")
	run(t, "ip", "addr", "add", "198.51.100.1/24", "dev", "pfw0")
	run(t, "ip", "-6", "addr", "add", "2001:db8::1/64", "dev", "pfw0", "nodad")
	run(t, "ip", "link", "set", "pfw0", "up")
	in("ip", "link", "set", "lo", "up")
	for _, a := range []string{"192.0.2.10/24", "192.0.2.11/24", "192.0.2.12/24", "198.51.100.53/24"} {
		in("ip", "addr", "add", a, "dev", "pfw1")
	}
	in("ip", "-6", "addr", "add", "2001:db8::10/64", "dev", "pfw1", "nodad")
	in("ip", "link", "set", "pfw1", "up")
	in("ip", "addr", "add", otherDNSIP+"/24", "dev", "pfw1")

	// Before the firewall, everything is reachable: the tests below are
	// not passing because the network is broken.
	waitFor(t, func() bool { return dial("192.0.2.12") == nil && dial("2001:db8::10") == nil })
	if _, err := query(otherDNSIP+":53", "unlisted.example.org.", dns.TypeA); err != nil {
		t.Fatalf("outside DNS before the firewall: %v", err)
	}

	// Apply from a child process that exits: the ruleset outlives it.
	spec := testSpec(true, "127.0.0.1:53")
	b, _ := json.Marshal(spec)
	f := t.TempDir() + "/spec.json"
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	apply := exec.Command(os.Args[0], "-test.run=^$")
	apply.Env = append(os.Environ(), envRole+"=apply", envSpec+"="+f)
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	st, err := Status()
	if err != nil {
		t.Fatalf("status after the applying process exited: %v", err)
	}
	if st.Policy != "drop" || len(st.Rules) < 5 || len(st.Elements) != 0 {
		t.Fatalf("status = %+v", st)
	}
	for _, h := range hosts {
		if dial(h) == nil {
			t.Fatalf("%s reachable with no DNS answer behind it", h)
		}
	}

	sets, err := OpenSets()
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := NewForwarder(spec, []netip.AddrPort{netip.MustParseAddrPort(upstreamIP + ":53")}, sets)
	if err != nil {
		t.Fatal(err)
	}
	fwd.Log = func(s string) { t.Log("forwarder:", s) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := make(chan struct{})
	go func() {
		if err := fwd.Serve(ctx, func() { close(up) }); err != nil {
			t.Error(err)
		}
	}()
	<-up
	const local = "127.0.0.1:53"

	t.Run("allowed name resolves and connects", func(t *testing.T) {
		m := mustAnswer(t, local, "api.example.com.", dns.TypeA, "192.0.2.10")
		if ttl := m.Answer[0].Header().Ttl; ttl > 300 || ttl < 290 {
			t.Errorf("TTL %d", ttl)
		}
		if err := dial("192.0.2.10"); err != nil {
			t.Fatalf("connect after an allowed answer: %v", err)
		}
	})
	t.Run("unlisted name: no answer, address refused", func(t *testing.T) {
		mustRefuse(t, local, "unlisted.example.org.", dns.TypeA)
		if dial("192.0.2.12") == nil {
			t.Fatal("192.0.2.12 reachable")
		}
	})
	t.Run("denied domain wins over a wildcard allow", func(t *testing.T) {
		mustRefuse(t, local, "secret.corp.example.net.", dns.TypeA)
		mustRefuse(t, local, "alias.corp.example.net.", dns.TypeA) // an alias of the denied name
		mustAnswer(t, local, "build.corp.example.net.", dns.TypeA, "192.0.2.10")
		if dial("192.0.2.12") == nil {
			t.Fatal("192.0.2.12 reachable")
		}
	})
	t.Run("IPv6 denied until an allowed name gives the address", func(t *testing.T) {
		if dial("2001:db8::10") == nil {
			t.Fatal("IPv6 host reachable before any answer")
		}
		mustAnswer(t, local, "v6.example.com.", dns.TypeAAAA, "2001:db8::10")
		if err := dial("2001:db8::10"); err != nil {
			t.Fatalf("IPv6 connect after an allowed answer: %v", err)
		}
	})
	t.Run("direct DNS to another server is blocked", func(t *testing.T) {
		if err := dial("192.0.2.10"); err != nil {
			t.Fatalf("192.0.2.10 should be open by now: %v", err)
		}
		for _, s := range []string{otherDNSIP + ":53", upstreamIP + ":53", "192.0.2.10:53"} {
			if _, err := query(s, "api.example.com.", dns.TypeA); err == nil {
				t.Errorf("a direct query to %s was answered", s)
			}
		}
	})
	t.Run("rebinding answer dropped", func(t *testing.T) {
		// A second forwarder with local addresses not allowed, asked in
		// process (the ruleset lets DNS reach only the first one's
		// address); it queries the upstream through the firewall with
		// its marked sockets and writes to the same sets.
		strict, err := NewForwarder(testSpec(false, "127.0.0.1:53"), []netip.AddrPort{netip.MustParseAddrPort(upstreamIP + ":53")}, sets)
		if err != nil {
			t.Fatal(err)
		}
		if m := ask(strict, "rebind.example.com.", dns.TypeA); m.Rcode != dns.RcodeRefused || len(m.Answer) != 0 {
			t.Fatalf("rebinding answer passed: %v", m)
		}
		// Documentation addresses are not public either: with local
		// addresses not allowed, polc exec's proxy refuses them too.
		if m := ask(strict, "short.example.com.", dns.TypeA); m.Rcode != dns.RcodeRefused {
			t.Fatalf("a documentation address passed as public: %v", m)
		}
	})
	t.Run("a resolver on loopback other than the forwarder is blocked", func(t *testing.T) {
		// Like Docker's 127.0.0.11: it would answer any name.
		pc, err := net.ListenPacket("udp", "127.0.0.2:53")
		if err != nil {
			t.Fatal(err)
		}
		srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			_ = w.WriteMsg(m.SetReply(r))
		})}
		go func() { _ = srv.ActivateAndServe() }()
		defer srv.Shutdown()
		if _, err := query("127.0.0.2:53", "anything.example.org.", dns.TypeA); err == nil {
			t.Fatal("DNS to a loopback resolver other than the forwarder was answered")
		}
		if _, err := query(local, "api.example.com.", dns.TypeA); err != nil {
			t.Fatalf("the forwarder itself: %v", err)
		}
		st, err := Status()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range st.Elements {
			if e.Addr.IsLoopback() || e.Addr.String() == "192.0.2.11" {
				t.Fatalf("a dropped answer's address %s is in the set", e.Addr)
			}
		}
	})
	t.Run("address expires after its TTL and comes back", func(t *testing.T) {
		mustAnswer(t, local, "short.example.com.", dns.TypeA, "192.0.2.11")
		if err := dial("192.0.2.11"); err != nil {
			t.Fatalf("connect within the TTL: %v", err)
		}
		st, _ := Status()
		found := false
		for _, e := range st.Elements {
			if e.Addr.String() == "192.0.2.11" {
				found = e.Expires > 0 && e.Expires <= 2*time.Second
			}
		}
		if !found {
			t.Fatalf("192.0.2.11 not in the set with a ≤2s expiry: %+v", st.Elements)
		}
		time.Sleep(3 * time.Second)
		if dial("192.0.2.11") == nil {
			t.Fatal("192.0.2.11 still reachable after its TTL")
		}
		mustAnswer(t, local, "short.example.com.", dns.TypeA, "192.0.2.11")
		if err := dial("192.0.2.11"); err != nil {
			t.Fatalf("connect after a fresh answer: %v", err)
		}
	})
	t.Run("failure leaves egress denied", func(t *testing.T) {
		// Proxy mode without an upstream cannot be installed; the
		// deny-all table replaces the ruleset.
		if err := Apply(spec, nil); err == nil || !strings.Contains(err.Error(), "egress is denied") {
			t.Fatalf("Apply without upstreams = %v", err)
		}
		if dial("192.0.2.10") == nil {
			t.Fatal("192.0.2.10 reachable after a failed apply")
		}
		st, err := Status()
		if err != nil || st.Policy != "drop" {
			t.Fatalf("status after a failed apply: %+v, %v", st, err)
		}
	})
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the test network never came up")
}

func dial(host string) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, "80"), 700*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "hello from "+host+"\n" {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	return nil
}

func query(server, name string, qtype uint16) (*dns.Msg, error) {
	c := &dns.Client{Timeout: 700 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, server)
	return r, err
}

func mustAnswer(t *testing.T, server, name string, qtype uint16, want string) *dns.Msg {
	t.Helper()
	m, err := query(server, name, qtype)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
		t.Fatalf("%s: %s", name, m)
	}
	var got string
	switch rr := m.Answer[0].(type) {
	case *dns.A:
		got = rr.A.String()
	case *dns.AAAA:
		got = rr.AAAA.String()
	}
	if got != want {
		t.Fatalf("%s = %s, want %s", name, got, want)
	}
	return m
}

func mustRefuse(t *testing.T, server, name string, qtype uint16) {
	t.Helper()
	m, err := query(server, name, qtype)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if m.Rcode != dns.RcodeRefused || len(m.Answer) != 0 {
		t.Fatalf("%s: want REFUSED with no answer, got %s", name, m)
	}
}
