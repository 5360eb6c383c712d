package main

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"polc/artifact"
	"polc/diag"
	"polc/firewall"
	"polc/ir"
)

func init() {
	artifactFlag := &cli.StringFlag{Name: "artifact", Required: true, Usage: "the firewall artifact `FILE` (polc build --target devcontainer writes it)"}
	commands = append(commands, &cli.Command{
		Name:  "firewall",
		Usage: "enforce the profile's network at a container's edge (nftables and a DNS forwarder; Linux, root)",
		Subcommands: []*cli.Command{
			{
				Name:      "apply",
				Usage:     "install the egress ruleset and run the DNS forwarder",
				ArgsUsage: " ",
				Description: "Installs a default-deny nftables egress ruleset (IPv4 and IPv6) in this network namespace,\n" +
					"then runs the DNS forwarder in the foreground: it answers only for names the policy allows\n" +
					"and opens each answer's addresses for the answer's TTL. The ruleset stays when polc exits;\n" +
					"without the forwarder no new address opens. Any failure leaves egress denied and exits non-zero.",
				Flags: []cli.Flag{
					artifactFlag, trustFlag,
					&cli.StringSliceFlag{Name: "upstream", Usage: "upstream DNS server `IP[:PORT]` (repeatable; default: the nameservers in /etc/resolv.conf)"},
					&cli.BoolFlag{Name: "with-exec-proxy", Usage: "the command also runs under polc exec, whose proxy enforces limited mode's methods"},
					&cli.BoolFlag{Name: "no-dns", Usage: "install the ruleset and exit without running the forwarder"},
					&cli.BoolFlag{Name: "set-resolver", Usage: "once the forwarder listens, point /etc/resolv.conf at it (the upstreams are read from it first)"},
				},
				Action: runFirewallApply,
			},
			{
				Name:      "status",
				Usage:     "list the installed rules and the open addresses with their expiry",
				ArgsUsage: " ",
				Action:    runFirewallStatus,
			},
			{
				Name:      "explain",
				Usage:     "say what the firewall would do with HOST (a name or an IP address)",
				ArgsUsage: "HOST",
				Flags:     []cli.Flag{artifactFlag},
				Action:    runFirewallExplain,
			},
		},
	})
}

// loadFirewall reads and checks a firewall artifact: integrity always,
// the signature when a trust key is configured.
func loadFirewall(file string, trust []string, verify bool) (*firewall.Artifact, string, error) {
	b, err := artifact.ReadCommitted(file)
	if err != nil {
		return nil, "", diag.Errorf(diag.FirewallArtifactBad, "%s: %v", file, err)
	}
	a, err := firewall.Decode(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v", file, err)
	}
	if !verify {
		return a, "", nil
	}
	keys, err := artifact.LoadTrust(trust, systemTrustDir)
	if err != nil {
		return nil, "", diag.Errorf(diag.FirewallUntrusted, "%v", diag.MessageOf(err))
	}
	warning := ""
	if len(keys) > 0 {
		if err := a.Verify(keys); err != nil {
			return nil, "", fmt.Errorf("%s: %v", file, err)
		}
	} else {
		warning = fmt.Sprintf("polc: warning: %s: signature not checked: no trust key configured (--trust PUBKEY, or %s/*.pub)", file, systemTrustDir)
	}
	return a, warning, nil
}

func runFirewallApply(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErr("firewall apply takes no arguments (got %q)", c.Args().First())
	}
	// Every failure from here on leaves egress denied.
	fail := func(err error) error { return failErr("firewall: %v", firewall.FailClosed(err)) }
	a, warning, err := loadFirewall(c.String("artifact"), c.StringSlice("trust"), true)
	if err != nil {
		return fail(err)
	}
	if warning != "" {
		fmt.Fprintln(os.Stderr, warning)
	}
	if err := a.Spec.CheckMode(c.Bool("with-exec-proxy")); err != nil {
		return fail(err)
	}
	var ups []netip.AddrPort
	if a.Spec.Network.Mode == ir.NetworkProxy {
		if ups, err = upstreams(c.StringSlice("upstream"), "/etc/resolv.conf", a.Spec.Listen); err != nil {
			return fail(err)
		}
	}
	if err := firewall.Apply(a.Spec, ups); err != nil {
		return failErr("firewall: %v", err)
	}
	fmt.Fprintf(os.Stdout, "firewall: ruleset installed for profile %s (network %s)\n", a.Envelope.Scope.Profile, a.Spec.Network.Mode)
	if c.Bool("no-dns") || a.Spec.Network.Mode != ir.NetworkProxy {
		return nil
	}
	sets, err := firewall.OpenSets()
	if err != nil {
		return fail(err)
	}
	fwd, err := firewall.NewForwarder(a.Spec, ups, sets)
	if err != nil {
		return fail(err)
	}
	fwd.Log = func(s string) { fmt.Fprintln(os.Stderr, "firewall:", s) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = fwd.Serve(ctx, func() {
		fmt.Fprintf(os.Stdout, "firewall: DNS forwarder on %s (upstream %v)\n", a.Spec.Listen, ups)
		if c.Bool("set-resolver") {
			if err := setResolver("/etc/resolv.conf", a.Spec.Listen, ups); err != nil {
				fmt.Fprintf(os.Stderr, "firewall: %v; names will not resolve until /etc/resolv.conf names %s [%s]\n", err, a.Spec.Listen, diag.FirewallDNSFailed)
			}
		}
	})
	if err != nil {
		return failErr("firewall: %v; the ruleset stays, so egress stays denied", err)
	}
	return nil
}

