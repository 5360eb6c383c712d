package backends

import (
	"fmt"
	"net/netip"

	"polc/ir"
)

// EgressEvaluator is an Evaluator that also answers what may leave the
// sandbox for one request, as ir.DecideNet states it: a request leaves
// directly when the artifact lets the command connect to the destination
// itself, or through polc's egress proxy when the artifact lets the
// command reach the proxy's loopback listener and the proxy, which runs
// ir.NetDecider on the policy the artifact carries, allows it.
// Translation validation requires Egress to agree with ir.DecideNet.
type EgressEvaluator interface {
	Egress(host string, port int, method string) Egress
}

// Egress is an EgressEvaluator's answer for one request.
type Egress struct {
	Allowed bool
	// Via is how the request left, or would have: "direct" (the artifact
	// lets the connection out itself), "proxy" (the proxy decided), or
	// "" (neither route exists).
	Via string
	// Decision is the proxy's decision when Via is "proxy".
	Decision *ir.NetDecision
	// Reason is one line: what in the artifact decided.
	Reason string
}

// Egress routes.
const (
	ViaDirect = "direct"
	ViaProxy  = "proxy"
)

// EgressModel answers Egress from how an artifact treats one outbound
// TCP connection (Connect) and the proxy network it carries, if any: the
// part common to every backend. A backend's evaluator builds one from its
// own artifact.
type EgressModel struct {
	// Connect is the artifact's verdict on a direct connection to an IP
	// address and port (the evaluator's Network).
	Connect func(ip string, port int) Verdict
	proxy   *ir.Proxy
	decider *ir.NetDecider
}

// NewEgressModel builds the model for an artifact whose command reaches
// polc's proxy, run on proxy (nil when the artifact starts none).
func NewEgressModel(connect func(ip string, port int) Verdict, proxy *ir.Proxy) (*EgressModel, error) {
	m := &EgressModel{Connect: connect}
	if proxy != nil {
		px := *proxy
		d, err := ir.NewNetDecider(ir.Network{Mode: ir.NetworkProxy, Proxy: &px})
		if err != nil {
			return nil, fmt.Errorf("the artifact's proxy network: %v", err)
		}
		m.proxy, m.decider = &px, d
	}
	return m, nil
}

// Stand-ins for where a name may resolve: the command resolves it
// itself for a direct connection, so the artifact must refuse every kind
// of address for the name to stay in.
var nameAddrs = []string{"192.0.2.1", "2001:db8::1", "10.0.0.1", "127.0.0.1", "::1"}

// Egress judges one request: method (an HTTP method, ir.MethodConnect,
// ir.MethodSOCKS5 or ir.MethodUpgrade) to host:port.
func (m *EgressModel) Egress(host string, port int, method string) Egress {
	h := ir.NormalizeHost(host)
	addrs := nameAddrs
	if a, err := netip.ParseAddr(h); err == nil {
		addrs = []string{a.String()}
	} else if h == "localhost" {
		addrs = []string{"127.0.0.1", "::1"}
	}
	for _, a := range addrs {
		if m.isListener(a, port) {
			continue // the proxy itself: what it does is decided below
		}
		if v := m.Connect(a, port); v.Allowed {
			return Egress{Allowed: true, Via: ViaDirect, Reason: fmt.Sprintf("a direct connection to %s leaves: %s", ir.JoinHostPort(a, port), v.Reason)}
		}
	}
	if m.proxy == nil {
		return Egress{Reason: fmt.Sprintf("the artifact lets no connection to %s out and starts no proxy", ir.JoinHostPort(h, port))}
	}
	httpPort, socksPort := m.proxy.Ports()
	listener := httpPort
	if method == ir.MethodSOCKS5 {
		if !m.proxy.SOCKS5 {
			return Egress{Reason: "the proxy serves no SOCKS5 (enable_socks5 is off)"}
		}
		listener = socksPort
	}
	if v := m.Connect("127.0.0.1", listener); !v.Allowed {
		return Egress{Reason: fmt.Sprintf("the artifact does not let the command reach the proxy at 127.0.0.1:%d: %s", listener, v.Reason)}
	}
	dec := m.decider.DecideNet(host, port, method)
	return Egress{Allowed: dec.Allowed, Via: ViaProxy, Decision: &dec, Reason: "proxy: " + dec.Explain()}
}

// isListener reports whether ip:port is one of the proxy's listeners.
func (m *EgressModel) isListener(ip string, port int) bool {
	if m.proxy == nil {
		return false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.IsLoopback() {
		return false
	}
	for _, p := range m.proxy.Listeners() {
		if p == port {
			return true
		}
	}
	return false
}
