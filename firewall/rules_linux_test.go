//go:build linux

package firewall

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/nftables"

	"polc/ir"
)

func comments(rs []rule) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.comment)
	}
	return strings.Join(out, "\n")
}

// TestRulesPerMode: what each network mode's ruleset contains, in order.
func TestRulesPerMode(t *testing.T) {
	set4, set6 := &nftables.Set{Name: Set4}, &nftables.Set{Name: Set6}
	up := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.53:53"), netip.MustParseAddrPort("127.0.0.11:53")}

	dns, out := rules(testSpec(false, DefaultListen), up, set4, set6)
	d, o := comments(dns), comments(out)
	for _, want := range []string{
		"DNS to polc's forwarder at 127.0.0.1:53/udp",
		"DNS from polc's forwarder (mark 0x706f6c63) to 192.0.2.53:53/tcp",
		"DNS from polc's forwarder (mark 0x706f6c63) to 127.0.0.11:53/udp",
		"any other DNS (port 53/udp) dropped",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("proxy: chain dns lacks %q:\n%s", want, d)
		}
	}
	if !strings.HasSuffix(d, "any other DNS (port 53/tcp) dropped") {
		t.Errorf("proxy: chain dns does not end by dropping DNS:\n%s", d)
	}
	// A loopback upstream needs no rule in output (loopback is accepted
	// there); a remote one does.
	if !strings.Contains(o, "to 192.0.2.53:53/udp") || strings.Contains(o, "127.0.0.11") {
		t.Errorf("proxy: chain output's upstream rules:\n%s", o)
	}
	if !strings.HasPrefix(o, "established and related traffic") || !strings.HasSuffix(o, "everything else rejected") ||
		!strings.Contains(o, "@"+Set4) || !strings.Contains(o, "@"+Set6) {
		t.Errorf("proxy: chain output:\n%s", o)
	}

	dns, out = rules(&Spec{Network: ir.Network{Mode: ir.NetworkNone}, Listen: DefaultListen, Mark: DefaultMark, MaxTTL: 60}, up, set4, set6)
	d, o = comments(dns), comments(out)
	if strings.Contains(d, "mark") || strings.Contains(o, "@") || strings.Contains(o, "192.0.2.53") {
		t.Errorf("none: an upstream or a set is open:\n%s\n%s", d, o)
	}
	if !strings.Contains(d, "any other DNS (port 53/udp) dropped") || !strings.HasSuffix(o, "everything else rejected") {
		t.Errorf("none:\n%s\n%s", d, o)
	}

	dns, out = rules(&Spec{Network: ir.Network{Mode: ir.NetworkFull}, Listen: DefaultListen, Mark: DefaultMark, MaxTTL: 60}, up, set4, set6)
	if len(dns) != 0 || comments(out) != "established and related traffic\nloopback" {
		t.Errorf("full: %q %q", comments(dns), comments(out))
	}
}
