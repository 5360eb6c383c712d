package ir

import "strings"

// NetRequirements are managed requirements' network rules
// (requirements.toml [experimental_network]) as they narrow a profile's
// proxy network.
type NetRequirements struct {
	// Domains are the managed domain rules.
	Domains []DomainRule
	// ManagedAllowedDomainsOnly drops every allow rule the user wrote:
	// only managed allow rules let a host through (none, if there are
	// none).
	ManagedAllowedDomainsOnly bool
	ManagedOnlyOrigin         Origin
	// AllowLocal, when set, is the managed allow_local_binding: it
	// replaces the profile's value.
	AllowLocal       *bool
	AllowLocalOrigin Origin
}

// DroppedRule is a user rule that requirements make ineffective, for
// `polc check` to warn about (diag.NetUserAllowDropped).
type DroppedRule struct {
	Rule DomainRule `json:"rule"`
	// By is the managed deny rule that covers every host the rule
	// allows; nil when managed_allowed_domains_only dropped it.
	By *DomainRule `json:"by,omitempty"`
	// Setting is where managed_allowed_domains_only was set, when it
	// dropped the rule (NarrowProxy fills it in).
	Setting *Origin `json:"setting,omitempty"`
}

// Why is a one-line reason.
func (d DroppedRule) Why() string {
	if d.By == nil {
		s := "managed_allowed_domains_only: only managed allow rules apply"
		if d.Setting != nil && d.Setting.Kind != "" {
			s += " (" + d.Setting.String() + ")"
		}
		return s
	}
	return "every host it allows is denied by " + d.By.String()
}

// NarrowDomains applies managed domain rules to the user's, as the
// reference does: every managed rule is kept (and marked Managed), ahead
// of the user's so that a decision names the managed rule where both
// match; the user's deny rules are kept (a user may always narrow); the
// user's allow rules are kept unless managedOnly is set
// (managed_allowed_domains_only), or a managed deny rule covers every
// host they allow (deny wins, so they could never allow anything).
// Duplicates of a managed rule are left out. The result's decisions are
// never wider than the user's rules with the managed denies added, nor,
// with managedOnly, than the managed rules alone.
func NarrowDomains(user, managed []DomainRule, managedOnly bool) (out []DomainRule, dropped []DroppedRule) {
	type key struct {
		pattern string
		action  DomainAction
	}
	seen := map[key]bool{}
	var managedDenies []int
	for _, r := range managed {
		r.Managed = true
		k := key{r.Pattern, r.Action}
		if seen[k] {
			continue
		}
		seen[k] = true
		if r.Action == DomainDeny {
			managedDenies = append(managedDenies, len(out))
		}
		out = append(out, r)
	}
	nManaged := len(out)
	for _, r := range user {
		r.Managed = false
		k := key{r.Pattern, r.Action}
		if seen[k] {
			continue
		}
		if r.Action == DomainAllow {
			if managedOnly {
				dropped = append(dropped, DroppedRule{Rule: r})
				continue
			}
			if by := coveringDeny(out[:nManaged], managedDenies, r.Pattern); by != nil {
				dropped = append(dropped, DroppedRule{Rule: r, By: by})
				continue
			}
		}
		seen[k] = true
		out = append(out, r)
	}
	return out, dropped
}

// NarrowProxy is NarrowDomains on a proxy's domain rules plus the
// requirements' scalar settings (a managed allow_local_binding replaces
// the user's). The dropped rules are also kept in the result's Dropped,
// for explanations.
func NarrowProxy(user Proxy, req NetRequirements) (Proxy, []DroppedRule) {
	out := user
	var dropped []DroppedRule
	out.Domains, dropped = NarrowDomains(user.Domains, req.Domains, req.ManagedAllowedDomainsOnly)
	for i := range dropped {
		if dropped[i].By == nil {
			o := req.ManagedOnlyOrigin
			dropped[i].Setting = &o
		}
	}
	out.Dropped = append(append([]DroppedRule(nil), user.Dropped...), dropped...)
	if req.AllowLocal != nil {
		out.AllowLocal, out.LocalOrigin = *req.AllowLocal, req.AllowLocalOrigin
	}
	return out, dropped
}

func coveringDeny(rules []DomainRule, denies []int, allow string) *DomainRule {
	for _, i := range denies {
		if patternCovers(rules[i].Pattern, allow) {
			r := rules[i]
			return &r
		}
	}
	return nil
}

// patternCovers reports whether every host pattern b matches is matched
// by pattern a, for exact, "*." and "**." patterns (a pattern with other
// wildcards is never judged covered or covering).
func patternCovers(a, b string) bool {
	ak, ad := splitPattern(a)
	bk, bd := splitPattern(b)
	if ak == "" || bk == "" {
		return false
	}
	switch ak {
	case "exact":
		return bk == "exact" && ad == bd
	case "sub":
		if bk == "exact" {
			return strictSub(bd, ad)
		}
		if bk == "sub" {
			return bd == ad || strictSub(bd, ad)
		}
		return strictSub(bd, ad) // "**.x": x itself must be a strict sub-domain
	case "apex":
		return bd == ad || strictSub(bd, ad)
	}
	return false
}

func splitPattern(p string) (kind, domain string) {
	switch {
	case p == "*" || p == "**":
		return "", ""
	case strings.HasPrefix(p, "**."):
		kind, domain = "apex", p[3:]
	case strings.HasPrefix(p, "*."):
		kind, domain = "sub", p[2:]
	default:
		kind, domain = "exact", p
	}
	if HasDomainGlob(domain) {
		return "", ""
	}
	return kind, domain
}

func strictSub(child, parent string) bool {
	return len(child) > len(parent)+1 && strings.HasSuffix(child, "."+parent)
}
