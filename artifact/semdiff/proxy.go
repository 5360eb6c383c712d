package semdiff

import (
	"sort"

	"polc/ir"
)

// proxyChanges compares what two proxy-only networks let through: each
// domain pattern's rule (allow, deny or absent; the effective one, as
// ir.NetDecider reads them: a deny of a pattern beats an allow of it),
// local destinations, the HTTP methods and SOCKS5. Only when both sides
// are proxy-only: a change of mode is networkChanges' line, and listing
// every domain of a network that appeared or vanished would say nothing
// more.
func proxyChanges(old, new *ir.Policy) []Change {
	if old.Network.Mode != ir.NetworkProxy || new.Network.Mode != ir.NetworkProxy {
		return nil
	}
	op, np := proxyOf(old.Network), proxyOf(new.Network)
	var out []Change
	od, nd := domainRules(op), domainRules(np)
	var patterns []string
	for k := range od {
		patterns = append(patterns, k)
	}
	for k := range nd {
		if _, ok := od[k]; !ok {
			patterns = append(patterns, k)
		}
	}
	sort.Strings(patterns)
	for _, k := range patterns {
		o, wasSet := od[k]
		n, isSet := nd[k]
		from, to := "absent", "absent"
		c := Change{Kind: "network", Subject: "domain " + k}
		if wasSet {
			from, c.Was = string(o.Action), ruleOrigin(o)
		}
		if isSet {
			to, c.Now = string(n.Action), ruleOrigin(n)
		}
		if from == to {
			continue
		}
		c.From, c.To = from, to
		out = append(out, c)
	}
	word := func(b bool, yes, no string) string {
		if b {
			return yes
		}
		return no
	}
	if op.AllowLocal != np.AllowLocal {
		out = append(out, Change{Kind: "network", Subject: "local addresses",
			From: word(op.AllowLocal, "allowed", "refused"), To: word(np.AllowLocal, "allowed", "refused"),
			Was: originOr(op.LocalOrigin), Now: originOr(np.LocalOrigin)})
	}
	methods := func(p ir.Proxy) string {
		if p.Methods == "" {
			return string(ir.MethodsFull)
		}
		return string(p.Methods)
	}
	if methods(op) != methods(np) {
		out = append(out, Change{Kind: "network", Subject: "http methods", From: methods(op), To: methods(np),
			Was: originOr(op.MethodOrigin), Now: originOr(np.MethodOrigin)})
	}
	if op.SOCKS5 != np.SOCKS5 {
		out = append(out, Change{Kind: "network", Subject: "socks5",
			From: word(op.SOCKS5, "on", "off"), To: word(np.SOCKS5, "on", "off"),
			Was: originOr(op.SOCKS5Origin), Now: originOr(np.SOCKS5Origin)})
	}
	return out
}

func proxyOf(n ir.Network) ir.Proxy {
	if n.Proxy == nil {
		return ir.Proxy{}
	}
	return *n.Proxy
}

// domainRules maps each pattern to the rule that decides it: a deny of
// the same pattern wins over an allow, as in ir.NetDecider.
func domainRules(p ir.Proxy) map[string]ir.DomainRule {
	m := map[string]ir.DomainRule{}
	for _, r := range p.Domains {
		if prev, ok := m[r.Pattern]; ok && prev.Action == ir.DomainDeny {
			continue
		}
		m[r.Pattern] = r
	}
	return m
}

func ruleOrigin(r ir.DomainRule) string {
	s := originOr(r.Origin)
	if r.Managed && r.Origin.Kind != ir.OriginRequirement {
		s = "managed " + s
	}
	return s
}
