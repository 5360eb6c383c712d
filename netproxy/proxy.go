// Package netproxy is polc's egress proxy: the only way out of a sandbox
// whose network is a proxy-only network (ir.NetworkProxy). It serves an
// HTTP forward proxy (plain-HTTP forwarding and CONNECT tunnels) and,
// when the policy enables it, SOCKS5 with remote name resolution
// (socks5h), on listeners the caller provides: a TCP listener on
// loopback, or a Unix socket a launcher bridges into the sandbox.
//
// Every request is decided by ir.NetDecider.DecideNet, the single
// statement of what may leave. A refused request gets what the reference
// (Codex's network proxy) answers: 403, an x-proxy-error header
// (blocked-by-denylist, blocked-by-allowlist, blocked-by-method-policy,
// blocked-by-policy) and a JSON body with status "blocked", host, reason
// and message, to which polc adds the port, the method and the rule (or
// setting) that refused it. A SOCKS5 refusal is reply code 2, "connection
// not allowed by ruleset". Each refusal is reported once to
// Config.OnRefusal, one line with the host, the reason and the rule. An
// allowed destination that cannot be resolved or reached gets 502 (SOCKS5
// host unreachable) within twice Config.DialTimeout (resolving, then
// connecting).
//
// The proxy resolves names itself, only once a name is allowed (a refused
// name never reaches DNS), refuses a name resolving to any loopback,
// private, link-local or other non-public address unless the policy
// allows local addresses, and then connects to the addresses it checked:
// there is no second lookup a rebinding DNS server could answer
// differently. In limited mode CONNECT and SOCKS5 are refused, since a
// tunnel could carry any method. The resolver and the dialer are
// injectable, so tests never leave loopback.
//
// It is built on net/http and net/http/httputil rather than a proxy
// library such as github.com/elazarl/goproxy: the proxy must decide
// before any lookup, dial exactly the addresses it checked, and answer a
// refused CONNECT with its own 403, headers and body. goproxy resolves
// and dials through its own transport and answers a rejected CONNECT
// with a fixed response, so it would be bent around all three; net/http
// gives them directly (Hijacker for tunnels, ReverseProxy for forwarding
// with hop-by-hop header handling, a Transport whose DialContext is
// ours), with no new dependency. No maintained Go SOCKS5 server library
// lets the decision run before its own name resolution, so the SOCKS5
// server (CONNECT only, no authentication) is the small socks.go;
// golang.org/x/net/proxy, a SOCKS5 client, tests it.
package netproxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"polc/ir"
)

// Resolver looks names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc opens a connection to address (an IP:port the proxy checked).
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Config configures a Proxy. Decider is required.
type Config struct {
	Decider *ir.NetDecider
	// Resolver resolves allowed names; nil means net.DefaultResolver.
	Resolver Resolver
	// Dial connects to a checked address; nil means a net.Dialer.
	Dial DialFunc
	// DialTimeout bounds resolving a name, and then connecting to its
	// addresses (default 10 s each): an unreachable destination gets 502
	// within twice that.
	DialTimeout time.Duration
	// HandshakeTimeout bounds reading a request's headers or a SOCKS5
	// handshake (default 30 s).
	HandshakeTimeout time.Duration
	// OnRefusal, if set, is called once per refused request.
	OnRefusal func(Refusal)
}

// Refusal is one refused request.
type Refusal struct {
	Time time.Time `json:"time"`
	// Protocol is http, connect or socks5.
	Protocol string `json:"protocol"`
	// Client is the client's address as the listener reports it.
	Client   string         `json:"client,omitempty"`
	Decision ir.NetDecision `json:"decision"`
}

// String is the one line a user sees: protocol, method, host:port,
// reason, and the rule or setting responsible.
func (r Refusal) String() string {
	return "polc: network: " + r.Protocol + " " + r.Decision.Explain()
}

