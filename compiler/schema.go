package compiler

import (
	"sort"
	"strings"
)

// Schema is a JSON Schema (draft 2020-12) of the config.toml keys polc
// reads, for editors (taplo, VS Code Even Better TOML). It is built from
// the same tables the compiler uses, so the two cannot drift apart. Keys
// Codex knows and polc does not read are allowed; unknown keys inside the
// tables polc owns are flagged, as polc check does.
func Schema() map[string]any {
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	boolean := func(desc string) map[string]any { return map[string]any{"type": "boolean", "description": desc} }
	enum := func(desc string, vals ...string) map[string]any {
		return map[string]any{"type": "string", "enum": vals, "description": desc}
	}
	access := enum("read: read and list; write: also create, modify, delete; deny (or the legacy none): no access", "read", "write", "deny", "none")
	var specialNames []string
	for k := range specials {
		specialNames = append(specialNames, k)
	}
	sort.Strings(specialNames)

	filesystem := map[string]any{
		"type": "object",
		"description": "Paths (absolute, ~/..., or a special: " + strings.Join(specialNames, ", ") + ") mapped to an access, " +
			"or to a table of sub-paths (\".\" is the base itself). Globs (* ? [ ] **) are allowed with deny only; " +
			"read/write may end in /** (the subtree).",
		"properties": map[string]any{
			"glob_scan_max_depth": map[string]any{"type": "integer", "minimum": 1,
				"description": "How deep Linux and Windows expand deny globs (1 = directly in the glob's base). polc check names every file matched deeper."},
		},
		"additionalProperties": map[string]any{
			"oneOf": []any{access, map[string]any{"type": "object", "additionalProperties": access}},
		},
	}
	network := map[string]any{
		"type":                 "object",
		"additionalProperties": false,
		"properties": map[string]any{
			"enabled":                              boolean("true: the network is on: full, or through polc's egress proxy when features.network_proxy, managed requirements, domain rules or limited mode call for one; false or absent: none (unless managed requirements enable the proxy)"),
			"mode":                                 enum("proxy methods: limited allows GET, HEAD and OPTIONS only and refuses every tunnel; full allows every method", "limited", "full"),
			"proxy_url":                            str("the HTTP proxy's listener inside the sandbox (http://127.0.0.1:PORT; default port 3128); the host is always the sandbox's loopback"),
			"socks_url":                            str("the SOCKS5 listener inside the sandbox (default port 8081), used with enable_socks5"),
			"enable_socks5":                        boolean("the proxy also serves SOCKS5 (socks5h); default true"),
			"enable_socks5_udp":                    boolean("no effect in polc: its SOCKS5 proxy carries TCP only (POL200)"),
			"allow_upstream_proxy":                 boolean("no effect in polc: its proxy never chains to an upstream proxy (POL200)"),
			"dangerously_allow_non_loopback_proxy": boolean("no effect in polc: its listener is always on the sandbox's loopback (POL159)"),
			"dangerously_allow_all_unix_sockets":   boolean("let the command connect to every host Unix socket it can see (POL040)"),
			"allow_local_binding":                  boolean("let the proxy reach loopback, private and link-local addresses; default false"),
			"domains":                              map[string]any{"type": "object", "description": "host pattern = allow | deny: example.com, *.example.com (sub-domains only), **.example.com (both), * (allow only); deny wins", "additionalProperties": enum("", "allow", "deny")},
			"unix_sockets":                         map[string]any{"type": "object", "description": "host Unix sockets (absolute paths) the command may connect to; on Linux allowing one allows all (POL079)", "additionalProperties": enum("", "allow", "deny", "none")},
			"mitm":                                 map[string]any{"type": "object"},
		},
	}
	profile := map[string]any{
		"type":                 "object",
		"additionalProperties": false,
		"properties": map[string]any{
			"extends":     str("parent profile: :read-only, :workspace, or another profile; merged key by key"),
			"description": str("free text; not inherited"),
			"workspace_roots": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "boolean"},
				"description": "extra roots :workspace_roots stands for (absolute, ~/..., or inside the project) = true"},
			"filesystem": filesystem,
			"network":    network,
		},
	}
	granular := map[string]any{
		"type": "object", "additionalProperties": false,
		"required": []string{"sandbox_approval", "rules", "mcp_elicitations"},
		"properties": map[string]any{
			"sandbox_approval": boolean("allow sandbox-escalation prompts"), "rules": boolean("allow execpolicy-rule prompts"),
			"mcp_elicitations": boolean("allow MCP elicitations"), "skill_approval": boolean("allow skill prompts (default false)"),
			"request_permissions": boolean("allow permission requests (default false)"),
		},
	}
	return map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://polc.invalid/schema/config.json",
		"title":       "Codex config.toml: permission profiles and sandbox settings (as read by polc)",
		"type":        "object",
		"description": "Keys polc reads; other Codex keys are allowed.",
		"properties": map[string]any{
			"default_permissions": str("the selected profile: :read-only, :workspace, :danger-full-access, or a [permissions] name"),
			"permissions": map[string]any{"type": "object", "additionalProperties": profile,
				"propertyNames": map[string]any{"pattern": "^[^:]"}, "description": "user profiles; names starting with ':' are reserved"},
			"sandbox_mode": enum("legacy sandbox selection; prefer default_permissions", "read-only", "workspace-write", "danger-full-access"),
			"sandbox_workspace_write": map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
				"writable_roots":         map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
				"network_access":         boolean(""),
				"exclude_tmpdir_env_var": boolean(""),
				"exclude_slash_tmp":      boolean(""),
			}},
			"approval_policy": map[string]any{"oneOf": []any{
				enum("", approvalPolicies...),
				map[string]any{"type": "object", "additionalProperties": false, "required": []string{"granular"},
					"properties": map[string]any{"granular": granular}},
			}},
			"approvals_reviewer": enum("guardian_subagent is the old name of auto_review", "user", "auto_review", "guardian_subagent"),
			"auto_review":        map[string]any{"type": "object", "properties": map[string]any{"policy": str("policy text for the auto reviewer")}},
			"projects": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "object",
				"properties": map[string]any{"trust_level": enum("", "trusted", "untrusted")}}},
		},
	}
}
