// Package landlock lowers a policy to Landlock plus seccomp, for hosts
// where bubblewrap cannot run (polc exec --landlock, or
// features.use_legacy_landlock = true), and only when that enforces the
// policy exactly.
//
// Landlock is allow-only: a process gets the union of the rights its
// rules grant, and a rule on a directory covers the whole tree beneath
// it. ir.Decide lets the deepest rule win. The two agree on every path
// exactly when no path below (or at) a grant is decided narrower than
// the union of the grants above it: it suffices to compare them at every
// rule's path (between two rule paths neither changes). Lower does that
// comparison with ir.Decide itself, so a policy it accepts cannot be
// enforced more loosely than Decide says, and each refusal names the
// rule, and the grant it lies under, with their file:line:
//
//   - a deny or read-only rule under a readable or writable tree
//     (POL235), a requirement's deny that crosses a grant (POL238);
//   - protected metadata (.git, .codex, ...) under a writable root
//     (POL237), present or missing (the command could create it);
//   - a deny glob whose base lies under a grant, or under which a grant
//     lies (POL236): it could match something Landlock grants;
//   - a proxy-only network (POL239) and allowed host Unix sockets
//     (POL240).
//
// Stricter than Decide, as bubblewrap is: a grant on a path that does not
// exist when the command starts grants nothing.
//
// Outside the policy's paths the payload grants what bubblewrap's
// minimal /dev gives (null, zero, full, random, urandom, tty: read and
// write). There is no mount, pid, network or IPC namespace: see
// docs/security.md for what that leaves visible.
package landlock

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"polc/diag"
	"polc/internal/seccomp"
	"polc/ir"
)

// Format is the payload format version.
const Format = 1

// Devices are the device files every Landlock sandbox may read and
// write, as in bubblewrap's minimal /dev.
var Devices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

// Grant is one Landlock rule: a host path (resolved) and what the tree
// beneath it may do.
type Grant struct {
	Path   string    `json:"path"`
	Access ir.Access `json:"access"`
	// Why names the policy rule behind it.
	Why string `json:"why"`
	// Pos is where that rule was written (zero for built-ins).
	Pos diag.Pos `json:"-"`
}

// Payload is what the launcher applies: the grants, bound to this host,
// the network, the seccomp filter and the Landlock ABI it needs.
type Payload struct {
	Format       int    `json:"format"`
	Profile      string `json:"profile"`
	Unrestricted bool   `json:"unrestricted,omitempty"`
	// Grants are sorted by path. Devices are added by the launcher.
	Grants []Grant `json:"grants"`
	// Network is none or full (a proxy network is refused).
	Network ir.NetworkMode `json:"network"`
	Seccomp seccomp.Spec   `json:"seccomp"`
	// MinABI is the Landlock ABI the grants need (see Needs).
	MinABI int `json:"min_abi"`
	// Need says, for the ABI check's message, which grant needs MinABI
	// and why.
	Need string `json:"need,omitempty"`
	// NeedPos is where that grant was written.
	NeedPos diag.Pos `json:"-"`
}

// Encode is the payload as JSON for the launcher.
func (p *Payload) Encode() ([]byte, error) { return json.Marshal(p) }

// Decode reads a payload back and checks it.
func Decode(b []byte) (*Payload, error) {
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("landlock payload: %v", err)
	}
	if p.Format != Format {
		return nil, fmt.Errorf("landlock payload: format %d, want %d", p.Format, Format)
	}
	if p.Unrestricted {
		return &p, nil
	}
	if p.Network != ir.NetworkNone && p.Network != ir.NetworkFull {
		return nil, fmt.Errorf("landlock payload: network %q", p.Network)
	}
	if err := p.Seccomp.Validate(); err != nil {
		return nil, fmt.Errorf("landlock payload: %v", err)
	}
	for _, g := range p.Grants {
		if !strings.HasPrefix(g.Path, "/") || (g.Access != ir.Read && g.Access != ir.Write) {
			return nil, fmt.Errorf("landlock payload: bad grant %q (%s)", g.Path, g.Access)
		}
	}
	return &p, nil
}

