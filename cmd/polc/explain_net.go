package main

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"polc/compiler"
	"polc/diag"
	"polc/ir"
)

var (
	netFlag = &cli.StringSliceFlag{Name: "net", Usage: "explain a network request to `HOST[:PORT]` (or a URL) instead of paths; repeatable"}
	// methodFlag has no default: a URL's scheme picks one (CONNECT for
	// https), else GET.
	methodFlag = &cli.StringFlag{Name: "method", Usage: "with --net: the request's `METHOD` (GET, POST, …, CONNECT for an HTTPS tunnel, SOCKS5); default GET, CONNECT for an https:// URL"}
)

// netExplanation is explain --net's answer for one request; the JSON
// form is a list of these.
type netExplanation struct {
	Request string `json:"request"`
	Method  string `json:"method"`
	Host    string `json:"host"`
	Port    int    `json:"port"`
	Allowed bool   `json:"allowed"`
	// Reason is the proxy's refusal reason ("" when allowed).
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail"`
	// Rule is the deciding domain rule ("" when a setting decided).
	Rule       string `json:"rule,omitempty"`
	RuleAction string `json:"rule_action,omitempty"`
	Managed    bool   `json:"managed,omitempty"`
	// Source is the file:line:col of the deciding rule or setting.
	Source string `json:"source,omitempty"`
	// Setting names the deciding setting (the network mode, methods or
	// local addresses) when no rule decided.
	Setting string `json:"setting,omitempty"`
	// CheckAddrs: allowed only if the name resolves to public addresses.
	CheckAddrs bool `json:"check_addrs,omitempty"`
	// Dropped are user allow rules that match the host but requirements
	// made ineffective.
	Dropped []string `json:"dropped,omitempty"`
	// Network is the policy's network mode and what decided it.
	Network       string `json:"network"`
	NetworkOrigin string `json:"network_origin"`
}

// parseNetTarget reads HOST, HOST:PORT, [V6]:PORT or a URL. The port
// defaults to the scheme's (https 443, http 80), else 443 for a tunnel
// and 80 for the rest; the method to CONNECT for an https URL, else GET.
func parseNetTarget(arg, method string) (host string, port int, m string, err error) {
	m = strings.ToUpper(strings.TrimSpace(method))
	scheme := ""
	target := strings.TrimSpace(arg)
	if strings.Contains(target, "://") {
		u, perr := url.Parse(target)
		if perr != nil || u.Hostname() == "" {
			return "", 0, "", fmt.Errorf("--net %q is not a URL", arg)
		}
		scheme = strings.ToLower(u.Scheme)
		target = u.Host
	}
	if m == "" {
		m = "GET"
		if scheme == "https" || scheme == "wss" {
			m = ir.MethodConnect
		}
	}
	for _, c := range m {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "", 0, "", fmt.Errorf("--method %q is not an HTTP method", method)
		}
	}
	host, portText := target, ""
	if h, p, serr := net.SplitHostPort(target); serr == nil {
		host, portText = h, p
	} else if strings.HasPrefix(target, "[") && strings.HasSuffix(target, "]") {
		host = target[1 : len(target)-1]
	}
	switch {
	case portText != "":
		n, perr := strconv.Atoi(portText)
		if perr != nil || n < 1 || n > 65535 {
			return "", 0, "", fmt.Errorf("--net %q: port %q is not a number from 1 to 65535", arg, portText)
		}
		port = n
	case scheme == "https" || scheme == "wss":
		port = 443
	case scheme == "http" || scheme == "ws":
		port = 80
	case m == ir.MethodConnect || m == ir.MethodSOCKS5:
		port = 443
	default:
		port = 80
	}
	if host == "" {
		return "", 0, "", fmt.Errorf("--net %q names no host", arg)
	}
	return host, port, m, nil
}

