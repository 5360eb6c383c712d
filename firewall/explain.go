package firewall

import (
	"fmt"
	"net/netip"
	"strings"

	"polc/ir"
)

// Explain says what the firewall does with host, a name or an IP
// address: the lines polc firewall explain prints.
func Explain(s *Spec, host string) ([]string, error) {
	d, err := ir.NewNetDecider(s.Network)
	if err != nil {
		return nil, err
	}
	h := ir.NormalizeHost(host)
	var out []string
	switch s.Network.Mode {
	case ir.NetworkNone:
		return []string{h + ": refused: the profile has no network; the firewall drops all egress but loopback, and the forwarder answers no name"}, nil
	case ir.NetworkFull:
		return []string{h + ": allowed: the profile has a full network; the firewall lets all egress through"}, nil
	}
	if a, err := netip.ParseAddr(h); err == nil {
		out = append(out, fmt.Sprintf("%s: an address: connections to it are allowed only while a DNS answer for an allowed name has given it, for that answer's TTL (polc firewall status lists them); DNS to it is dropped", a))
		return out, nil
	}
	dec := d.DecideNet(h, 443, "GET")
	if !dec.Allowed {
		out = append(out, fmt.Sprintf("%s: refused: the forwarder answers REFUSED and opens no address (%s: %s)", h, dec.Reason, strings.TrimSpace(ruleText(dec))))
		return out, nil
	}
	line := fmt.Sprintf("%s: allowed: the forwarder asks the upstream server and opens the answer's addresses for the answer's TTL (at most %ds) (%s)", h, s.MaxTTL, ruleText(dec))
	if dec.CheckAddrs {
		line += "; an answer with a local address is dropped (DNS rebinding), because local addresses are not allowed"
	}
	out = append(out, line)
	if s.Limited() {
		out = append(out, "limited mode: the firewall cannot see HTTP methods; only polc exec's proxy enforces GET, HEAD and OPTIONS")
	}
	return out, nil
}

func ruleText(d ir.NetDecision) string {
	s := d.Detail
	switch {
	case d.Rule != nil:
		s += "; rule " + d.Rule.String()
	case d.Setting != nil && d.Setting.Kind != "":
		s += "; " + d.Setting.String()
	}
	return s
}
