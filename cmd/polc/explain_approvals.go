package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"polc/compiler"
	"polc/diag"
	"polc/ir"
)

var approvalsFlag = &cli.BoolFlag{Name: "approvals", Usage: "show the approval settings (policy, reviewer, auto-review policy text and where it came from) instead of paths"}

// approvalsExplanation is explain --approvals' answer; the JSON form is
// this object.
type approvalsExplanation struct {
	Policy   string       `json:"policy"`
	Granular *ir.Granular `json:"granular,omitempty"`
	Reviewer string       `json:"reviewer"`
	// AutoReviewPolicy is the effective text, "" when none applies.
	AutoReviewPolicy string `json:"auto_review_policy"`
	// AutoReviewPolicySource is "requirements" (guardian_policy_config)
	// or "config" ([auto_review].policy), "" when none.
	AutoReviewPolicySource string `json:"auto_review_policy_source"`
	// AutoReviewPolicyPos is the file:line:col it was written at.
	AutoReviewPolicyPos string `json:"auto_review_policy_pos"`
}

func runExplainApprovals(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErr("explain --approvals takes no PATH")
	}
	format := c.String("format")
	if format != "text" && format != "json" {
		return usageErr("unknown --format %q: use text or json", format)
	}
	res := compiler.Compile(compileOptions(c))
	if res.Policy == nil {
		_ = writeDiags(c, res, diag.Text)
		return silentExit(1)
	}
	a := res.Policy.Approvals
	e := approvalsExplanation{Policy: a.Policy, Granular: a.Granular, Reviewer: a.Reviewer, AutoReviewPolicy: a.AutoReviewPolicy}
	if o := a.AutoReviewPolicyOrigin; o != nil {
		e.AutoReviewPolicySource = map[string]string{ir.OriginRequirement: "requirements", ir.OriginConfig: "config"}[o.Kind]
		e.AutoReviewPolicyPos = res.Env.HostPos(o.Pos).String()
	}
	if format == "json" {
		return printJSON(e)
	}
	policy := e.Policy
	if g := e.Granular; g != nil {
		policy = fmt.Sprintf("granular (sandbox_approval=%v rules=%v mcp_elicitations=%v skill_approval=%v request_permissions=%v)",
			g.SandboxApproval, g.Rules, g.MCPElicitations, g.SkillApproval, g.RequestPermissions)
	}
	fmt.Printf("approval_policy: %s\n", policy)
	fmt.Printf("approvals_reviewer: %s\n", e.Reviewer)
	switch o := a.AutoReviewPolicyOrigin; {
	case o == nil:
		fmt.Printf("auto-review policy: none (Codex's built-in policy)\n")
	case o.Kind == ir.OriginRequirement:
		fmt.Printf("auto-review policy: from requirements guardian_policy_config at %s (overrides [auto_review].policy)\n", e.AutoReviewPolicyPos)
	default:
		fmt.Printf("auto-review policy: from [auto_review].policy at %s\n", e.AutoReviewPolicyPos)
	}
	if e.AutoReviewPolicy != "" {
		for _, l := range strings.Split(strings.TrimRight(e.AutoReviewPolicy, "\n"), "\n") {
			fmt.Printf("\t%s\n", l)
		}
	}
	return nil
}