func runExplainNet(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErr("explain --net takes no PATH (got %q); ask about paths in a separate run", c.Args().First())
	}
	if c.Bool(approvalsFlag.Name) {
		return usageErr("explain: --net and --approvals are separate questions; ask one")
	}
	if c.String("op") != "" {
		return usageErr("explain: --op is for paths; --net uses --method")
	}
	if t := c.String("target"); t != "ir" {
		return usageErr("explain --net answers for the policy itself (--target ir): every backend enforces a proxy network through polc's proxy, which asks the same decision; got --target %s", t)
	}
	format := c.String("format")
	if format != "text" && format != "json" {
		return usageErr("unknown --format %q: use text or json", format)
	}
	type req struct {
		arg, host, method string
		port              int
	}
	var reqs []req
	for _, arg := range c.StringSlice(netFlag.Name) {
		h, p, m, err := parseNetTarget(arg, c.String(methodFlag.Name))
		if err != nil {
			return usageErr("%v", err)
		}
		reqs = append(reqs, req{arg, h, m, p})
	}

	res := compiler.Compile(compileOptions(c))
	if res.Policy == nil {
		_ = writeDiags(c, res, diag.Text)
		return silentExit(1)
	}
	n := res.Policy.Network
	if res.Policy.Unrestricted {
		n = ir.Network{Mode: ir.NetworkFull, Origin: n.Origin}
	}
	dec, err := ir.NewNetDecider(n)
	if err != nil {
		return failErr("%v", err)
	}
	var proxy ir.Proxy
	if n.Proxy != nil {
		proxy = *n.Proxy
	}
	mode := string(n.Mode)
	if res.Policy.Unrestricted {
		mode = "full (unrestricted profile: no sandbox)"
	}
	var out []netExplanation
	for _, r := range reqs {
		d := dec.DecideNet(r.host, r.port, r.method)
		e := netExplanation{Request: r.arg, Method: d.Method, Host: d.Host, Port: d.Port, Allowed: d.Allowed, Reason: d.Reason,
			Detail: d.Detail, CheckAddrs: d.CheckAddrs, Network: mode, NetworkOrigin: res.Env.HostOrigin(n.Origin).String()}
		switch {
		case d.Rule != nil:
			e.Rule, e.RuleAction, e.Managed, e.Source = d.Rule.Pattern, string(d.Rule.Action), d.Rule.Managed, res.Env.HostPos(d.Rule.Origin.Pos).String()
		case d.Setting != nil && d.Setting.Kind != "":
			setting := res.Env.HostOrigin(*d.Setting)
			e.Setting, e.Source = setting.String(), setting.Pos.String()
		}
		if !d.Allowed && d.Reason == ir.ReasonNotAllowed {
			for _, dr := range proxy.DroppedFor(d.Host) {
				dr.Rule.Origin = res.Env.HostOrigin(dr.Rule.Origin)
				if dr.By != nil {
					by := *dr.By
					by.Origin = res.Env.HostOrigin(by.Origin)
					dr.By = &by
				}
				if dr.Setting != nil {
					setting := res.Env.HostOrigin(*dr.Setting)
					dr.Setting = &setting
				}
				e.Dropped = append(e.Dropped, fmt.Sprintf("%s: %s", dr.Rule, dr.Why()))
			}
		}
		out = append(out, e)
	}
	if format == "json" {
		return printJSON(out)
	}
	for _, e := range out {
		verdict := "allowed"
		if !e.Allowed {
			verdict = "refused (" + e.Reason + ")"
		}
		fmt.Printf("%s %s: %s\n", e.Method, ir.JoinHostPort(e.Host, e.Port), verdict)
		fmt.Printf("\t%s\n", e.Detail)
		switch {
		case e.Rule != "":
			kind := "rule"
			if e.Managed {
				kind = "managed rule"
			}
			fmt.Printf("\t%s %s %q at %s\n", kind, e.RuleAction, e.Rule, orUnknown(e.Source))
		case e.Setting != "":
			fmt.Printf("\tsetting: %s\n", e.Setting)
		}
		if e.CheckAddrs {
			fmt.Printf("\tand only if %s resolves to public addresses: local addresses are not allowed (%s)\n", e.Host, proxy.LocalOrigin)
		}
		for _, d := range e.Dropped {
			fmt.Printf("\tnote: your %s\n", d)
		}
		fmt.Printf("\tnetwork: %s, from %s\n", e.Network, e.NetworkOrigin)
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(no file)"
	}
	return s
}
