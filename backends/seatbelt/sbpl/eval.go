package sbpl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Request is one access to decide.
type Request struct {
	// Op is an SBPL operation name: file-read-data, file-write-create,
	// network-outbound, ...
	Op string
	// Path is the canonical path of a file operation.
	Path string
	// Host and Port are the remote address of a network operation.
	Host string
	Port int
}

// Env gives the interpreter what the kernel would know.
type Env struct {
	// Params are the -D KEY=VALUE definitions.
	Params map[string]string
	// VnodeType returns the vnode type of a path (REGULAR-FILE, DIRECTORY,
	// SYMLINK, CHARACTER-DEVICE, ...), "" when it does not exist. Nil
	// means every vnode-type filter is false.
	VnodeType func(path string) string
}

// Rule is one allow or deny form of the profile.
type Rule struct {
	Allow bool
	Ops   []string
	// Filters are the rule's filters, any of which matches; none means
	// the rule applies to every request of its operations.
	Filters []*Node
	Node    *Node
	match   []filter
}

// Program is a profile compiled against its parameters.
type Program struct {
	Rules []*Rule
	// Default is the (allow|deny default) rule, nil when absent (deny).
	Default *Rule
	env     Env
	cache   map[*Node]filter
}

// Decision is the interpreter's answer and the rule that gave it.
type Decision struct {
	Allowed bool
	// Rule decided; nil when the implicit default (deny) did.
	Rule *Rule
	// Filter is the filter of Rule that matched; nil for a rule without
	// filters and for the default.
	Filter *Node
}

type filter func(r *Request) bool

// Compile binds a parsed profile to its parameters. It fails on forms,
// operations or filters outside the supported SBPL subset, on an unknown
// parameter, and on a regex that does not compile: a profile the
// interpreter cannot fully read is not judged.
func Compile(p *Profile, env Env) (*Program, error) {
	prog := &Program{env: env, cache: map[*Node]filter{}}
	sawVersion := false
	for _, f := range p.Forms {
		switch f.head() {
		case "version":
			a := f.args()
			if v, ok := singleNumber(a); !ok || v != 1 {
				return nil, fmt.Errorf("%s: only (version 1) is supported", f.Pos)
			}
			sawVersion = true
		case "allow", "deny":
			r, err := compileRule(f, env)
			if err != nil {
				return nil, err
			}
			if len(r.Ops) == 1 && r.Ops[0] == "default" {
				if len(r.match) > 0 {
					return nil, fmt.Errorf("%s: a default rule takes no filter", f.Pos)
				}
				prog.Default = r
				continue
			}
			prog.Rules = append(prog.Rules, r)
		default:
			return nil, fmt.Errorf("%s: unsupported top-level form %s", f.Pos, short(f))
		}
	}
	if !sawVersion {
		return nil, fmt.Errorf("profile has no (version 1)")
	}
	return prog, nil
}

func singleNumber(a []*Node) (int, bool) {
	if len(a) != 1 {
		return 0, false
	}
	return a[0].number()
}

func short(n *Node) string {
	s := n.String()
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func compileRule(f *Node, env Env) (*Rule, error) {
	r := &Rule{Allow: f.head() == "allow", Node: f}
	for _, a := range f.args() {
		switch {
		case a.Sym != nil && len(r.Filters) == 0:
			if !validOp(*a.Sym) {
				return nil, fmt.Errorf("%s: %q is not an operation name", a.Pos, *a.Sym)
			}
			r.Ops = append(r.Ops, *a.Sym)
		case a.List != nil && a.head() == "with":
			// (with message "...") / (with report): logging only.
		case a.List != nil:
			m, err := compileFilter(a, env)
			if err != nil {
				return nil, err
			}
			r.Filters = append(r.Filters, a)
			r.match = append(r.match, m)
		default:
			return nil, fmt.Errorf("%s: unexpected %s in rule", a.Pos, short(a))
		}
	}
	if len(r.Ops) == 0 {
		return nil, fmt.Errorf("%s: rule names no operation", f.Pos)
	}
	return r, nil
}

func validOp(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c == '-' && i > 0, c >= '0' && c <= '9' && i > 0:
		case c == '*' && i == len(s)-1:
		default:
			return false
		}
	}
	return true
}

// opCovers reports whether a rule's operation covers a request's.
func opCovers(ruleOp, op string) bool {
	if p, ok := strings.CutSuffix(ruleOp, "*"); ok {
		return strings.HasPrefix(op, p)
	}
	return ruleOp == op
}

