package firewall

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"polc/diag"
	"polc/ir"
)

// AddrSink opens addresses for a while: the nftables sets (Sets), or a
// recorder in tests.
type AddrSink interface {
	Allow(addrs []netip.Addr, ttl time.Duration) error
}

// Forwarder is polc's DNS forwarder: it answers only questions for names
// the policy allows, and opens the firewall to the answers' addresses.
type Forwarder struct {
	spec      *Spec
	decider   *ir.NetDecider
	upstreams []string
	sink      AddrSink
	client    *dns.Client
	tcpClient *dns.Client
	// Log, when set, receives one line per refused question or dropped
	// answer.
	Log func(string)

	mu    sync.Mutex
	cache map[cacheKey]cacheEntry
	now   func() time.Time
}

type cacheKey struct {
	name          string
	qtype, qclass uint16
}

type cacheEntry struct {
	msg     *dns.Msg
	stored  time.Time
	expires time.Time
}

// maxCache bounds the cache; when full it is emptied (answers are cheap
// to fetch again, and the set keeps its own timeouts).
const maxCache = 4096

// NewForwarder makes a forwarder for the spec, asking upstreams
// ("IP:port") in order and opening answers' addresses in sink.
func NewForwarder(s *Spec, upstreams []netip.AddrPort, sink AddrSink) (*Forwarder, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	d, err := ir.NewNetDecider(s.Network)
	if err != nil {
		return nil, err
	}
	if len(upstreams) == 0 && s.Network.Mode != ir.NetworkNone {
		return nil, diag.Errorf(diag.FirewallDNSFailed, "no upstream DNS server")
	}
	f := &Forwarder{spec: s, decider: d, sink: sink, cache: map[cacheKey]cacheEntry{}, now: time.Now}
	for _, u := range upstreams {
		f.upstreams = append(f.upstreams, u.String())
	}
	dialer := &net.Dialer{Timeout: 3 * time.Second, Control: markControl(s.Mark)}
	f.client = &dns.Client{Net: "udp", Dialer: dialer, Timeout: 3 * time.Second}
	f.tcpClient = &dns.Client{Net: "tcp", Dialer: dialer, Timeout: 3 * time.Second}
	return f, nil
}

func (f *Forwarder) logf(format string, args ...any) {
	if f.Log != nil {
		f.Log(fmt.Sprintf(format, args...))
	}
}

// Decide is the forwarder's verdict on a name before any lookup: the
// network decision for a connection to it (port 443, GET, so that
// limited mode does not refuse the name itself).
func (f *Forwarder) Decide(name string) ir.NetDecision {
	return f.decider.DecideNet(strings.TrimSuffix(name, "."), 443, "GET")
}

// ServeDNS implements dns.Handler.
func (f *Forwarder) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	_ = w.WriteMsg(f.Answer(r))
}

// Answer answers one query: REFUSED for a name the policy does not
// allow or an answer dropped as rebinding, SERVFAIL when no upstream
// answers or the addresses cannot be opened, otherwise the upstream's
// answer (from the cache while it is fresh), with TTLs capped at MaxTTL.
func (f *Forwarder) Answer(r *dns.Msg) *dns.Msg {
	reply := new(dns.Msg)
	if len(r.Question) != 1 || r.Opcode != dns.OpcodeQuery {
		return reply.SetRcode(r, dns.RcodeFormatError)
	}
	q := r.Question[0]
	dec := f.Decide(q.Name)
	if !dec.Allowed {
		f.logf("refused %s: %s", q.Name, dec.Explain())
		return reply.SetRcode(r, dns.RcodeRefused)
	}
	key := cacheKey{strings.ToLower(q.Name), q.Qtype, q.Qclass}
	if m := f.cached(key); m != nil {
		// The client's own ID and question, letter case included (a
		// client using 0x20 randomisation checks it).
		m.Id = r.Id
		m.Question = []dns.Question{q}
		return m
	}
	up, err := f.exchange(r)
	if err != nil {
		f.logf("no upstream answered %s: %v", q.Name, err)
		return reply.SetRcode(r, dns.RcodeServerFailure)
	}
	up.Id = r.Id
	if name, d := f.deniedInChain(up); name != "" {
		f.logf("dropped the answer for %s: it leads through %s, which a deny rule names (%s)", q.Name, name, d.Explain())
		return reply.SetRcode(r, dns.RcodeRefused)
	}
	addrs, minTTL := f.addrs(up)
	if len(addrs) > 0 {
		if d := dec.WithAddrs(addrs); !d.Allowed {
			f.logf("dropped the answer for %s: %s", q.Name, d.Detail)
			return reply.SetRcode(r, dns.RcodeRefused)
		}
		if err := f.open(up); err != nil {
			f.logf("could not open the addresses of %s: %v", q.Name, err)
			return reply.SetRcode(r, dns.RcodeServerFailure)
		}
	}
	if up.Rcode == dns.RcodeSuccess && len(up.Answer) > 0 && minTTL > 0 {
		f.store(key, up, minTTL)
	}
	return up
}

