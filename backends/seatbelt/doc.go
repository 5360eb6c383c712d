// Package seatbelt is polc's macOS backend: it lowers an ir.Policy into a
// Seatbelt (SBPL) profile plus its parameters, and reads that artifact back
// through an SBPL interpreter (package sbpl) so that what macOS would
// enforce is checked against ir.Decide on any machine. macOS enforcement is
// compiled and interpreted here, not executed: no test in this repository
// runs sandbox-exec.
//
// # The profile
//
// A (deny default) base with the process, sysctl, mach-lookup, IPC and
// pseudo-terminal allowances ordinary commands need (after Codex's
// seatbelt_base_policy.sbpl), then one (allow file-read* ...) and one
// (allow file-write* ...) rule per root (${WORKSPACE_ROOT}, ${HOME}, ...,
// absolute paths, :minimal system roots). Each filter of those rules is
// one rule path's subtree, (subpath (param "PATH_n")), minus the deeper
// rule paths under the same root (require-not literal and subpath, as
// Codex does for its carve-outs). Each rule is guarded by (require-not
// ...) clauses for
//   - the top rule paths of other roots that the shim finds inside one of
//     this root's rule paths at launch (PATH_t_IN_ROOT, bound to the path
//     only then; e.g. ${WORKSPACE_ROOT} inside a ${HOME} rule),
//   - requirement denies (DENY_n), which nothing reopens,
//   - deny globs, as (regex (string-append "^" (regex-quote (param
//     "GLOB_n")) "BODY")) with BODY the glob translated exactly as
//     doublestar matches it, ending in (/.*)? so that a pattern matching a
//     directory covers everything below it.
//
// The file rules are all allows: a path is allowed exactly when one filter
// matches, whatever order Seatbelt weighs rules in. This is ir.Decide's
// "deepest rule wins, ties deny > write > read, globs and requirement
// denies on top" written as a union of disjoint regions.
//
// Paths are parameters, bound at launch by Bind to canonical host paths
// (realpath, then /tmp, /var, /etc → /private/...), so the text is the
// same on every machine and no path is ever quoted into the profile. Rules
// skipped when missing (protected .git) get _IF_EXISTS parameters; an
// unbound parameter is Unbound, which names no vnode. :minimal system
// roots are literals (ir.MinimalRoots[ir.MacOS]), read and map-executable.
//
// Bind refuses (POL081, POL082) the host layouts this cannot express
// faithfully: a rule path that resolves through a symlink below its root,
// a variable root overlapping a :minimal system root, and roots nested so
// that a rule of one root lies between two rules of another. Refusing is
// the fail-closed answer; the random-policy test bounds how often it
// happens.
//
// Network: none (nothing), full (outbound and inbound), or proxy-only:
// outbound TCP to the loopback listeners of polc's egress proxy and
// nothing else (no bind, no inbound, no DNS), so that every request
// leaves through the proxy. The payload carries the proxy network
// (ir.Proxy) the darwin runtime starts the proxy for; the evaluator's
// Egress combines the profile's network-outbound verdicts with
// ir.NetDecider on that network, and tests hold it to ir.DecideNet. Such
// a payload is tagged FormatTagProxy, so that a polc predating the proxy
// refuses it.
//
// Deliberate differences from Codex: no /tmp scratch writes under :minimal
// (Codex issue #32395); deny globs are carved out of the allows instead of
// separate deny rules, and match at any depth (no glob_scan_max_depth on
// macOS); device nodes the base opens for every command (/dev/null and
// /dev/fd writes, /dev/ptmx, the pty's ttys) are outside policy control.
// A negated glob class ([!a]) can match "/" in doublestar, whose one-level
// backtracking then misses some matches a regex finds: there macOS denies
// more than ir.Decide.
package seatbelt
