package compiler

import (
	"fmt"
	"strings"

	"polc/diag"
	"polc/internal/syntax"
	"polc/ir"
)

// approvalPolicies are the string values of approval_policy Codex 0.169.0
// reads; "untrusted" is retired (see retiredApprovalPolicy).
var approvalPolicies = []string{"on-failure", "on-request", "never"}

// retiredApprovalPolicy is refused by Codex since 0.149: a config that
// sets it does not load ("no longer supported; remove this setting").
const retiredApprovalPolicy = "untrusted"

// granularKeys are GranularApprovalConfig's fields; the first three have
// no serde default and are required.
var granularKeys = []string{"sandbox_approval", "rules", "mcp_elicitations", "skill_approval", "request_permissions"}

// approvalChoice is one approval policy value: a string, or granular.
type approvalChoice struct {
	policy   string
	granular *ir.Granular
	v        *syntax.Value
}

func (c approvalChoice) same(o approvalChoice) bool {
	if c.policy != o.policy {
		return false
	}
	if c.granular == nil || o.granular == nil {
		return c.granular == nil && o.granular == nil
	}
	return *c.granular == *o.granular
}

func (c approvalChoice) String() string {
	return approvalWord(c.policy, c.granular)
}

func approvalWord(policy string, g *ir.Granular) string {
	if g == nil {
		return policy
	}
	return fmt.Sprintf("granular {sandbox_approval=%v rules=%v mcp_elicitations=%v skill_approval=%v request_permissions=%v}",
		g.SandboxApproval, g.Rules, g.MCPElicitations, g.SkillApproval, g.RequestPermissions)
}

// checkApprovalPolicy validates approval_policy in config.toml.
func (s *state) checkApprovalPolicy(v *syntax.Value) bool {
	_, ok := s.parseApproval(v, "approval_policy", false)
	return ok
}

// parseApproval reads one approval policy value (AskForApproval): a
// string, or a table whose only key is granular. inRequirements allows
// the retired "untrusted", which requirements may still list (the
// protocol keeps UnlessTrusted).
func (s *state) parseApproval(v *syntax.Value, what string, inRequirements bool) (approvalChoice, bool) {
	c := approvalChoice{v: v}
	switch v.Kind {
	case syntax.String:
		c.policy = v.Str
		if v.Str == retiredApprovalPolicy {
			if inRequirements {
				return c, true
			}
			s.diags.Addf(diag.RetiredApprovalPolicy, v.Pos,
				`run polc fmt -w on this file to write "on-request" (select a read-only profile to keep the old strictness), or remove the line`,
				`%s = "untrusted" is no longer supported; remove this setting`, what)
			return c, false
		}
		if contains(approvalPolicies, v.Str) {
			if v.Str == "on-failure" && !inRequirements {
				s.diags.Addf(diag.DeprecatedValue, v.Pos, `use "on-request" (or "never" for non-interactive runs)`,
					`approval_policy "on-failure" is deprecated`)
			}
			return c, true
		}
		if inRequirements {
			s.diags.Addf(diag.BadRequirement, v.Pos, `use "on-request", "never", "on-failure", "untrusted" or { granular = { ... } }`,
				"unknown approval policy %s in allowed_approval_policies", v.Describe())
			return c, false
		}
		s.diags.Addf(diag.BadApprovalPolicy, v.Pos, `use one of "on-request", "never", or { granular = { ... } }`, "unknown %s %s", what, v.Describe())
		return c, false
	case syntax.Table:
		ok := true
		for _, k := range v.Tab.Keys() {
			if k != "granular" {
				// An externally tagged enum has exactly one key: Codex
				// refuses the whole value, so this is an error, not an
				// unknown key to skip.
				s.diags.Addf(diag.BadApprovalPolicy, v.Tab.Get(k).KeyPos, fmt.Sprintf("remove %s: the table takes only granular = { ... }", syntax.QuoteKey(k)),
					"%s table has the key %s beside granular; it takes exactly one key, granular", what, syntax.QuoteKey(k))
				ok = false
			}
		}
		g := v.Tab.Get("granular")
		if g == nil {
			s.diags.Addf(diag.BadApprovalPolicy, v.Pos, "write { granular = { sandbox_approval = true, rules = true, mcp_elicitations = true } }",
				"%s table must have a granular key", what)
			return c, false
		}
		if !s.expect(g, syntax.Table, what+".granular") {
			return c, false
		}
		for _, k := range granularKeys[:3] {
			if g.Tab.Get(k) == nil {
				s.diags.Addf(diag.BadApprovalPolicy, g.Pos, "set sandbox_approval, rules and mcp_elicitations (each true or false)",
					"%s.granular is missing the required key %s", what, k)
				ok = false
			}
		}
		gr := &ir.Granular{}
		for _, k := range g.Tab.Keys() {
			gv := g.Tab.Get(k)
			if !contains(granularKeys, k) {
				s.unknownKeyIn(gv, what+".granular", k, granularKeys, false)
				continue
			}
			if !s.expect(gv, syntax.Bool, what+".granular."+k) {
				ok = false
				continue
			}
			switch k {
			case "sandbox_approval":
				gr.SandboxApproval = gv.Bool
			case "rules":
				gr.Rules = gv.Bool
			case "mcp_elicitations":
				gr.MCPElicitations = gv.Bool
			case "skill_approval":
				gr.SkillApproval = gv.Bool
			case "request_permissions":
				gr.RequestPermissions = gv.Bool
			}
		}
		c.policy, c.granular = "granular", gr
		return c, ok
	}
	s.expect(v, syntax.String, what)
	return c, false
}

