package compiler

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"polc/diag"
	"polc/internal/syntax"
)

// remoteSandboxConfig is one [[remote_sandbox_config]] entry: on a host
// whose name matches one of hostname_patterns, allowed_sandbox_modes
// replaces that requirements file's allowed_sandbox_modes
// (ConfigRequirementsToml::apply_remote_sandbox_config; the first
// matching entry wins).
type remoteSandboxConfig struct {
	patterns []*syntax.Value
	modes    *syntax.Value
}

// readRemoteSandboxConfig validates remote_sandbox_config and returns its
// entries; ok is false when any entry is invalid (then none applies, and
// the errors stop the compile).
func (s *state) readRemoteSandboxConfig(v *syntax.Value) ([]remoteSandboxConfig, bool) {
	const k = "remote_sandbox_config"
	if !s.expect(v, syntax.Array, k) {
		return nil, false
	}
	var out []remoteSandboxConfig
	ok := true
	for i, e := range v.Arr {
		what := fmt.Sprintf("%s[%d]", k, i)
		if !s.expect(e, syntax.Table, what) {
			ok = false
			continue
		}
		var rc remoteSandboxConfig
		good := true
		for _, ek := range e.Tab.Keys() {
			ev := e.Tab.Get(ek)
			switch ek {
			case "hostname_patterns":
				if !s.expect(ev, syntax.Array, what+".hostname_patterns") {
					good = false
					continue
				}
				for _, p := range ev.Arr {
					if s.expect(p, syntax.String, what+".hostname_patterns entries") {
						rc.patterns = append(rc.patterns, p)
					} else {
						good = false
					}
				}
			case "allowed_sandbox_modes":
				if s.sandboxModeList(ev, what+".allowed_sandbox_modes") {
					rc.modes = ev
				} else {
					good = false
				}
			default:
				s.unknownKeyIn(ev, what, ek, knownKeys(requirementsFile, "remote_sandbox_config[]"), false)
			}
		}
		for _, req := range []string{"hostname_patterns", "allowed_sandbox_modes"} {
			if e.Tab.Get(req) == nil {
				s.diags.Addf(diag.BadRequirement, e.KeyPos, fmt.Sprintf("add %s = [ ... ] to this entry", req),
					"%s is missing the required key %s", what, req)
				good = false
			}
		}
		if good {
			out = append(out, rc)
		}
		ok = ok && good
	}
	return out, ok
}

// sandboxModeList validates a list of sandbox modes that must include
// read-only (the fallback for every profile that is not allowed).
func (s *state) sandboxModeList(v *syntax.Value, what string) bool {
	if !s.stringList(v, what) {
		return false
	}
	ok, hasRO := true, false
	for _, e := range v.Arr {
		switch e.Str {
		case "read-only":
			hasRO = true
		case "workspace-write", "danger-full-access", "external-sandbox":
		default:
			s.diags.Addf(diag.BadRequirement, e.Pos, "use read-only, workspace-write, danger-full-access or external-sandbox",
				"unknown sandbox mode %s in %s", e.Describe(), what)
			ok = false
		}
	}
	if ok && !hasRO {
		s.diags.Addf(diag.BadRequirement, v.Pos, fmt.Sprintf(`add "read-only" to %s`, what),
			"%s must include \"read-only\": it is the fallback for every profile that is not allowed", what)
		ok = false
	}
	return ok
}

// applyRemoteSandboxConfig picks the first entry whose patterns match
// this host and returns its allowed_sandbox_modes (nil when none
// matches), reporting which host name was matched and how.
func (s *state) applyRemoteSandboxConfig(entries []remoteSandboxConfig, key *syntax.Value) *syntax.Value {
	host, how := s.requirementsHostname()
	if host == "" {
		s.diags = append(s.diags, diag.Diagnostic{Code: diag.RemoteSandboxConfig, Severity: diag.Warning, Pos: key.KeyPos,
			Message: "remote_sandbox_config is not applied: this host's name is unknown (" + how + ")",
			Fix:     "pass --hostname NAME to check the requirements for a given host"})
		return nil
	}
	for _, rc := range entries {
		for _, p := range rc.patterns {
			if hostnameMatches(host, p.Str) {
				s.diags = append(s.diags, diag.Diagnostic{Code: diag.RemoteSandboxConfig, Severity: diag.RemoteSandboxConfig.Severity(), Pos: p.Pos,
					Message: fmt.Sprintf("remote_sandbox_config applies to host %s (%s, pattern %s): allowed_sandbox_modes is %s from %s", host, how, p.Describe(), modeList(rc.modes), rc.modes.Pos),
					Fix:     "none needed; pass --hostname NAME to check another host",
					Related: []diag.Related{diag.Rel(rc.modes.Pos, "the sandbox modes this host gets")}})
				return rc.modes
			}
		}
	}
	s.diags = append(s.diags, diag.Diagnostic{Code: diag.RemoteSandboxConfig, Severity: diag.RemoteSandboxConfig.Severity(), Pos: key.KeyPos,
		Message: fmt.Sprintf("no remote_sandbox_config entry matches host %s (%s): it does not apply", host, how),
		Fix:     "none needed; pass --hostname NAME to check another host"})
	return nil
}

func modeList(v *syntax.Value) string {
	var names []string
	for _, e := range v.Arr {
		names = append(names, e.Str)
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// machineHostname computes this machine's name once per process (the
// resolver lookup can take up to its timeout).
var machineHostname = sync.OnceValues(func() (string, string) {
	kernel, err := os.Hostname()
	short := normalizeHostname(kernel)
	if err != nil || short == "" {
		return "", "the kernel reports no host name"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if cname, err := net.DefaultResolver.LookupCNAME(ctx, short); err == nil {
		if f := normalizeHostname(cname); strings.Contains(f, ".") {
			return f, "this machine's canonical DNS name"
		}
	}
	return short, "this machine's host name"
})

// requirementsHostname is the host name remote_sandbox_config matches,
// as Codex computes it (requirements_hostname): --hostname when given;
// else the kernel's host name, preferring its canonical DNS name when the
// resolver gives a dotted one; trimmed, without a trailing dot,
// lowercased. how says where it came from.
func (s *state) requirementsHostname() (host, how string) {
	if s.opts.Hostname != "" {
		return normalizeHostname(s.opts.Hostname), "--hostname"
	}
	return machineHostname()
}

func normalizeHostname(h string) string {
	return strings.ToLower(strings.TrimRight(strings.TrimSpace(h), "."))
}

// hostnameMatches matches a host name against one pattern the way Codex
// does (wildmatch, case-insensitive): * is any run of characters, dots
// included; ? is one character; everything else is literal. An empty
// pattern matches nothing.
func hostnameMatches(host, pattern string) bool {
	p := normalizeHostname(pattern)
	if p == "" {
		return false
	}
	h := []rune(host)
	pr := []rune(p)
	// Iterative glob matching with one backtrack point per star.
	hi, pi, star, mark := 0, 0, -1, 0
	for hi < len(h) {
		switch {
		case pi < len(pr) && (pr[pi] == '?' || pr[pi] == h[hi]):
			hi++
			pi++
		case pi < len(pr) && pr[pi] == '*':
			star, mark = pi, hi
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			hi = mark
		default:
			return false
		}
	}
	for pi < len(pr) && pr[pi] == '*' {
		pi++
	}
	return pi == len(pr)
}
