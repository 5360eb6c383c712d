//go:build linux

package firewall

import (
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"polc/diag"
	"polc/ir"
)

// Set names in table inet polc.
const (
	Set4  = "allow4"
	Set6  = "allow6"
	Chain = "output"
	// DNSChain runs before NAT and decides DNS alone.
	DNSChain = "dns"
)

// rule is one rule of the ruleset with the comment status prints (and
// nft list ruleset shows).
type rule struct {
	comment string
	exprs   []expr.Any
}

// Apply installs the spec's ruleset in the current network namespace, in
// one netlink transaction that replaces any earlier polc table. The
// upstreams are the DNS servers the forwarder may query. When the
// transaction fails, Apply installs a deny-all table (loopback only) and
// returns the failure; if even that fails, the error says so. Egress is
// never left open by a failure.
func Apply(s *Spec, upstreams []netip.AddrPort) error {
	if err := s.Validate(); err != nil {
		if _, ok := diag.AsDiagnostic(err); !ok {
			err = diag.Errorf(diag.FirewallArtifactBad, "%w", err)
		}
		return FailClosed(err)
	}
	if s.Network.Mode == ir.NetworkProxy && len(upstreams) == 0 {
		err := diag.Errorf(diag.FirewallDNSFailed, "no upstream DNS server: the forwarder would have nowhere to send allowed questions").WithFix("pass --upstream IP")
		return FailClosed(err)
	}
	if err := install(s, upstreams); err != nil {
		return FailClosed(diag.Errorf(diag.FirewallApplyFailed, "installing the ruleset: %v", err))
	}
	return nil
}

// FailClosed installs the deny-all table after a failure (of Apply, or
// of anything its caller did before it, such as reading the artifact)
// and returns the failure, saying whether egress is now denied.
func FailClosed(cause error) error {
	if err := DenyAll(); err != nil {
		return diag.Errorf(diag.FirewallFallbackFailed, "%v; and the deny-all fallback failed too: %v: egress may be open", cause, err)
	}
	return fmt.Errorf("%w; egress is denied (deny-all ruleset installed)", cause)
}

// DenyAll replaces the polc table with one that drops every outgoing
// packet but loopback.
func DenyAll() error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	t := replaceTable(c)
	dc := addChain(c, t, DNSChain, dnsPriority, nftables.ChainPolicyAccept)
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		c.AddRule(&nftables.Rule{Table: t, Chain: dc, Exprs: append(dport(proto, 53), &expr.Verdict{Kind: expr.VerdictDrop}), UserData: comment("DNS (port 53/" + protoName(proto) + ") dropped")})
	}
	ch := addChain(c, t, Chain, nftables.ChainPriorityFilter, nftables.ChainPolicyDrop)
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: loopback(), UserData: comment("loopback")})
	return c.Flush()
}

func replaceTable(c *nftables.Conn) *nftables.Table {
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: Table}
	// Adding then deleting within the batch removes an existing table
	// without failing when there is none.
	c.AddTable(t)
	c.DelTable(t)
	return c.AddTable(t)
}

// dnsPriority runs chain "dns" before destination NAT (-100).
var dnsPriority = nftables.ChainPriorityRef(-200)

func addChain(c *nftables.Conn, t *nftables.Table, name string, prio *nftables.ChainPriority, p nftables.ChainPolicy) *nftables.Chain {
	return c.AddChain(&nftables.Chain{
		Name: name, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: prio, Policy: &p,
	})
}

func install(s *Spec, upstreams []netip.AddrPort) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	t := replaceTable(c)
	set4 := &nftables.Set{Table: t, Name: Set4, KeyType: nftables.TypeIPAddr, HasTimeout: true}
	set6 := &nftables.Set{Table: t, Name: Set6, KeyType: nftables.TypeIP6Addr, HasTimeout: true}
	for _, st := range []*nftables.Set{set4, set6} {
		if err := c.AddSet(st, nil); err != nil {
			return err
		}
	}
	policy := nftables.ChainPolicyDrop
	if s.Network.Mode == ir.NetworkFull {
		policy = nftables.ChainPolicyAccept
	}
	dnsRules, outRules := rules(s, upstreams, set4, set6)
	dc := addChain(c, t, DNSChain, dnsPriority, nftables.ChainPolicyAccept)
	for _, r := range dnsRules {
		c.AddRule(&nftables.Rule{Table: t, Chain: dc, Exprs: r.exprs, UserData: comment(r.comment)})
	}
	ch := addChain(c, t, Chain, nftables.ChainPriorityFilter, policy)
	for _, r := range outRules {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: r.exprs, UserData: comment(r.comment)})
	}
	return c.Flush()
}

