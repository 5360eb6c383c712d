// Package windows lowers an ir.Policy into a Windows step plan and reads
// that plan back through an evaluator that models the Windows access
// check.
//
// The plan (canonical JSON) is what the runtime shim applies: capability
// SIDs per writable root, allow ACEs on writable roots, deny-write ACEs on
// protected metadata and read-only carve-outs, deny-read ACEs on denied
// paths and on deny-glob matches (patterns plus depth, expanded at
// launch), firewall rules when the network is off, a write-restricted
// token and a kill-on-close job object. It describes two modes, as the
// reference (Codex's Windows sandbox) has them:
//
//   - elevated: commands run as a separate sandbox account in a sandbox
//     group; reads are limited to what that group is granted, writes need
//     a grant to the group and to a capability SID on the token;
//   - unelevated: commands run as the signed-in user under a
//     write-restricted token; writes are confined by capability SIDs, but
//     reads are the user's own and the network is not blocked.
//
// A mode that cannot enforce a rule says so in the plan (a refusal with a
// stable diagnostic code and the scope it covers) and refuses the policy;
// nothing is weakened silently. Windows cannot run here, so correctness
// rests on the evaluator: Bind turns a plan into the concrete ACL table
// the runtime would write, and the access check walks it as Windows does
// (explicit ACEs before inherited ones, deny before allow within a level,
// the restricted token's second check for writes, case-insensitive
// paths). Tests compare it with ir.Decide on hand-written, conformance and
// random policies and trees.
package windows
