package windows

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"polc/backends"
	"polc/ir"
)

// Evaluator answers access questions from a plan bound to a host, by
// modelling the Windows access check on the ACL table the runtime would
// write.
type Evaluator struct {
	B      *Bound
	env    ir.Env
	egress *backends.EgressModel
}

// NewEvaluator binds one mode of the plan ("" for the preferred mode).
func NewEvaluator(p *Plan, mode string, env ir.Env, expand Expander) (*Evaluator, error) {
	if mode == "" {
		mode = p.PreferredMode
	}
	if env.Resolve == nil {
		env.Resolve = ir.ResolvePath
	}
	b, err := p.Bind(mode, env, expand)
	if err != nil {
		return nil, err
	}
	e := &Evaluator{B: b, env: env}
	if e.egress, err = backends.NewEgressModel(e.Network, p.Network.Proxy); err != nil {
		return nil, fmt.Errorf("windows plan: %v", err)
	}
	return e, nil
}

// Egress judges a request as it leaves the sandbox: directly, when the
// mode's firewall rules let the connection out, or through polc's egress
// proxy, when they let the command reach the proxy's loopback listener
// (see backends.EgressEvaluator). In unelevated mode nothing blocks a
// direct connection, which is why that mode refuses every policy
// without the full network.
func (e *Evaluator) Egress(host string, port int, method string) backends.Egress {
	return e.egress.Egress(host, port, method)
}

// Decide models opening hostPath for op as the sandboxed command would.
func (e *Evaluator) Decide(hostPath string, op ir.Op) backends.Verdict {
	p := e.env.Resolve(hostPath)
	desired := NeedRead
	if op == ir.OpWrite {
		desired = NeedWrite
	}
	c := e.B.Access(Key(p), desired)
	return backends.Verdict{Allowed: c.Allowed, Reason: fmt.Sprintf("windows %s mode: %s", e.B.Mode, c.Reason(op.String()))}
}

// Network models an outbound TCP connection under the mode's firewall
// rules (elevated, offline account) or its absence (unelevated: the
// proxy variables are advisory, the connection goes through).
func (e *Evaluator) Network(host string, port int) backends.Verdict {
	if e.B.Unrestricted {
		return backends.Verdict{Allowed: true, Reason: "windows: unrestricted (no sandbox)"}
	}
	m := e.B.Plan.Modes[e.B.Mode]
	ip := net.ParseIP(host)
	if host == "localhost" {
		ip = net.ParseIP("127.0.0.1")
	}
	for _, s := range m.Steps {
		if s.Op != OpFirewallRule || s.Direction != "out" || s.Action != "block" || s.SID != m.Identity {
			continue
		}
		if s.Protocol != "any" && s.Protocol != "tcp" {
			continue
		}
		if !addrIn(ip, s.RemoteAddrs) || !portIn(port, s.RemotePorts) {
			continue
		}
		return backends.Verdict{Reason: fmt.Sprintf("windows %s mode: denied: firewall rule %s blocks %s tcp %s:%d", e.B.Mode, s.Name, AccountName(m.Identity), host, port)}
	}
	why := "no firewall rule blocks it"
	if m.Identity == SIDRealUser && e.B.Plan.Network.Mode != string(ir.NetworkFull) {
		why = "unelevated mode only sets proxy variables (advisory)"
	}
	return backends.Verdict{Allowed: true, Reason: fmt.Sprintf("windows %s mode: allowed: %s", e.B.Mode, why)}
}

// addrIn reports whether ip lies in a firewall address list (ranges
// "a-b", CIDRs, single addresses). A host that is not an IP address is
// treated as remote (non-loopback).
func addrIn(ip net.IP, list string) bool {
	if ip == nil {
		return strings.Contains(list, "0.0.0.0-")
	}
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		switch {
		case strings.Contains(part, "/"):
			if _, n, err := net.ParseCIDR(part); err == nil && n.Contains(ip) {
				return true
			}
		case strings.Contains(part, "-"):
			a, b, _ := strings.Cut(part, "-")
			lo, hi := net.ParseIP(a), net.ParseIP(b)
			if lo != nil && hi != nil && between(ip, lo, hi) {
				return true
			}
		default:
			if x := net.ParseIP(part); x != nil && x.Equal(ip) {
				return true
			}
		}
	}
	return false
}

func between(ip, lo, hi net.IP) bool {
	v4 := ip.To4() != nil
	if (lo.To4() != nil) != v4 {
		return false
	}
	norm := func(x net.IP) net.IP {
		if v4 {
			return x.To4()
		}
		return x.To16()
	}
	i, l, h := norm(ip), norm(lo), norm(hi)
	return string(i) >= string(l) && string(i) <= string(h)
}

func portIn(port int, list string) bool {
	if list == "*" || list == "" {
		return true
	}
	for _, part := range strings.Split(list, ",") {
		a, b, isRange := strings.Cut(part, "-")
		lo, err1 := strconv.Atoi(a)
		hi := lo
		var err2 error
		if isRange {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 == nil && err2 == nil && port >= lo && port <= hi {
			return true
		}
	}
	return false
}