// deniedInChain returns a name in the answer section (an alias target or
// a record's owner) that a deny rule matches: an allowed name that is an
// alias of a denied one must not open the denied one's addresses. Names
// no rule allows are fine here (a CDN alias is the usual case); only
// deny rules win over the question's allow.
func (f *Forwarder) deniedInChain(m *dns.Msg) (string, ir.NetDecision) {
	for _, rr := range m.Answer {
		names := []string{rr.Header().Name}
		switch v := rr.(type) {
		case *dns.CNAME:
			names = append(names, v.Target)
		case *dns.DNAME:
			names = append(names, v.Target)
		}
		for _, n := range names {
			if d := f.Decide(n); !d.Allowed && d.Reason == ir.ReasonDenied {
				return n, d
			}
		}
	}
	return "", ir.NetDecision{}
}

// addrs lists the A and AAAA records of the answer section, capping
// every record's TTL at MaxTTL, and returns the smallest TTL.
func (f *Forwarder) addrs(m *dns.Msg) ([]netip.Addr, uint32) {
	var out []netip.Addr
	minTTL := uint32(f.spec.MaxTTL)
	for _, rr := range m.Answer {
		h := rr.Header()
		if h.Ttl > uint32(f.spec.MaxTTL) {
			h.Ttl = uint32(f.spec.MaxTTL)
		}
		if h.Ttl < minTTL {
			minTTL = h.Ttl
		}
		if a, ok := rrAddr(rr); ok {
			out = append(out, a)
		}
	}
	return out, minTTL
}

// rrAddr is the address an A or AAAA record gives; ok is false for
// every other record.
func rrAddr(rr dns.RR) (a netip.Addr, ok bool) {
	var ip net.IP
	switch v := rr.(type) {
	case *dns.A:
		ip = v.A
	case *dns.AAAA:
		ip = v.AAAA
	default:
		return netip.Addr{}, false
	}
	a, ok = netip.AddrFromSlice(ip)
	return a.Unmap(), ok
}

// open passes each address to the sink with its own record's TTL (at
// least one second, so that a TTL-0 answer can still be used once).
func (f *Forwarder) open(m *dns.Msg) error {
	byTTL := map[uint32][]netip.Addr{}
	for _, rr := range m.Answer {
		if a, ok := rrAddr(rr); ok {
			ttl := max(rr.Header().Ttl, 1)
			byTTL[ttl] = append(byTTL[ttl], a)
		}
	}
	for ttl, as := range byTTL {
		if err := f.sink.Allow(as, time.Duration(ttl)*time.Second); err != nil {
			return err
		}
	}
	return nil
}

func (f *Forwarder) exchange(r *dns.Msg) (*dns.Msg, error) {
	q := r.Copy()
	var errs []error
	for _, u := range f.upstreams {
		m, _, err := f.client.Exchange(q, u)
		if err == nil && m.Truncated {
			m, _, err = f.tcpClient.Exchange(q, u)
		}
		if err == nil {
			return m, nil
		}
		errs = append(errs, fmt.Errorf("%s: %v", u, err))
	}
	if len(errs) == 0 {
		return nil, errors.New("no upstream server")
	}
	return nil, errors.Join(errs...)
}

// cached returns a copy of a fresh cached answer with its TTLs lowered by
// the time it spent in the cache. The set elements for its addresses
// were given at least that long when it was stored.
func (f *Forwarder) cached(k cacheKey) *dns.Msg {
	f.mu.Lock()
	e, ok := f.cache[k]
	f.mu.Unlock()
	now := f.now()
	if !ok || !now.Before(e.expires) {
		return nil
	}
	age := uint32(now.Sub(e.stored) / time.Second)
	m := e.msg.Copy()
	for _, rr := range m.Answer {
		rr.Header().Ttl -= min(age, rr.Header().Ttl)
	}
	return m
}

func (f *Forwarder) store(k cacheKey, m *dns.Msg, ttl uint32) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.cache) >= maxCache {
		clear(f.cache)
	}
	f.cache[k] = cacheEntry{msg: m.Copy(), stored: now, expires: now.Add(time.Duration(ttl) * time.Second)}
}

// Serve answers on the spec's Listen address, over UDP and TCP, until
// ctx is done. ready, when set, is called once both listeners are up.
func (f *Forwarder) Serve(ctx context.Context, ready func()) error {
	pc, err := net.ListenPacket("udp", f.spec.Listen)
	if err != nil {
		return diag.Errorf(diag.FirewallDNSFailed, "DNS forwarder: %v", err)
	}
	ln, err := net.Listen("tcp", f.spec.Listen)
	if err != nil {
		pc.Close()
		return diag.Errorf(diag.FirewallDNSFailed, "DNS forwarder: %v", err)
	}
	servers := []*dns.Server{{PacketConn: pc, Handler: f}, {Listener: ln, Handler: f}}
	errc := make(chan error, 2)
	var started sync.WaitGroup
	started.Add(2)
	for _, s := range servers {
		s.NotifyStartedFunc = started.Done
		go func() { errc <- s.ActivateAndServe() }()
	}
	go func() {
		started.Wait()
		if ready != nil {
			ready()
		}
	}()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	for _, s := range servers {
		_ = s.Shutdown()
	}
	if err != nil {
		return diag.Errorf(diag.FirewallDNSFailed, "DNS forwarder: %v", err)
	}
	return nil
}
