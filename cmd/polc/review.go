package main

import (
	"fmt"
	"strings"

	"polc/artifact"
	"polc/diag"
	"polc/ir"
)

// reviewName is the review file beside a profile's artifacts.
func reviewName(profile string) string { return artifact.Stem(profile, "review") + ".txt" }

// reviewText is the short, human-readable form of a built policy that polc
// build writes beside the artifacts: one line per rule and deny glob (the
// masks) with its origin, then :minimal and the network (with a proxy
// network's domain rules and settings, and the user's allow rules the
// requirements dropped). It is the same
// for every platform and holds no host path, so a pull request's diff of
// it shows the policy change at a glance. Origins name the file and key
// but not the line: a rule added at the top of a config would otherwise
// change every line below it.
func reviewText(p *ir.Policy) string {
	// The full positions stay in the artifacts; here only the file.
	at := func(o ir.Origin) string {
		file := o.Pos.File
		o.Pos = diag.Pos{}
		if file == "" {
			return o.String()
		}
		return o.String() + " in " + file
	}
	var b strings.Builder
	head := p.Profile
	if len(p.Extends) > 0 {
		head += " (extends " + strings.Join(p.Extends, " -> ") + ")"
	}
	fmt.Fprintf(&b, "# polc build: the policy of profile %s, one line per rule; generated, do not edit\n", head)
	if p.Unrestricted {
		b.WriteString("unrestricted: no sandbox\n")
		return b.String()
	}
	// Fixed columns (no alignment to the longest path): a new rule adds
	// one line to the diff, not a change to every line.
	line := func(what, subject, origin string) { fmt.Fprintf(&b, "%-11s %s  <- %s\n", what, subject, origin) }
	for _, r := range p.Rules {
		flag := ""
		if r.Mandatory {
			flag = " (required)"
		}
		line(r.Access.String(), r.Path, at(r.Origin)+flag)
	}
	for _, g := range p.Globs {
		depth := "any depth"
		if g.MaxDepth > 0 {
			depth = fmt.Sprintf("depth %d (any where writable)", g.MaxDepth)
		}
		flag := ""
		if g.Mandatory {
			flag = " (required)"
		}
		line("deny glob", g.Pattern, at(g.Origin)+"; "+depth+flag)
	}
	if p.Minimal != nil {
		line("read", ":minimal", at(*p.Minimal))
	}
	line("network", fmt.Sprint(p.Network.Mode), at(p.Network.Origin))
	if px := p.Network.Proxy; px != nil && p.Network.Mode == ir.NetworkProxy {
		for _, r := range px.Domains {
			line(string(r.Action)+" host", r.Pattern, at(r.Origin))
		}
		methods := "full (every method, tunnels)"
		if px.Methods == ir.MethodsLimited {
			methods = "limited (GET, HEAD, OPTIONS; no tunnels)"
		}
		line("methods", methods, at(px.MethodOrigin))
		local := "refused"
		if px.AllowLocal {
			local = "allowed"
		}
		line("local addr", local, at(px.LocalOrigin))
		socks := "off"
		if px.SOCKS5 {
			socks = "on"
		}
		line("socks5", socks, at(px.SOCKS5Origin))
		for _, d := range px.Dropped {
			line("dropped", d.Rule.Pattern, at(d.Rule.Origin)+"; "+d.Why())
		}
	}
	for _, u := range p.Network.UnixSockets {
		line("unix socket", u.Path, at(u.Origin))
	}
	if p.Network.AllUnixSockets != nil {
		line("unix socket", "all", at(*p.Network.AllUnixSockets))
	}
	return b.String()
}