// otherFilters test attributes no file or network-outbound request has
// (sysctl names, mach services, IPC names, ...): they are accepted, and
// never match the requests this interpreter decides.
var otherFilters = map[string]bool{
	"sysctl-name": true, "sysctl-name-prefix": true, "sysctl-name-regex": true,
	"global-name": true, "global-name-prefix": true, "global-name-regex": true, "local-name": true, "local-name-prefix": true,
	"xpc-service-name": true, "xpc-service-name-prefix": true,
	"ipc-posix-name": true, "ipc-posix-name-prefix": true, "ipc-posix-name-regex": true,
	"iokit-registry-entry-class": true, "iokit-user-client-class": true,
	"target": true, "socket-domain": true, "socket-protocol": true, "socket-type": true,
	"appleevent-destination": true, "preference-domain": true, "fsctl-command": true,
	"ioctl-command": true, "syscall-number": true, "machtrap-number": true, "kernel-mig-routine": true,
}

func compileFilter(n *Node, env Env) (filter, error) {
	h := n.head()
	args := n.args()
	switch h {
	case "literal", "path", "subpath", "prefix", "path-ancestors":
		vals, err := stringArgs(h, n, args, env)
		if err != nil {
			return nil, err
		}
		return pathFilter(h, vals), nil
	case "regex":
		vals, err := stringArgs(h, n, args, env)
		if err != nil {
			return nil, err
		}
		var res []*regexp.Regexp
		for _, v := range vals {
			re, err := regexp.Compile("(?s)" + v)
			if err != nil {
				return nil, fmt.Errorf("%s: regex %q: %v", n.Pos, v, err)
			}
			res = append(res, re)
		}
		return func(r *Request) bool {
			if r.Path == "" {
				return false
			}
			for _, re := range res {
				if re.MatchString(r.Path) {
					return true
				}
			}
			return false
		}, nil
	case "require-all", "require-any":
		var subs []filter
		for _, a := range args {
			if a.List == nil {
				return nil, fmt.Errorf("%s: %s takes filters, not %s", a.Pos, h, short(a))
			}
			f, err := compileFilter(a, env)
			if err != nil {
				return nil, err
			}
			subs = append(subs, f)
		}
		if h == "require-all" {
			return func(r *Request) bool {
				for _, f := range subs {
					if !f(r) {
						return false
					}
				}
				return true
			}, nil
		}
		return func(r *Request) bool {
			for _, f := range subs {
				if f(r) {
					return true
				}
			}
			return false
		}, nil
	case "require-not":
		if len(args) != 1 || args[0].List == nil {
			return nil, fmt.Errorf("%s: require-not takes one filter", n.Pos)
		}
		f, err := compileFilter(args[0], env)
		if err != nil {
			return nil, err
		}
		return func(r *Request) bool { return !f(r) }, nil
	case "vnode-type":
		types := map[string]bool{}
		for _, a := range args {
			if a.Sym == nil {
				return nil, fmt.Errorf("%s: vnode-type takes type names", a.Pos)
			}
			types[*a.Sym] = true
		}
		return func(r *Request) bool {
			return r.Path != "" && env.VnodeType != nil && types[env.VnodeType(r.Path)]
		}, nil
	case "extension", "extension-class":
		// sandbox-exec issues no sandbox extensions to the command.
		return func(*Request) bool { return false }, nil
	case "remote", "local":
		return addressFilter(h, n, args)
	}
	if otherFilters[h] {
		return func(*Request) bool { return false }, nil
	}
	return nil, fmt.Errorf("%s: unsupported filter %s", n.Pos, short(n))
}

func pathFilter(kind string, vals []string) filter {
	return func(r *Request) bool {
		if r.Path == "" {
			return false
		}
		for _, v := range vals {
			switch kind {
			case "literal", "path":
				if r.Path == v {
					return true
				}
			case "subpath":
				if r.Path == v || v == "/" && strings.HasPrefix(r.Path, "/") ||
					strings.HasPrefix(r.Path, v) && len(r.Path) > len(v) && r.Path[len(v)] == '/' {
					return true
				}
			case "prefix":
				if strings.HasPrefix(r.Path, v) {
					return true
				}
			case "path-ancestors":
				if r.Path == v || r.Path == "/" || strings.HasPrefix(v, r.Path+"/") {
					return true
				}
			}
		}
		return false
	}
}

