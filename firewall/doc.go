// Package firewall enforces a policy's network at a container's edge: a
// default-deny nftables egress ruleset installed through netlink, and a
// DNS forwarder that answers only for names the policy allows and opens
// the firewall to each answer's addresses for the answer's TTL.
//
// The pieces:
//
//   - Spec is what the firewall enforces, compiled from the network IR
//     (Compile) and carried in a signed firewall artifact (Encode,
//     Decode): the same envelope and signature as polc's other
//     artifacts, under its own format tag so that polc exec never
//     mistakes one for a sandbox artifact.
//   - Apply (Linux) installs the ruleset in one netlink transaction:
//     table "inet polc" with chain "dns" (before NAT: DNS only to the
//     forwarder, and from the forwarder's own sockets, marked with
//     Spec.Mark, to its upstream servers; any other port 53 dropped,
//     loopback included) and chain "output" (policy drop: established
//     traffic, loopback, IPv6 neighbour discovery, and the addresses in
//     the sets "allow4" and "allow6", whose elements carry timeouts).
//     When anything fails, FailClosed installs a deny-all table instead
//     and reports the failure: egress is never left open.
//   - Forwarder is the DNS forwarder. It decides each question with
//     ir's NetDecider (deny rules win, the reference's wildcards), drops
//     answers that put a local address behind a name when local
//     addresses are not allowed (DNS rebinding), and passes each
//     answer's addresses to an AddrSink (the nftables sets) with the
//     answer's TTL as the timeout.
//
// Methods are invisible to a packet filter: a limited-mode network
// (GET, HEAD and OPTIONS only) is refused unless the caller says polc
// exec's proxy also runs (CheckMode).
package firewall