// Proxy is a running egress proxy. Serve and ServeSOCKS5 may be called
// for several listeners; Close stops them all and ends open tunnels.
type Proxy struct {
	cfg      Config
	resolver Resolver
	dial     DialFunc
	rp       *httputil.ReverseProxy
	tr       *http.Transport

	mu        sync.Mutex
	closed    bool
	servers   map[*http.Server]bool
	listeners map[net.Listener]bool
	conns     map[net.Conn]bool
	// self are the TCP addresses the proxy listens on: it never connects
	// to them: a tunnel through the proxy to itself reaches nothing.
	self map[netip.AddrPort]bool
	wg   sync.WaitGroup
}

type ctxKey struct{}

// target is what a request was allowed to reach.
type target struct {
	addrs []netip.AddrPort
}

// New checks cfg and returns a Proxy that serves nothing yet.
func New(cfg Config) (*Proxy, error) {
	if cfg.Decider == nil {
		return nil, errors.New("netproxy: no decider")
	}
	if cfg.Decider.Mode() != ir.NetworkProxy {
		return nil, fmt.Errorf("netproxy: the policy's network is %q, not proxy", cfg.Decider.Mode())
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 30 * time.Second
	}
	p := &Proxy{cfg: cfg, resolver: cfg.Resolver, dial: cfg.Dial,
		servers: map[*http.Server]bool{}, listeners: map[net.Listener]bool{}, conns: map[net.Conn]bool{},
		self: map[netip.AddrPort]bool{}}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if p.dial == nil {
		p.dial = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext
	}
	p.tr = &http.Transport{
		Proxy:                 nil, // never chain to the environment's proxy
		DialContext:           p.dialChecked,
		ForceAttemptHTTP2:     false,
		DisableCompression:    true, // pass bodies through as they are
		MaxIdleConns:          64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.DialTimeout,
		ExpectContinueTimeout: time.Second,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The Host header is the host that was decided, not one
			// the client chose (no fronting through an allowed server).
			pr.Out.Host = ""
			pr.Out.URL.User = nil
		},
		Transport:     p.tr,
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			badGateway(w, err)
		},
	}
	return p, nil
}

// Serve serves the HTTP proxy on l until Close. It returns nil after Close.
func (p *Proxy) Serve(l net.Listener) error {
	srv := &http.Server{
		Handler:           http.HandlerFunc(p.handle),
		ReadHeaderTimeout: p.cfg.HandshakeTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return net.ErrClosed
	}
	p.servers[srv] = true
	p.addSelf(l)
	p.mu.Unlock()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops every listener, drops idle and open connections and ends
// every tunnel, then waits for the tunnels' goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for srv := range p.servers {
		srv.Close()
	}
	for l := range p.listeners {
		l.Close()
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.tr.CloseIdleConnections()
	p.wg.Wait()
	return nil
}

// addSelf records a TCP listener's address; p.mu is held.
func (p *Proxy) addSelf(l net.Listener) {
	if ta, ok := l.Addr().(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		p.self[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] = true
	}
}

func (p *Proxy) isSelf(a netip.AddrPort) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.self[a] {
		return true
	}
	// A listener on the unspecified address is reachable on any.
	for s := range p.self {
		if s.Port() == a.Port() && s.Addr().IsUnspecified() {
			return true
		}
	}
	return false
}

// begin registers connections Close must end, and one goroutine Close
// waits for (end it with end); false, registering nothing, once closed.
func (p *Proxy) begin(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	p.wg.Add(1)
	return true
}

func (p *Proxy) end(cs ...net.Conn) {
	p.mu.Lock()
	for _, c := range cs {
		delete(p.conns, c)
	}
	p.mu.Unlock()
	p.wg.Done()
}

// errUnreachable marks an allowed destination that could not be resolved.
var errUnreachable = errors.New("destination unreachable")

