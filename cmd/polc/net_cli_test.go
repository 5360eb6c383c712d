package main

import (
	"encoding/json"
	"strings"
	"testing"

	"polc/internal/conformance"
)

// netCase: the user allows two registries and denies one host; the
// managed requirements allow *.example.com only
// (managed_allowed_domains_only), so the user's allows are dropped.
func netCase() *conformance.Case {
	return &conformance.Case{
		Config: "default_permissions = \"net\"\n\n[features]\nnetwork_proxy = true\n\n[permissions.net]\nextends = \":workspace\"\n\n" +
			"[permissions.net.network]\nenabled = true\nmode = \"limited\"\n" +
			"domains = { \"registry.pkg.example\" = \"allow\", \"api.example.com\" = \"allow\", \"bad.example.com\" = \"deny\" }\n",
		Requirements: "[experimental_network]\nenabled = true\nmanaged_allowed_domains_only = true\nallowed_domains = [\"*.example.com\"]\n",
		HasReq:       true,
	}
}

// explain --net prints the decision, the proxy's reason, and the rule or
// setting with its file:line; a refused host the user allowed names the
// dropped rule and why.
func TestCLIExplainNet(t *testing.T) {
	cw := newCLIWorld(t, netCase())
	req, cfg := cw.w.RequirementsFile, cw.w.ConfigFile
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := cw.polc(append(append([]string{"explain", "-C", cw.w.Proj}, cw.reqArgs()...), args...)...)
		if code != 0 {
			t.Fatalf("explain %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	out := run("--net", "www.example.com", "--net", "bad.example.com:443", "--net", "registry.pkg.example")
	for _, want := range []string{
		"GET www.example.com:80: allowed\n\tan allow rule matches the host\n\tmanaged rule allow \"*.example.com\" at " + req + ":4:20\n",
		"\tand only if www.example.com resolves to public addresses",
		"GET bad.example.com:443: refused (denied)\n\ta deny rule matches the host\n\trule deny \"bad.example.com\" at " + cfg + ":12:",
		"GET registry.pkg.example:80: refused (not_allowed)\n\tno allow rule matches the host\n\tnote: your allow \"registry.pkg.example\"",
		"managed_allowed_domains_only: only managed allow rules apply (requirement \"experimental_network.managed_allowed_domains_only\" at " + req + ":3:",
		"\tnetwork: proxy, from requirement \"experimental_network.enabled\" at " + req + ":2:11\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain --net: missing %q in:\n%s", want, out)
		}
	}
	// Limited mode: POST is refused by the mode setting, and an https URL
	// is a CONNECT tunnel on 443, refused too.
	out = run("--net", "api.example.com", "--method", "post")
	if !strings.Contains(out, "POST api.example.com:80: refused (method_not_allowed)") || !strings.Contains(out, "limited mode allows GET, HEAD and OPTIONS only") {
		t.Errorf("POST in limited mode:\n%s", out)
	}
	out = run("--net", "https://api.example.com/pkg", "--format", "json")
	var got []netExplanation
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if e := got[0]; e.Method != "CONNECT" || e.Port != 443 || e.Allowed || e.Reason != "method_not_allowed" || e.Rule != "*.example.com" || !e.Managed {
		t.Errorf("https URL: %+v", e)
	}
	// Usage errors exit 2.
	for _, args := range [][]string{
		{"--method", "GET", "x"},
		{"--net", "example.com", "somepath"},
		{"--net", "example.com:99999"},
		{"--net", "example.com", "--method", "GE T"},
		{"--net", "example.com", "--target", "linux"},
	} {
		if out, errOut, code := cw.polc(append([]string{"explain", "-C", cw.w.Proj}, args...)...); code != 2 {
			t.Errorf("explain %v: exit %d, want 2\n%s%s", args, code, out, errOut)
		}
	}
}

// polc check warns where requirements drop a user's allow rule (POL153),
// at the rule, and still exits 0: the policy is valid, only narrower.
func TestCLICheckWarnsDroppedAllow(t *testing.T) {
	cw := newCLIWorld(t, netCase())
	errOut, out, code := cw.polc(append([]string{"check", "-C", cw.w.Proj}, cw.reqArgs()...)...)
	if code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		cw.w.ConfigFile + ":12:13: warning: domain allow rule \"registry.pkg.example\" never applies: managed_allowed_domains_only",
		"[POL153]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check: missing %q in:\n%s", want, out)
		}
	}
	if strings.Count(out, "[POL153]") != 2 {
		t.Errorf("check: want a POL153 for each of the two user allows:\n%s", out)
	}
}

// A requirement error stops explain --net as it stops every command: the
// located error, exit 1.
func TestCLIExplainNetRequirementError(t *testing.T) {
	c := netCase()
	c.Requirements = "[experimental_network]\nenabled = true\ndomains = { \"example.com\" = \"allow\" }\nallowed_domains = [\"x.org\"]\n"
	cw := newCLIWorld(t, c)
	out, errOut, code := cw.polc(append([]string{"explain", "-C", cw.w.Proj, "--net", "example.com"}, cw.reqArgs()...)...)
	if code != 1 || !strings.Contains(errOut, cw.w.RequirementsFile+":3:1: error: `experimental_network.domains` cannot be combined with the legacy `allowed_domains`") {
		t.Errorf("explain with a conflicting requirement: exit %d\n%s%s", code, out, errOut)
	}
}

// The review file lists a proxy network's domain rules and settings with
// their origins, and the user's allow rules the requirements dropped.
func TestReviewTextProxy(t *testing.T) {
	c := netCase()
	_, res := c.Compile(t)
	if res.Policy == nil {
		t.Fatalf("compile failed: %v", res.Diags)
	}
	got := reviewText(res.Policy)
	for _, want := range []string{
		"network     proxy  <- requirement \"experimental_network.enabled\" in ",
		"allow host  *.example.com  <- requirement \"experimental_network.allowed_domains\" in ",
		"deny host   bad.example.com  <- config \"network.domains\" (profile net) in ",
		"methods     limited (GET, HEAD, OPTIONS; no tunnels)  <- config \"network.mode\" (profile net) in ",
		"local addr  refused  <- default \"allow_local_binding\" (profile net)",
		"dropped     registry.pkg.example  <- config \"network.domains\" (profile net) in ",
		"; managed_allowed_domains_only: only managed allow rules apply",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("review: missing %q in:\n%s", want, got)
		}
	}
}
