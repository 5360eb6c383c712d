package semdiff

import "testing"

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
		{Change{Kind: "network", Subject: "domain example.com", From: "allow", To: "none"}, Narrower},
		{Change{Kind: "network", Subject: "domain example.com", From: "allow", To: "managed deny"}, Narrower},
		{Change{Kind: "network", Subject: "domain evil.example.com", From: "none", To: "deny"}, Narrower},
		{Change{Kind: "network", Subject: "domain py.pkg.example", From: "none", To: "managed allow"}, Wider},
		{Change{Kind: "network", Subject: "proxy methods", From: "full", To: "limited (GET, HEAD, OPTIONS)"}, Narrower},
		{Change{Kind: "network", Subject: "proxy local addresses", From: "refused", To: "allowed"}, Wider},
		{Change{Kind: "network", Subject: "proxy SOCKS5", From: "on", To: "off"}, Narrower},
		{Change{Kind: "network", Subject: "proxy ports", From: "http 3128, socks5 8081", To: "http 8080, socks5 8081"}, Neutral},
		{Change{Kind: "approvals", Subject: "approval_policy", From: "never", To: "on-request"}, Neutral},
		{Change{Kind: "requirements", From: "a", To: "b"}, Neutral},
	} {
		if got := tc.c.Effect(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.c, got, tc.want)
		}
	}
}
