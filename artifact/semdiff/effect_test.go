package semdiff

import (
	"testing"

	"polc/ir"
)

// Each kind of change says which way it moves what the command may do,
// from the words Compare writes.
func TestEffect(t *testing.T) {
	for _, tc := range []struct {
		c    Change
		want Effect
	}{
		{Change{Kind: "path", From: "read", To: "deny"}, Narrower},
		{Change{Kind: "path", From: "read", To: "write"}, Wider},
		{Change{Kind: "sandbox", From: "enabled", To: "disabled"}, Wider},
		{Change{Kind: "minimal", From: "read", To: "deny"}, Narrower},
		{Change{Kind: "glob", From: "absent", To: "deny (requirement), any depth"}, Narrower},
		{Change{Kind: "glob", From: "deny, to depth 3 (any depth where writable)", To: "absent"}, Wider},
		{Change{Kind: "glob", From: "deny, to depth 3 (any depth where writable)", To: "deny, any depth"}, Narrower},
		{Change{Kind: "glob", From: "deny, any depth", To: "deny (requirement), any depth"}, Neutral},
		{Change{Kind: "roots", From: "${WORKSPACE_ROOT}", To: "${WORKSPACE_ROOT} /srv"}, Wider},
		{Change{Kind: "roots", From: "${WORKSPACE_ROOT} /srv", To: "${WORKSPACE_ROOT} /opt"}, Mixed},
		{Change{Kind: "network", Subject: "network", From: "full", To: "none"}, Narrower},
		{Change{Kind: "network", Subject: "network", From: "proxy (proxy ports [3128])", To: "full"}, Wider},
		{Change{Kind: "network", Subject: "network", From: "proxy (proxy ports [3128])", To: "proxy (proxy ports [8080])"}, Neutral},
		{Change{Kind: "network", Subject: "unix socket /run/x.sock", From: "connect", To: "deny"}, Narrower},
		{Change{Kind: "network", Subject: "domain example.com", From: "allow", To: "absent"}, Narrower},
		{Change{Kind: "network", Subject: "domain evil.example.com", From: "absent", To: "deny"}, Narrower},
		{Change{Kind: "network", Subject: "http methods", From: "full", To: "limited"}, Narrower},
		{Change{Kind: "approvals", Subject: "approval_policy", From: "never", To: "on-request"}, Neutral},
		{Change{Kind: "requirements", From: "a", To: "b"}, Neutral},
	} {
		if got := tc.c.Effect(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.c, got, tc.want)
		}
	}
}

// Two proxy-only networks: a domain allow the new side lacks, a deny it
// adds, and limited methods are each a change, with their origins.
func TestProxyChanges(t *testing.T) {
	old, nw := base(), base()
	req := ir.Origin{Kind: ir.OriginRequirement, Key: "network", Pos: diagPos("req.toml", 3, 1)}
	old.Network = ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{Domains: []ir.DomainRule{
		{Pattern: "example.com", Action: ir.DomainAllow, Origin: ir.Origin{Kind: ir.OriginConfig, Pos: diagPos("c.toml", 5, 1)}},
		{Pattern: "pypi.org", Action: ir.DomainAllow},
	}}}
	nw.Network = ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{Methods: ir.MethodsLimited, MethodOrigin: req, Domains: []ir.DomainRule{
		{Pattern: "pypi.org", Action: ir.DomainAllow},
		{Pattern: "pypi.org", Action: ir.DomainDeny, Managed: true, Origin: req},
	}}}
	got := map[string]Change{}
	for _, s := range Compare(old, nw, []string{"linux"}) {
		for _, c := range s.Changes {
			got[c.Subject] = c
		}
	}
	if c := got["domain example.com"]; c.From != "allow" || c.To != "absent" || c.Effect() != Narrower || c.Was != "config at c.toml:5:1" {
		t.Errorf("example.com: %+v", c)
	}
	if c := got["domain pypi.org"]; c.From != "allow" || c.To != "deny" || c.Effect() != Narrower || c.Now != "requirement \"network\" at req.toml:3:1" {
		t.Errorf("pypi.org: %+v", c)
	}
	if c := got["http methods"]; c.From != "full" || c.To != "limited" || c.Effect() != Narrower {
		t.Errorf("methods: %+v", c)
	}
	// A change of mode is one line, not a list of every domain.
	nw.Network = ir.Network{Mode: ir.NetworkNone}
	for _, s := range Compare(old, nw, []string{"linux"}) {
		for _, c := range s.Changes {
			if c.Kind == "network" && c.Subject != "network" {
				t.Errorf("mode change listed %+v", c)
			}
		}
	}
}