// upstreams parses --upstream, or reads the nameservers of resolv.conf
// when none is given. The forwarder's own address is never its upstream.
func upstreams(flags []string, resolvConf, listen string) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	self := netip.MustParseAddrPort(listen)
	add := func(s, where string) error {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return diag.Errorf(diag.FirewallDNSFailed, "%s: %q is not an IP or IP:PORT", where, s).WithFix("--upstream 192.0.2.53")
			}
			ap = netip.AddrPortFrom(a, 53)
		}
		if ap == self {
			return nil
		}
		out = append(out, ap)
		return nil
	}
	for _, s := range flags {
		if err := add(s, "--upstream"); err != nil {
			return nil, err
		}
	}
	if len(flags) == 0 {
		f, err := os.Open(resolvConf)
		if err != nil {
			return nil, diag.Errorf(diag.FirewallDNSFailed, "no --upstream and %v", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimPrefix(sc.Text(), upstreamComment+" ")
			fields := strings.Fields(line)
			if len(fields) >= 2 && fields[0] == "nameserver" || len(fields) == 1 && line != sc.Text() {
				if len(fields) == 1 {
					fields = []string{"nameserver", fields[0]}
				}
				if err := add(fields[1], fmt.Sprintf("%s:%d", resolvConf, n)); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, diag.Errorf(diag.FirewallDNSFailed, "no upstream DNS server (none given with --upstream, none but the forwarder in %s)", resolvConf)
	}
	return out, nil
}

// setResolver points resolv.conf at the forwarder. The file is written
// in place: in a container it is often a bind mount, which a rename
// would not replace.
// The upstreams are kept in the file as comments, so that the next apply
// (after a container restart) still knows them.
func setResolver(file, listen string, ups []netip.AddrPort) error {
	ap := netip.MustParseAddrPort(listen)
	if ap.Port() != 53 {
		return fmt.Errorf("the forwarder listens on port %d; resolv.conf can only name port 53", ap.Port())
	}
	var b strings.Builder
	b.WriteString("# written by polc firewall apply: every lookup goes through polc's DNS forwarder\n")
	for _, u := range ups {
		b.WriteString(upstreamComment + " " + u.String() + "\n")
	}
	b.WriteString("nameserver " + ap.Addr().String() + "\n")
	return os.WriteFile(file, []byte(b.String()), 0o644)
}

// upstreamComment marks an upstream server setResolver kept.
const upstreamComment = "# polc-upstream"

func runFirewallStatus(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErr("firewall status takes no arguments (got %q)", c.Args().First())
	}
	st, err := firewall.Status()
	if err != nil {
		return failErr("firewall: %v", err)
	}
	fmt.Printf("table inet %s: output policy %s\n", firewall.Table, st.Policy)
	for _, r := range st.Rules {
		fmt.Println("  rule", r)
	}
	if len(st.Elements) == 0 {
		fmt.Println("no address is open")
	}
	for _, e := range st.Elements {
		fmt.Printf("  open %s for %s more\n", e.Addr, e.Expires.Round(time.Second))
	}
	return nil
}

func runFirewallExplain(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErr("firewall explain takes one HOST (a name or an IP address)")
	}
	// An explanation checks the artifact's integrity, not who signed it.
	a, warning, err := loadFirewall(c.String("artifact"), nil, false)
	if err != nil {
		return failErr("firewall: %v", err)
	}
	if warning != "" {
		fmt.Fprintln(os.Stderr, warning)
	}
	lines, err := firewall.Explain(a.Spec, c.Args().First())
	if err != nil {
		return failErr("firewall: %v", err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	return nil
}