// rules returns the two chains' rules, in order. Chain "dns" runs
// before NAT (priority -200), so it sees port 53 even where a NAT rule
// moves it (Docker sends 127.0.0.11:53 to another port): it lets DNS
// reach only polc's forwarder, and the forwarder's own marked sockets
// reach only the upstream servers; any other DNS is dropped, loopback
// included (a resolver on the container's loopback, such as Docker's or
// a systemd-resolved stub, forwards any name, so reaching it directly
// would bypass the forwarder). Chain "output" (priority 0, policy drop)
// then decides everything that is left.
func rules(s *Spec, upstreams []netip.AddrPort, set4, set6 *nftables.Set) (dnsRules, outRules []rule) {
	outRules = []rule{{"established and related traffic", established()}}
	if s.Network.Mode == ir.NetworkFull {
		return nil, append(outRules, rule{"loopback", loopback()})
	}
	listen := netip.MustParseAddrPort(s.Listen)
	protos := []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP}
	for _, proto := range protos {
		dnsRules = append(dnsRules, rule{fmt.Sprintf("DNS to polc's forwarder at %s/%s", listen, protoName(proto)),
			append(append(daddr(listen.Addr()), dport(proto, listen.Port())...), accept())})
	}
	if s.Network.Mode == ir.NetworkProxy {
		for _, u := range upstreams {
			for _, proto := range protos {
				r := rule{fmt.Sprintf("DNS from polc's forwarder (mark %#x) to %s/%s", s.Mark, u, protoName(proto)), upstream(s.Mark, u, proto)}
				dnsRules = append(dnsRules, r)
				if !u.Addr().IsLoopback() {
					outRules = append(outRules, r)
				}
			}
		}
	}
	for _, proto := range protos {
		dnsRules = append(dnsRules, rule{"any other DNS (port 53/" + protoName(proto) + ") dropped", append(dport(proto, 53), &expr.Verdict{Kind: expr.VerdictDrop})})
	}
	outRules = append(outRules,
		rule{"loopback", loopback()},
		rule{"IPv6 neighbour discovery (ICMPv6 types 133-136)", neighbourDiscovery()})
	if s.Network.Mode == ir.NetworkProxy {
		outRules = append(outRules,
			rule{"IPv4 addresses the forwarder resolved for allowed names (@" + Set4 + ")", lookup(unix.NFPROTO_IPV4, set4)},
			rule{"IPv6 addresses the forwarder resolved for allowed names (@" + Set6 + ")", lookup(unix.NFPROTO_IPV6, set6)},
		)
	}
	return dnsRules, append(outRules, rule{"everything else rejected", []expr.Any{
		&expr.Counter{},
		&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_ADMIN_PROHIBITED},
	}})
}

func protoName(p byte) string {
	if p == unix.IPPROTO_TCP {
		return "tcp"
	}
	return "udp"
}

func comment(s string) []byte { return userdata.AppendString(nil, userdata.TypeComment, s) }

func accept() expr.Any { return &expr.Verdict{Kind: expr.VerdictAccept} }

func loopback() []expr.Any {
	name := make([]byte, unix.IFNAMSIZ)
	copy(name, "lo")
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name},
		accept(),
	}
}

func established() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
			Xor:  binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
		accept(),
	}
}

// neighbourDiscovery accepts router and neighbour solicitations and
// advertisements: without them no IPv6 packet reaches even an allowed
// address.
func neighbourDiscovery() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: []byte{133}},
		&expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: []byte{136}},
		accept(),
	}
}

// dport matches a transport protocol and destination port.
func dport(proto byte, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// daddr matches the IP family and destination address.
func daddr(a netip.Addr) []expr.Any {
	fam, off := byte(unix.NFPROTO_IPV4), uint32(16)
	if a.Is6() && !a.Is4In6() {
		fam, off = unix.NFPROTO_IPV6, 24
	}
	a = a.Unmap()
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: uint32(a.BitLen() / 8)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()},
	}
}

func upstream(mark uint32, u netip.AddrPort, proto byte) []expr.Any {
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(mark)},
	}
	e = append(e, daddr(u.Addr())...)
	e = append(e, dport(proto, u.Port())...)
	return append(e, accept())
}

func lookup(fam byte, set *nftables.Set) []expr.Any {
	off, n := uint32(16), uint32(4)
	if fam == unix.NFPROTO_IPV6 {
		off, n = 24, 16
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
		accept(),
	}
}

