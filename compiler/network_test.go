package compiler_test

import (
	"fmt"
	"testing"

	"polc/internal/conformance"
	"polc/ir"
)

// TestNetworkModeTable walks every combination of what decides whether
// the proxy runs (docs/design.md §3): requirements' [experimental_network]
// (absent, no enabled key, enabled = false, enabled = true),
// features.network_proxy, the profile's network.enabled and its domain
// rules. The expected mode is the rule list written out independently.
func TestNetworkModeTable(t *testing.T) {
	for _, req := range []string{"none", "table", "false", "true"} {
		for _, feature := range []bool{false, true} {
			for _, enabled := range []bool{false, true} {
				for _, domains := range []bool{false, true} {
					var want ir.NetworkMode
					switch {
					case req == "true":
						want = ir.NetworkProxy
					case req == "table" && feature && enabled:
						want = ir.NetworkProxy
					case req != "none":
						want = ir.NetworkNone
					case feature && enabled:
						want = ir.NetworkProxy
					case enabled && domains:
						want = ir.NetworkProxy
					case enabled:
						want = ir.NetworkFull
					default:
						want = ir.NetworkNone
					}
					cfg := "default_permissions = \"p\"\n"
					if feature {
						cfg += "[features]\nnetwork_proxy = true\n"
					}
					cfg += "[permissions.p]\nextends = \":workspace\"\n[permissions.p.network]\n"
					cfg += fmt.Sprintf("enabled = %v\n", enabled)
					if domains {
						cfg += "domains = { \"example.com\" = \"allow\" }\n"
					}
					c := &conformance.Case{Config: cfg}
					switch req {
					case "table":
						c.Requirements, c.HasReq = "[experimental_network]\nallowed_domains = [\"example.com\"]\n", true
					case "false", "true":
						c.Requirements, c.HasReq = "[experimental_network]\nenabled = "+req+"\n", true
					}
					name := fmt.Sprintf("req=%s/feature=%v/enabled=%v/domains=%v", req, feature, enabled, domains)
					t.Run(name, func(t *testing.T) {
						_, res := c.Compile(t)
						if res.Policy == nil {
							t.Fatalf("compile failed:\n%s", diagText(res.Diags))
						}
						n := res.Policy.Network
						if n.Mode != want {
							t.Fatalf("mode %s (%s), want %s", n.Mode, n.Origin, want)
						}
						if (n.Mode == ir.NetworkProxy) != (n.Proxy != nil) {
							t.Errorf("mode %s with proxy %v", n.Mode, n.Proxy)
						}
						if err := n.Validate(); err != nil {
							t.Error(err)
						}
					})
				}
			}
		}
	}
}