// check decides a request and, when allowed, resolves the host (once)
// and checks its addresses. A refusal is reported to OnRefusal. A nil
// error with dec.Allowed false is a refusal; an error is a 502.
func (p *Proxy) check(ctx context.Context, proto, client, host string, port int, method string) (ir.NetDecision, target, error) {
	dec := p.cfg.Decider.DecideNet(host, port, method)
	var t target
	if dec.Allowed {
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(dec.Host); err == nil {
			addrs = []netip.Addr{a}
		} else {
			lctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
			found, err := p.resolver.LookupNetIP(lctx, "ip", dec.Host)
			cancel()
			for _, a := range found {
				addrs = append(addrs, a.Unmap())
			}
			if len(addrs) == 0 && !dec.CheckAddrs {
				if err == nil {
					err = errors.New("no addresses")
				}
				return dec, t, fmt.Errorf("%w: resolving %s: %v", errUnreachable, dec.Host, err)
			}
		}
		dec = dec.WithAddrs(addrs)
		for _, a := range addrs {
			t.addrs = append(t.addrs, netip.AddrPortFrom(a, uint16(port)))
		}
	}
	if !dec.Allowed && p.cfg.OnRefusal != nil {
		p.cfg.OnRefusal(Refusal{Time: time.Now(), Protocol: proto, Client: client, Decision: dec})
	}
	return dec, t, nil
}

// connect dials the checked addresses in order, within DialTimeout.
func (p *Proxy) connect(ctx context.Context, t target) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	err := errors.New("no address to connect to")
	for _, a := range t.addrs {
		if p.isSelf(a) {
			err = fmt.Errorf("%s is this proxy: a request must reach a destination, not the proxy again", a)
			continue
		}
		var c net.Conn
		c, err = p.dial(ctx, "tcp", a.String())
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

// dialChecked is the forwarding Transport's dialer: it connects only to
// the addresses check allowed for the request, found in the context.
func (p *Proxy) dialChecked(ctx context.Context, network, addr string) (net.Conn, error) {
	t, ok := ctx.Value(ctxKey{}).(target)
	if !ok {
		return nil, errors.New("netproxy: dial without a checked destination")
	}
	return p.connect(ctx, t)
}

func (p *Proxy) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.handleConnect(w, r)
		return
	}
	if r.Header.Get("X-Unix-Socket") != "" {
		// The reference serves this on macOS only; polc reaches host
		// Unix sockets through the sandbox's own mounts.
		textError(w, http.StatusNotImplemented, "unix sockets unsupported")
		return
	}
	if !r.URL.IsAbs() || r.URL.Host == "" {
		textError(w, http.StatusBadRequest, "missing host: send requests in proxy form (absolute URL)")
		return
	}
	var defPort int
	switch r.URL.Scheme {
	case "http":
		defPort = 80
	case "https":
		defPort = 443
	default:
		textError(w, http.StatusBadRequest, "unsupported scheme "+r.URL.Scheme)
		return
	}
	port, ok := portOf(r.URL.Port(), defPort)
	if !ok {
		textError(w, http.StatusBadRequest, "invalid port")
		return
	}
	method := r.Method
	if hasToken(r.Header["Connection"], "upgrade") {
		// A protocol switch makes the connection a tunnel.
		method = ir.MethodUpgrade
	}
	dec, t, err := p.check(r.Context(), "http", r.RemoteAddr, r.URL.Hostname(), port, method)
	switch {
	case err != nil:
		badGateway(w, err)
		return
	case !dec.Allowed:
		refuse(w, dec)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, t))
	p.rp.ServeHTTP(w, r)
}

