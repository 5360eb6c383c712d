package firewall

import "polc/ir"

// zone is the outside DNS server's data: name → records.
var zone = map[string][]string{
	"api.example.com.":         {"api.example.com. 300 IN A 192.0.2.10"},
	"short.example.com.":       {"short.example.com. 2 IN A 192.0.2.11"},
	"secret.corp.example.net.": {"secret.corp.example.net. 300 IN A 192.0.2.12"},
	"build.corp.example.net.":  {"build.corp.example.net. 300 IN A 192.0.2.10"},
	"unlisted.example.org.":    {"unlisted.example.org. 300 IN A 192.0.2.12"},
	"rebind.example.com.":      {"rebind.example.com. 300 IN A 127.0.0.1"},
	"v6.example.com.":          {"v6.example.com. 300 IN AAAA 2001:db8::10"},
	"alias.corp.example.net.":  {"alias.corp.example.net. 300 IN CNAME secret.corp.example.net.", "secret.corp.example.net. 300 IN A 192.0.2.12"},
	"cdn.corp.example.net.":    {"cdn.corp.example.net. 300 IN CNAME edge.example.org.", "edge.example.org. 300 IN A 192.0.2.13"},
}

func testNetwork(allowLocal bool) ir.Network {
	rules := []ir.DomainRule{
		{Pattern: "api.example.com", Action: ir.DomainAllow},
		{Pattern: "short.example.com", Action: ir.DomainAllow},
		{Pattern: "rebind.example.com", Action: ir.DomainAllow},
		{Pattern: "v6.example.com", Action: ir.DomainAllow},
		{Pattern: "*.corp.example.net", Action: ir.DomainAllow},
		{Pattern: "secret.corp.example.net", Action: ir.DomainDeny},
	}
	return ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{Domains: rules, AllowLocal: allowLocal}}
}

func testSpec(allowLocal bool, listen string) *Spec {
	return &Spec{Network: testNetwork(allowLocal), Listen: listen, Mark: DefaultMark, MaxTTL: DefaultMaxTTL}
}