// Conflict is one reason the policy cannot be enforced exactly.
type Conflict struct {
	Code diag.Code
	Pos  diag.Pos
	// Related are the other places involved (the grant a rule lies under).
	Related []diag.Related
	Msg     string
	Fix     string
	// Witness is a path where Landlock would allow more than Decide, and
	// Op the operation ("" and 0 when there is none to name, for globs
	// and the network).
	Witness string
	Op      ir.Op
}

// Diagnostic is the conflict as a diagnostic; by says what asked for
// Landlock ("--landlock", or the feature and where it was set).
func (c Conflict) Diagnostic(by string) diag.Diagnostic {
	return diag.Diagnostic{Code: c.Code, Severity: c.Code.Severity(), Pos: c.Pos, Related: c.Related,
		Message: fmt.Sprintf("Landlock (asked by %s) cannot enforce this exactly: %s", by, c.Msg), Fix: c.Fix}
}

// boundRule is a policy rule on this host.
type boundRule struct {
	path   string
	access ir.Access
	rule   *ir.Rule // nil for :minimal roots
	exists bool
}

func (b boundRule) why(minimal *ir.Origin) string {
	if b.rule == nil {
		return fmt.Sprintf(":minimal root %s (read)", b.path)
	}
	s := fmt.Sprintf("%s rule %q", b.rule.Access, b.rule.Origin.Key)
	if b.rule.Origin.Key == "" {
		s = fmt.Sprintf("%s rule on %s", b.rule.Access, b.path)
	}
	if p := b.rule.Origin.Pos.String(); p != "" {
		s += " at " + p
	} else {
		s += " (" + b.rule.Origin.Kind + ")"
	}
	return s
}

func (b boundRule) pos(minimal *ir.Origin) diag.Pos {
	if b.rule == nil {
		if minimal != nil {
			return minimal.Pos
		}
		return diag.Pos{}
	}
	return b.rule.Origin.Pos
}

