package netproxy

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"testing"
	"time"

	"polc/ir"
)

// sink accepts connections on loopback, reads each to EOF, and answers
// the sha256 of what it read (hash) or 32 zero bytes, then closes.
func sink(tb testing.TB, hash bool) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if !hash {
					io.Copy(io.Discard, c)
					c.Write(make([]byte, sha256.Size))
					return
				}
				h := sha256.New()
				io.Copy(h, c)
				c.Write(h.Sum(nil))
			}()
		}
	}()
	return l.Addr().String()
}

// send writes n bytes of data (repeated) on c, half-closes it and
// returns the sink's digest.
func send(tb testing.TB, c net.Conn, data []byte, n int) []byte {
	tb.Helper()
	for sent := 0; sent < n; {
		k := min(len(data), n-sent)
		if _, err := c.Write(data[:k]); err != nil {
			tb.Fatal(err)
		}
		sent += k
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	sum := make([]byte, sha256.Size)
	if _, err := io.ReadFull(c, sum); err != nil {
		tb.Fatal(err)
	}
	return sum
}

func connectTo(tb testing.TB, proxyAddr, target string) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("CONNECT %s: %v %v", target, resp, err)
	}
	if br.Buffered() > 0 {
		tb.Fatal("bytes after the CONNECT answer")
	}
	return c
}

func benchProxy(tb testing.TB) string {
	d, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{
		Domains: []ir.DomainRule{{Pattern: "127.0.0.1", Action: ir.DomainAllow}}}})
	if err != nil {
		tb.Fatal(err)
	}
	p, err := New(Config{Decider: d, Resolver: &fakeResolver{}})
	if err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go p.Serve(l)
	tb.Cleanup(func() { p.Close() })
	return l.Addr().String()
}

func TestConnectCarriesBytesIntact(t *testing.T) {
	target := sink(t, true)
	paddr := benchProxy(t)
	data := make([]byte, 1<<20)
	rand.New(rand.NewSource(4)).Read(data)
	const n = 16<<20 + 12345
	want := sha256.New()
	for sent := 0; sent < n; {
		k := min(len(data), n-sent)
		want.Write(data[:k])
		sent += k
	}
	c := connectTo(t, paddr, target)
	defer c.Close()
	if got := send(t, c, data, n); string(got) != string(want.Sum(nil)) {
		t.Error("the tunnel changed the bytes")
	}
}

// BenchmarkCONNECT100MB sends 100 MB to a loopback sink directly and
// through a CONNECT tunnel, side by side in each iteration, and reports
// both throughputs and their ratio (target: tunnel ≥ 0.5× direct).
func BenchmarkCONNECT100MB(b *testing.B) {
	const n = 100 << 20
	target := sink(b, false)
	paddr := benchProxy(b)
	data := make([]byte, 1<<20)
	rand.New(rand.NewSource(5)).Read(data)
	var direct, tunnel time.Duration
	b.SetBytes(n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		c, err := net.Dial("tcp", target)
		if err != nil {
			b.Fatal(err)
		}
		send(b, c, data, n)
		c.Close()
		direct += time.Since(start)

		start = time.Now()
		c = connectTo(b, paddr, target)
		send(b, c, data, n)
		c.Close()
		tunnel += time.Since(start)
	}
	mb := float64(n) * float64(b.N) / (1 << 20)
	b.ReportMetric(mb/direct.Seconds(), "direct-MB/s")
	b.ReportMetric(mb/tunnel.Seconds(), "tunnel-MB/s")
	b.ReportMetric(direct.Seconds()/tunnel.Seconds(), "tunnel/direct")
}