func stringArgs(h string, n *Node, args []*Node, env Env) ([]string, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: %s takes an argument", n.Pos, h)
	}
	var out []string
	for _, a := range args {
		s, err := evalString(a, env)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// evalString evaluates the string expressions SBPL profiles use for
// filter arguments: literals, (param K), (string-append ...) and
// (regex-quote S).
func evalString(n *Node, env Env) (string, error) {
	switch {
	case n.Str != nil:
		return *n.Str, nil
	case n.Regex != nil:
		return *n.Regex, nil
	case n.List != nil:
		switch h := n.head(); h {
		case "param":
			a := n.args()
			if len(a) != 1 || a[0].Str == nil {
				return "", fmt.Errorf("%s: param takes one string", n.Pos)
			}
			v, ok := env.Params[*a[0].Str]
			if !ok {
				return "", fmt.Errorf("%s: parameter %q is not defined", n.Pos, *a[0].Str)
			}
			return v, nil
		case "string-append":
			var b strings.Builder
			for _, a := range n.args() {
				s, err := evalString(a, env)
				if err != nil {
					return "", err
				}
				b.WriteString(s)
			}
			return b.String(), nil
		case "regex-quote":
			a := n.args()
			if len(a) != 1 {
				return "", fmt.Errorf("%s: regex-quote takes one string", n.Pos)
			}
			s, err := evalString(a[0], env)
			if err != nil {
				return "", err
			}
			return RegexQuote(s), nil
		}
	}
	return "", fmt.Errorf("%s: expected a string expression, got %s", n.Pos, short(n))
}

// RegexQuote is SBPL's regex-quote as the interpreter models it: every
// regex metacharacter escaped, so the result matches s literally.
func RegexQuote(s string) string {
	const meta = `\.+*?()|[]{}^$#&-~`
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(meta, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// addressFilter compiles (remote ip "HOST:PORT") and (local ip ...).
// Seatbelt accepts only localhost or * as the host; localhost covers the
// loopback addresses. Unix-socket forms never match an IP request.
func addressFilter(h string, n *Node, args []*Node) (filter, error) {
	if len(args) == 0 || args[0].Sym == nil {
		return nil, fmt.Errorf("%s: %s takes an address family", n.Pos, h)
	}
	fam := *args[0].Sym
	switch fam {
	case "unix-socket", "unix":
		return func(*Request) bool { return false }, nil
	case "ip", "ip4", "ip6", "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return nil, fmt.Errorf("%s: unsupported address family %s", n.Pos, fam)
	}
	host, port := "*", "*"
	if len(args) > 1 {
		if args[1].Str == nil || len(args) > 2 {
			return nil, fmt.Errorf("%s: %s %s takes one \"HOST:PORT\" string", n.Pos, h, fam)
		}
		var ok bool
		host, port, ok = strings.Cut(*args[1].Str, ":")
		if !ok || (host != "*" && host != "localhost") {
			return nil, fmt.Errorf("%s: address %q: host must be localhost or *", n.Pos, *args[1].Str)
		}
		if port != "*" {
			if _, err := strconv.Atoi(port); err != nil {
				return nil, fmt.Errorf("%s: address %q: bad port", n.Pos, *args[1].Str)
			}
		}
	}
	remote := h == "remote"
	return func(r *Request) bool {
		if r.Host == "" || !remote {
			// local filters constrain the local end, which outbound
			// requests here do not carry: they do not match.
			return false
		}
		if host == "localhost" && !isLoopback(r.Host) {
			return false
		}
		return port == "*" || port == strconv.Itoa(r.Port)
	}, nil
}

func isLoopback(h string) bool {
	return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.")
}

// Eval decides one request under the precedence model in the package doc.
func (p *Program) Eval(r Request) Decision {
	for i := len(p.Rules) - 1; i >= 0; i-- {
		rule := p.Rules[i]
		covered := false
		for _, op := range rule.Ops {
			if opCovers(op, r.Op) {
				covered = true
				break
			}
		}
		if !covered {
			continue
		}
		if len(rule.match) == 0 {
			return Decision{Allowed: rule.Allow, Rule: rule}
		}
		for j, m := range rule.match {
			if m(&r) {
				return Decision{Allowed: rule.Allow, Rule: rule, Filter: rule.Filters[j]}
			}
		}
	}
	if p.Default != nil {
		return Decision{Allowed: p.Default.Allow, Rule: p.Default}
	}
	return Decision{}
}

// Match evaluates one filter node of the program (for example a branch of
// a require-any) on a request.
func (p *Program) Match(r Request, n *Node) bool {
	f, ok := p.cache[n]
	if !ok {
		var err error
		if f, err = compileFilter(n, p.env); err != nil {
			f = func(*Request) bool { return false }
		}
		p.cache[n] = f
	}
	return f(&r)
}

// Why explains a filter's result on a request as a path of nodes into
// it: when the filter matches, the require-any branches taken; when it
// does not, the require-all clause that failed (a require-not whose
// filter matched, typically). It ends early where no single node is to
// blame (no branch of a require-any matched).
func (p *Program) Why(r Request, n *Node) []*Node {
	switch n.head() {
	case "require-all":
		for _, c := range n.args() {
			if !p.Match(r, c) {
				return append([]*Node{c}, p.Why(r, c)...)
			}
		}
		for _, c := range n.args() {
			if c.head() == "require-any" {
				return append([]*Node{c}, p.Why(r, c)...)
			}
		}
	case "require-any":
		for _, c := range n.args() {
			if p.Match(r, c) {
				return append([]*Node{c}, p.Why(r, c)...)
			}
		}
		// No branch matched: blame the first require-all branch whose
		// leading (scope) clause matched, that is, a carve-out in it.
		for _, c := range n.args() {
			if a := c.args(); c.head() == "require-all" && len(a) > 0 && p.Match(r, a[0]) {
				return append([]*Node{c}, p.Why(r, c)...)
			}
		}
	}
	return nil
}