// readAllowedApprovalPolicies reads allowed_approval_policies: a
// non-empty list of approval policies, granular entries included.
func (s *state) readAllowedApprovalPolicies(r *requirements, v *syntax.Value) {
	const k = "allowed_approval_policies"
	if !s.expect(v, syntax.Array, k) {
		return
	}
	if len(v.Arr) == 0 {
		s.diags.Addf(diag.BadRequirement, v.Pos, "list at least one value, or remove the key", "field `%s` cannot be empty", k)
		return
	}
	var list []approvalChoice
	ok := true
	for i, e := range v.Arr {
		c, good := s.parseApproval(e, fmt.Sprintf("%s[%d]", k, i), true)
		ok = ok && good
		list = append(list, c)
	}
	if ok {
		r.approvalPolicies, r.approvalPoliciesPos = list, v.Pos
	}
}

// readGuardianPolicy reads guardian_policy_config: the managed policy
// text for the auto-review reviewer. A blank string counts as unset, so
// it neither overrides an earlier file nor the user's [auto_review].policy.
func (s *state) readGuardianPolicy(r *requirements, v *syntax.Value) {
	if !s.expect(v, syntax.String, "guardian_policy_config") {
		return
	}
	if strings.TrimSpace(v.Str) == "" {
		return
	}
	r.guardianPolicy = v
}

// checkReviewer validates an approvals reviewer; guardian_subagent is the
// old name of auto_review.
func (s *state) checkReviewer(v *syntax.Value, what string) bool {
	if !s.expect(v, syntax.String, what) {
		return false
	}
	switch v.Str {
	case "user", "auto_review":
		return true
	case "guardian_subagent":
		s.diags.Addf(diag.DeprecatedValue, v.Pos, `write "auto_review"`, `%s "guardian_subagent" is the old name of "auto_review"`, what)
		return true
	}
	s.diags.Addf(diag.BadReviewer, v.Pos, `use "user" or "auto_review"`, "unknown %s %s", what, v.Describe())
	return false
}

func reviewerName(s string) string {
	if s == "guardian_subagent" {
		return "auto_review"
	}
	return s
}