func (p *Proxy) handleConnect(w http.ResponseWriter, r *http.Request) {
	host, portStr, err := net.SplitHostPort(r.Host)
	if err != nil {
		textError(w, http.StatusBadRequest, "missing authority: CONNECT wants host:port")
		return
	}
	port, ok := portOf(portStr, 0)
	if !ok {
		textError(w, http.StatusBadRequest, "invalid port")
		return
	}
	dec, t, err := p.check(r.Context(), "connect", r.RemoteAddr, host, port, ir.MethodConnect)
	switch {
	case err != nil:
		badGateway(w, err)
		return
	case !dec.Allowed:
		refuse(w, dec)
		return
	}
	up, err := p.connect(r.Context(), t)
	if err != nil {
		badGateway(w, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		textError(w, http.StatusInternalServerError, "cannot tunnel on this connection")
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		up.Close()
		return
	}
	p.tunnel(conn, brw.Reader, up)
}

// tunnel copies both ways until both directions end (or Close), passing
// on what the client sent after its request and before the hijack.
func (p *Proxy) tunnel(client net.Conn, buffered *bufio.Reader, up net.Conn) {
	if !p.begin(client, up) {
		client.Close()
		up.Close()
		return
	}
	defer func() {
		client.Close()
		up.Close()
		p.end(client, up)
	}()
	if buffered != nil && buffered.Buffered() > 0 {
		b, _ := buffered.Peek(buffered.Buffered())
		if _, err := up.Write(b); err != nil {
			return
		}
	}
	done := make(chan struct{}, 2)
	go func() {
		pump(up, client)
		closeWrite(up)
		done <- struct{}{}
	}()
	pump(client, up)
	closeWrite(client)
	<-done
}

// tunnelBufSize is each direction's copy buffer. On loopback, plain reads
// and writes with 128 KiB buffers move a CONNECT tunnel's bytes faster
// than splice (which io.Copy would pick between two TCP connections) and
// faster than io.Copy's 32 KiB: BenchmarkCONNECT100MB.
const tunnelBufSize = 128 << 10

var tunnelBufs = sync.Pool{New: func() any { b := make([]byte, tunnelBufSize); return &b }}

// pump copies src to dst through a pooled buffer, hiding ReaderFrom and
// WriterTo so that io.CopyBuffer uses it.
func pump(dst io.Writer, src io.Reader) {
	b := tunnelBufs.Get().(*[]byte)
	defer tunnelBufs.Put(b)
	io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *b)
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		c.Close()
	}
}

func portOf(s string, def int) (int, bool) {
	if s == "" {
		return def, def > 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, false
	}
	return n, true
}

// Blocked is the JSON body of a refused request: the reference's keys
// (status, host, reason, message) and polc's (port, method, rule,
// setting).
type Blocked struct {
	Status  string         `json:"status"`
	Host    string         `json:"host"`
	Port    int            `json:"port"`
	Method  string         `json:"method"`
	Reason  string         `json:"reason"`
	Message string         `json:"message"`
	Rule    *ir.DomainRule `json:"rule,omitempty"`
	Setting *ir.Origin     `json:"setting,omitempty"`
}

// HeaderValue is the reference's x-proxy-error value for a reason.
func HeaderValue(reason string) string {
	switch reason {
	case ir.ReasonNotAllowed, ir.ReasonNotAllowedLocal:
		return "blocked-by-allowlist"
	case ir.ReasonDenied:
		return "blocked-by-denylist"
	case ir.ReasonMethodNotAllowed:
		return "blocked-by-method-policy"
	}
	return "blocked-by-policy"
}

func message(reason string) string {
	switch reason {
	case ir.ReasonNotAllowed:
		return "polc blocked this request: domain not in allowlist (this is not a denylist block)."
	case ir.ReasonNotAllowedLocal:
		return "polc blocked this request: local/private addresses not allowed."
	case ir.ReasonDenied:
		return "polc blocked this request: domain denied by policy."
	case ir.ReasonMethodNotAllowed:
		return "polc blocked this request: method not allowed in limited mode."
	}
	return "polc blocked this request by network policy."
}

func refuse(w http.ResponseWriter, dec ir.NetDecision) {
	body, _ := json.Marshal(Blocked{Status: "blocked", Host: dec.Host, Port: dec.Port, Method: dec.Method,
		Reason: dec.Reason, Message: message(dec.Reason) + " " + dec.Detail + ".", Rule: dec.Rule, Setting: dec.Setting})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// Lower case on the wire, as the reference sends it.
	h["x-proxy-error"] = []string{HeaderValue(dec.Reason)}
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusForbidden)
	w.Write(append(body, '\n'))
}

func badGateway(w http.ResponseWriter, err error) {
	textError(w, http.StatusBadGateway, "upstream failure: "+oneLine(err.Error()))
}

func textError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Connection", "close")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// hasToken reports whether a comma-separated header lists a token.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