// Lower binds the policy on env and lowers it to a payload, or says why
// Landlock cannot enforce it exactly (every reason, in policy order).
func Lower(p *ir.Policy, env ir.Env) (*Payload, []Conflict) {
	if env.Resolve == nil {
		env.Resolve = ir.ResolvePath
	}
	if env.Exists == nil {
		env.Exists = ir.Exists
	}
	env.Platform = ir.Linux
	out := &Payload{Format: Format, Profile: p.Profile, Network: p.Network.Mode}
	if p.Unrestricted {
		out.Unrestricted, out.Network = true, ir.NetworkFull
		return out, nil
	}
	var conflicts []Conflict

	// Missing protected names count as present where they could appear:
	// the command could create them below a writable directory, and
	// Decide would then hold them read-only. Below a file nothing can.
	present := env
	present.Exists = func(p string) bool {
		for a := p; ; a = path.Dir(a) {
			if env.Exists(a) {
				if a == p {
					return true
				}
				fi, err := os.Stat(a)
				return err == nil && fi.IsDir()
			}
			if a == "/" {
				return false
			}
		}
	}
	dec, err := ir.NewDecider(p, present)
	if err != nil {
		return nil, []Conflict{{Code: diag.LandlockSetup, Msg: err.Error(), Fix: "fix the rule"}}
	}
	var rules []boundRule
	for i := range p.Rules {
		r := &p.Rules[i]
		host, ok := env.Bindings.BindOK(r.Path)
		if !ok {
			return nil, []Conflict{{Code: diag.LandlockSetup, Pos: r.Origin.Pos, Msg: "rule path " + r.Path + ": variable not bound", Fix: "report a bug"}}
		}
		host = env.Resolve(host)
		rules = append(rules, boundRule{path: host, access: r.Access, rule: r, exists: env.Exists(host)})
	}
	if p.Minimal != nil {
		for _, root := range ir.MinimalRoots[ir.Linux] {
			host := env.Resolve(root)
			rules = append(rules, boundRule{path: host, access: ir.Read, exists: env.Exists(host)})
		}
	}
	// The grants Landlock gets: readable or writable rules that are not
	// mandatory denies, on paths that exist (Landlock opens each).
	var grants []boundRule
	for _, r := range rules {
		if (r.access == ir.Read || r.access == ir.Write) && r.exists {
			grants = append(grants, r)
		}
	}
	union := func(path string) (ir.Access, *boundRule) {
		acc := ir.Access(0)
		var by *boundRule
		for i := range grants {
			g := &grants[i]
			if ir.HasPathPrefix(path, g.path) && (g.access > acc || g.access == acc && len(g.path) > len(by.path)) {
				acc, by = g.access, g
			}
		}
		return acc, by
	}

	// Every rule path: Landlock's union there must not exceed Decide.
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.path] {
			continue
		}
		seen[r.path] = true
		acc, by := union(r.path)
		if acc == 0 {
			continue
		}
		for _, op := range []ir.Op{ir.OpRead, ir.OpWrite} {
			if !allows(acc, op) {
				continue
			}
			d := dec.Decide(r.path, op)
			if d.Allowed {
				continue
			}
			conflicts = append(conflicts, conflictAt(r, rules, by, d, op, p.Minimal))
			break
		}
	}

	// Deny globs: one that could match under a grant.
	for i := range p.Globs {
		g := &p.Globs[i]
		hg, err := g.Bind(env)
		if err != nil {
			continue
		}
		base := hg.Base
		if acc, by := union(base); acc != 0 {
			conflicts = append(conflicts, globConflict(g, base, by, p.Minimal, "lies under"))
			continue
		}
		for j := range grants {
			if ir.HasPathPrefix(grants[j].path, base) {
				conflicts = append(conflicts, globConflict(g, base, &grants[j], p.Minimal, "lies above"))
				break
			}
		}
	}

	switch p.Network.Mode {
	case ir.NetworkNone:
		out.Seccomp = seccomp.ForNetwork(false)
	case ir.NetworkFull:
		out.Seccomp = fullNetworkFilter()
	case ir.NetworkProxy:
		conflicts = append(conflicts, Conflict{Code: diag.LandlockProxyNetwork, Pos: p.Network.Origin.Pos,
			Msg: fmt.Sprintf("the network is polc's proxy (%s), which needs a network namespace of its own", p.Network.Origin),
			Fix: "run under bubblewrap (drop --landlock / use_legacy_landlock), or turn the network off or fully on"})
	}
	for _, s := range p.Network.UnixSockets {
		conflicts = append(conflicts, Conflict{Code: diag.LandlockUnixSockets, Pos: s.Origin.Pos,
			Msg: fmt.Sprintf("unix_sockets allows %s: without a mount namespace the filter cannot tell one host socket from another", s.Path),
			Fix: "remove the socket from unix_sockets, or run under bubblewrap"})
	}
	if o := p.Network.AllUnixSockets; o != nil {
		conflicts = append(conflicts, Conflict{Code: diag.LandlockUnixSockets, Pos: o.Pos,
			Msg: "dangerously_allow_all_unix_sockets is set, and Landlock mode refuses every AF_UNIX socket but connected pairs",
			Fix: "remove dangerously_allow_all_unix_sockets, or run under bubblewrap"})
	}
	if len(conflicts) > 0 {
		return nil, conflicts
	}

	seenGrant := map[string]int{}
	for _, g := range grants {
		if j, ok := seenGrant[g.path]; ok {
			if g.access > out.Grants[j].Access {
				out.Grants[j].Access, out.Grants[j].Why, out.Grants[j].Pos = g.access, g.why(p.Minimal), g.pos(p.Minimal)
			}
			continue
		}
		seenGrant[g.path] = len(out.Grants)
		out.Grants = append(out.Grants, Grant{Path: g.path, Access: g.access, Why: g.why(p.Minimal), Pos: g.pos(p.Minimal)})
	}
	sort.Slice(out.Grants, func(i, j int) bool { return out.Grants[i].Path < out.Grants[j].Path })
	out.MinABI = 1
	for _, g := range out.Grants {
		// ABI 2 handles refer (without it no file may move between
		// directories); ABI 3 handles truncate (without it truncate(2)
		// empties a file in a read-only tree).
		switch {
		case g.Access == ir.Read && out.MinABI < 3:
			out.MinABI, out.Need, out.NeedPos = 3, fmt.Sprintf("%s keeps %s read-only, which needs Landlock's truncate right (ABI 3)", g.Why, g.Path), g.Pos
		case g.Access == ir.Write && out.MinABI < 2:
			out.MinABI, out.Need, out.NeedPos = 2, fmt.Sprintf("%s lets the command move files within %s, which needs Landlock's refer right (ABI 2)", g.Why, g.Path), g.Pos
		}
	}
	return out, nil
}