// applyApprovals fills the approval settings, narrowed by requirements:
// an explicit value outside the allowlist falls back to the first allowed
// value with a warning; a default one silently.
func (s *state) applyApprovals() {
	a := &s.approvals
	top := s.top
	r := s.reqs
	// Codex's default is on-request, whatever the project's trust: the
	// untrusted policy it once chose for untrusted projects is retired
	// (an untrusted project gets :workspace with on-request).
	cur := approvalChoice{policy: "on-request"}
	if v := top.approvalPolicy; v != nil {
		// readTop validated it; parse again for the value, silently.
		var scratch diag.List
		saved := s.diags
		s.diags = scratch
		if c, ok := s.parseApproval(v, "approval_policy", false); ok {
			cur = c
		}
		s.diags = saved
	}
	if r != nil && r.approvalPolicies != nil {
		allowedHere := false
		for _, c := range r.approvalPolicies {
			allowedHere = allowedHere || c.same(cur)
		}
		if !allowedHere {
			first := r.approvalPolicies[0]
			if top.approvalPolicy != nil {
				s.diags = append(s.diags, diag.Diagnostic{Code: diag.ApprovalNarrowed, Severity: diag.ApprovalNarrowed.Severity(), Pos: top.approvalPolicy.Pos,
					Message: fmt.Sprintf("approval_policy %s is not allowed by requirements %s; falling back to %s", quoteWord(cur), r.approvalPoliciesPos, quoteWord(first)),
					Fix:     "set approval_policy to one of the allowed values", Related: []diag.Related{diag.Rel(r.approvalPoliciesPos, "the allowed approval policies")}})
			}
			cur = first
		}
	}
	a.Policy, a.Granular = cur.policy, cur.granular

	a.Reviewer = "user"
	revPos := diag.Pos{}
	if v := top.reviewer; v != nil {
		a.Reviewer, revPos = reviewerName(v.Str), v.Pos
	}
	if r != nil && r.reviewers != nil {
		ok := false
		for _, e := range r.reviewers.Arr {
			ok = ok || reviewerName(e.Str) == a.Reviewer
		}
		if !ok {
			first := reviewerName(r.reviewers.Arr[0].Str)
			if top.reviewer != nil {
				s.diags = append(s.diags, diag.Diagnostic{Code: diag.ApprovalNarrowed, Severity: diag.ApprovalNarrowed.Severity(), Pos: revPos,
					Message: fmt.Sprintf("approvals_reviewer %q is not allowed by requirements %s; falling back to %q", a.Reviewer, r.reviewers.Pos, first),
					Fix:     "set approvals_reviewer to one of the allowed values", Related: []diag.Related{diag.Rel(r.reviewers.Pos, "the allowed reviewers")}})
			}
			a.Reviewer, revPos = first, r.reviewers.Arr[0].Pos
		}
	}

	// The auto-review policy text: the managed guardian_policy_config
	// wins over the user's [auto_review].policy.
	a.AutoReviewPolicy, a.AutoReviewPolicyOrigin = "", nil
	switch {
	case r != nil && r.guardianPolicy != nil:
		a.AutoReviewPolicy = r.guardianPolicy.Str
		a.AutoReviewPolicyOrigin = &ir.Origin{Kind: ir.OriginRequirement, Key: "guardian_policy_config", Pos: r.guardianPolicy.Pos}
		if u := top.autoReviewPolicy; u != nil && u.Str != r.guardianPolicy.Str {
			s.diags = append(s.diags, diag.Diagnostic{Code: diag.AutoReviewPolicyOverridden, Severity: diag.AutoReviewPolicyOverridden.Severity(), Pos: u.Pos,
				Message: fmt.Sprintf("[auto_review].policy is ignored: managed guardian_policy_config (%s) sets the auto-review policy", r.guardianPolicy.Pos),
				Fix:     "remove [auto_review].policy, or ask the administrator to change guardian_policy_config", Related: []diag.Related{diag.Rel(r.guardianPolicy.Pos, "the managed auto-review policy")}})
		}
	case top.autoReviewPolicy != nil:
		a.AutoReviewPolicy = top.autoReviewPolicy.Str
		a.AutoReviewPolicyOrigin = &ir.Origin{Kind: ir.OriginConfig, Key: "auto_review.policy", Pos: top.autoReviewPolicy.Pos}
	}

	// The reviewer only ever sees approval requests; with never there
	// are none.
	if a.Reviewer == "auto_review" && a.Policy == "never" {
		pos := revPos
		var related []diag.Related
		if v := top.approvalPolicy; v != nil {
			related = append(related, diag.Rel(v.Pos, `approval_policy "never"`))
		} else if r != nil && r.approvalPoliciesPos.File != "" {
			related = append(related, diag.Rel(r.approvalPoliciesPos, "the allowed approval policies"))
		}
		s.diags = append(s.diags, diag.Diagnostic{Code: diag.ReviewerNeverRuns, Severity: diag.ReviewerNeverRuns.Severity(), Pos: pos,
			Message: `approvals_reviewer "auto_review" never runs: approval_policy is "never", so no request ever reaches the reviewer`,
			Fix:     `set approval_policy = "on-request" for auto-review, or approvals_reviewer = "user"`, Related: related})
	}
}

func quoteWord(c approvalChoice) string {
	if c.granular != nil {
		return c.String()
	}
	return fmt.Sprintf("%q", c.policy)
}