// Sets adds addresses to the installed ruleset's sets. It keeps each
// address's expiry so that a shorter TTL never cuts short a longer one
// given earlier.
type Sets struct {
	mu     sync.Mutex
	conn   *nftables.Conn
	set4   *nftables.Set
	set6   *nftables.Set
	expiry map[netip.Addr]time.Time
	now    func() time.Time
}

// OpenSets finds the installed polc table's sets.
func OpenSets() (*Sets, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, err
	}
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: Table}
	s4, err := c.GetSetByName(t, Set4)
	if err != nil {
		return nil, diag.Errorf(diag.FirewallNotInstalled, "no polc firewall set %s: %v (run polc firewall apply first)", Set4, err)
	}
	s6, err := c.GetSetByName(t, Set6)
	if err != nil {
		return nil, diag.Errorf(diag.FirewallNotInstalled, "no polc firewall set %s: %v", Set6, err)
	}
	return &Sets{conn: c, set4: s4, set6: s6, expiry: map[netip.Addr]time.Time{}, now: time.Now}, nil
}

// Allow opens the addresses for ttl. An address already open for longer
// is left as it is; one open for less is renewed (an element's timeout
// cannot be raised in place, so it is deleted and added again; traffic
// already flowing continues as established).
func (s *Sets) Allow(addrs []netip.Addr, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	until := now.Add(ttl)
	var renew4, renew6, add4, add6 []nftables.SetElement
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		old, known := s.expiry[a]
		if known && !old.Before(until) {
			continue
		}
		el := nftables.SetElement{Key: a.AsSlice(), Timeout: ttl}
		renew := known && old.After(now)
		switch {
		case a.Is4() && renew:
			renew4 = append(renew4, nftables.SetElement{Key: a.AsSlice()})
		case renew:
			renew6 = append(renew6, nftables.SetElement{Key: a.AsSlice()})
		}
		if a.Is4() {
			add4 = append(add4, el)
		} else {
			add6 = append(add6, el)
		}
	}
	if len(add4)+len(add6) == 0 {
		return nil
	}
	// The elements to renew are deleted in a batch of their own: one that
	// expired in the kernel a moment early would fail the delete, and the
	// add must not fail with it.
	if len(renew4)+len(renew6) > 0 {
		if len(renew4) > 0 {
			s.conn.SetDeleteElements(s.set4, renew4)
		}
		if len(renew6) > 0 {
			s.conn.SetDeleteElements(s.set6, renew6)
		}
		_ = s.conn.Flush()
	}
	if len(add4) > 0 {
		if err := s.conn.SetAddElements(s.set4, add4); err != nil {
			return err
		}
	}
	if len(add6) > 0 {
		if err := s.conn.SetAddElements(s.set6, add6); err != nil {
			return err
		}
	}
	if err := s.conn.Flush(); err != nil {
		return err
	}
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if old, ok := s.expiry[a]; !ok || old.Before(until) {
			s.expiry[a] = until
		}
	}
	for a, exp := range s.expiry {
		if !exp.After(now) {
			delete(s.expiry, a)
		}
	}
	return nil
}

// Element is one open address and its remaining time.
type Element struct {
	Addr    netip.Addr
	Expires time.Duration
}

// State is what polc firewall status shows.
type State struct {
	Policy   string
	Rules    []string
	Elements []Element
}

// Status reads the installed polc table.
func Status() (*State, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, err
	}
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: Table}
	ch, err := c.ListChain(t, Chain)
	if err != nil {
		return nil, diag.Errorf(diag.FirewallNotInstalled, "no polc firewall is installed in this network namespace: %v", err)
	}
	st := &State{Policy: "drop"}
	if ch.Policy != nil && *ch.Policy == nftables.ChainPolicyAccept {
		st.Policy = "accept"
	}
	for _, name := range []string{DNSChain, Chain} {
		rs, err := c.GetRules(t, &nftables.Chain{Name: name, Table: t})
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			cm, ok := userdata.GetString(r.UserData, userdata.TypeComment)
			if !ok {
				cm = fmt.Sprintf("rule %d (not written by polc)", r.Handle)
			}
			st.Rules = append(st.Rules, name+": "+cm)
		}
	}
	for _, name := range []string{Set4, Set6} {
		set, err := c.GetSetByName(t, name)
		if err != nil {
			continue
		}
		els, err := c.GetSetElements(set)
		if err != nil {
			return nil, err
		}
		for _, el := range els {
			a, ok := netip.AddrFromSlice(el.Key)
			if !ok {
				continue
			}
			st.Elements = append(st.Elements, Element{Addr: a, Expires: el.Expires})
		}
	}
	sort.Slice(st.Elements, func(i, j int) bool { return st.Elements[i].Addr.Less(st.Elements[j].Addr) })
	return st, nil
}