// fullNetworkFilter is the filter with the network on: TCP and UDP over
// IPv4 and IPv6, and AF_UNIX only as connected pairs (the proxy
// filter's families). Without a mount or network namespace a Unix socket
// cannot be limited to those the command may see, so none of the host's
// is reachable: stricter than bubblewrap, which lets the command connect
// to the sockets it can see.
func fullNetworkFilter() seccomp.Spec { return seccomp.ForProxy() }

func allows(a ir.Access, op ir.Op) bool {
	return a == ir.Write || (a == ir.Read && op == ir.OpRead)
}

// protectedNames are the metadata names held read-only under writable
// roots (the compiler's protected rules, and the built-in :workspace's).
var protectedNames = map[string]bool{".git": true, ".agents": true, ".aws": true, ".codex": true, ".polc": true}

// conflictAt explains a rule path where Landlock's union (granted by
// by) allows op and Decide does not.
func conflictAt(r boundRule, rules []boundRule, by *boundRule, d ir.Decision, op ir.Op, minimal *ir.Origin) Conflict {
	c := Conflict{Witness: r.path, Op: op, Related: []diag.Related{diag.Rel(by.pos(minimal), "the grant, which Landlock applies to its whole tree")}}
	// The rule that decides: Decide's, else the one on this path.
	decider := r
	if d.Rule != nil {
		for _, x := range rules {
			if x.rule == d.Rule {
				decider = x
			}
		}
	}
	c.Pos = decider.pos(minimal)
	grant := by.why(minimal)
	switch {
	case decider.rule != nil && decider.rule.Mandatory:
		c.Code = diag.LandlockMandatoryDeny
		c.Msg = fmt.Sprintf("%s denies %s, which the %s grants to Landlock (a grant covers its whole tree and cannot be taken back)", decider.why(minimal), r.path, grant)
		c.Fix = "run under bubblewrap (the requirement's deny is mandatory), or narrow the grant so it does not cover " + r.path
	case decider.rule != nil && d.Access == ir.Read && by.access == ir.Write && (decider.rule.Origin.Kind == ir.OriginProtected || protectedNames[path.Base(r.path)]):
		c.Code = diag.LandlockProtectedMetadata
		c.Msg = fmt.Sprintf("%s keeps %s read-only (protected metadata), but the %s lets the command write it", decider.why(minimal), r.path, grant)
		c.Fix = fmt.Sprintf("name %s with an explicit write rule if the command may change it, or run under bubblewrap", r.path)
	default:
		c.Code = diag.LandlockNarrowerUnderGrant
		what := "denies"
		if d.Access == ir.Read {
			what = "makes read-only"
		}
		c.Msg = fmt.Sprintf("%s %s %s, which lies under the %s: Landlock grants whole trees and cannot carve %s out", decider.why(minimal), what, r.path, grant, r.path)
		c.Fix = "run under bubblewrap, or replace the grant above it by grants on the siblings the command needs (keep the narrower rule)"
	}
	return c
}

func globConflict(g *ir.Glob, base string, by *boundRule, minimal *ir.Origin, rel string) Conflict {
	return Conflict{Code: diag.LandlockGlobUnderGrant, Pos: g.Origin.Pos, Related: []diag.Related{diag.Rel(by.pos(minimal), "the grant, which Landlock applies to its whole tree")},
		Msg: fmt.Sprintf("deny glob %q (%s) starts at %s, which %s the %s: the glob could match a path Landlock grants", g.Pattern, g.Origin, base, rel, by.why(minimal)),
		Fix: "run under bubblewrap, which hides each match (keep the deny glob)"}
}
