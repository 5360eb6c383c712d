package ir

import (
	"math/rand"
	"testing"
)

func managedR(action DomainAction, p string) DomainRule {
	r := rule(action, p)
	r.Origin = Origin{Kind: OriginRequirement, Key: p}
	return r
}

func patterns(rules []DomainRule) []string {
	var out []string
	for _, r := range rules {
		s := string(r.Action) + " " + r.Pattern
		if r.Managed {
			s = "managed " + s
		}
		out = append(out, s)
	}
	return out
}

func TestNarrowDomains(t *testing.T) {
	user := []DomainRule{allowR("packages.example.test"), allowR("api.example.com"), denyR("tracker.test"), allowR("*.pkg.test")}
	managed := []DomainRule{managedR(DomainAllow, "*.corp.test"), managedR(DomainDeny, "**.example.com"), managedR(DomainDeny, "tracker.test")}

	out, dropped := NarrowDomains(user, managed, false)
	want := []string{"managed allow *.corp.test", "managed deny **.example.com", "managed deny tracker.test",
		"allow packages.example.test", "allow *.pkg.test"}
	if got := patterns(out); !equalStrings(got, want) {
		t.Errorf("rules:\n got %q\nwant %q", got, want)
	}
	// api.example.com is dropped: the managed deny covers it.
	if len(dropped) != 1 || dropped[0].Rule.Pattern != "api.example.com" || dropped[0].By == nil || dropped[0].By.Pattern != "**.example.com" {
		t.Errorf("dropped: %+v", dropped)
	}

	out, dropped = NarrowDomains(user, managed, true)
	want = []string{"managed allow *.corp.test", "managed deny **.example.com", "managed deny tracker.test"}
	if got := patterns(out); !equalStrings(got, want) {
		t.Errorf("managed only:\n got %q\nwant %q", got, want)
	}
	if len(dropped) != 3 {
		t.Errorf("managed only drops every user allow: %+v", dropped)
	}
	for _, d := range dropped {
		if d.By != nil || d.Why() == "" {
			t.Errorf("managed only: %+v", d)
		}
	}
	// managed_allowed_domains_only with no managed allow: nothing is allowed.
	out, _ = NarrowDomains(user, nil, true)
	nd := proxyDecider(t, Proxy{AllowLocal: true, Domains: out})
	if d := nd.DecideNet("packages.example.test", 443, "GET"); d.Allowed {
		t.Errorf("managed only, no managed allow: %s", d.Explain())
	}
	// No managed rules: the user's stand.
	out, dropped = NarrowDomains(user, nil, false)
	if len(out) != len(user) || len(dropped) != 0 {
		t.Errorf("no requirements: %q %+v", patterns(out), dropped)
	}
}

func TestNarrowDomainsDecisions(t *testing.T) {
	// A user deny narrows a managed allow; a managed deny beats a user
	// allow; a decision both allow names the managed rule.
	user := []DomainRule{denyR("a.corp.test"), allowR("**.corp.test"), allowR("bad.test")}
	managed := []DomainRule{managedR(DomainAllow, "*.corp.test"), managedR(DomainDeny, "bad.test")}
	out, _ := NarrowDomains(user, managed, false)
	d := proxyDecider(t, Proxy{AllowLocal: true, Domains: out})
	for host, want := range map[string]string{
		"a.corp.test": "deny a.corp.test",
		"b.corp.test": "managed allow *.corp.test",
		"corp.test":   "allow **.corp.test",
		"bad.test":    "managed deny bad.test",
	} {
		got := d.DecideNet(host, 443, "GET")
		if got.Rule == nil || patterns([]DomainRule{*got.Rule})[0] != want {
			t.Errorf("%s: %s, want rule %s", host, got.Explain(), want)
		}
	}
}

// Narrowing never widens: whatever the narrowed rules allow, the user's
// rules plus the managed rules (deny wins) allow too, and with
// managedOnly the managed rules alone allow too.
func TestNarrowDomainsNeverWidens(t *testing.T) {
	labels := []string{"a", "b", "ab", "com"}
	r := rand.New(rand.NewSource(3))
	gen := func(managed bool) []DomainRule {
		var out []DomainRule
		for i := r.Intn(6); i > 0; i-- {
			a := DomainAllow
			if r.Intn(3) == 0 {
				a = DomainDeny
			}
			if managed {
				out = append(out, managedR(a, randomPattern(r, labels)))
			} else {
				out = append(out, rule(a, randomPattern(r, labels)))
			}
		}
		return out
	}
	for iter := 0; iter < 1000; iter++ {
		user, managed := gen(false), gen(true)
		only := r.Intn(2) == 0
		out, dropped := NarrowDomains(user, managed, only)
		narrowed := proxyDecider(t, Proxy{AllowLocal: true, Domains: out})
		union := proxyDecider(t, Proxy{AllowLocal: true, Domains: append(append([]DomainRule{}, managed...), user...)})
		managedOnly := proxyDecider(t, Proxy{AllowLocal: true, Domains: append(append([]DomainRule{}, managed...), denies(user)...)})
		for j := 0; j < 30; j++ {
			h := randomHost(r, labels)
			n := narrowed.DecideNet(h, 443, "GET")
			if n.Allowed && !union.DecideNet(h, 443, "GET").Allowed {
				t.Fatalf("user %q managed %q: %s widened", patterns(user), patterns(managed), n.Explain())
			}
			if only && n.Allowed && !managedOnly.DecideNet(h, 443, "GET").Allowed {
				t.Fatalf("managed only, user %q managed %q: %s", patterns(user), patterns(managed), n.Explain())
			}
			// Without managedOnly, a dropped rule changes nothing.
			if !only && n.Allowed != union.DecideNet(h, 443, "GET").Allowed {
				t.Fatalf("user %q managed %q dropped %+v: %s differs from the union", patterns(user), patterns(managed), dropped, n.Explain())
			}
		}
	}
}

func denies(rules []DomainRule) []DomainRule {
	var out []DomainRule
	for _, r := range rules {
		if r.Action == DomainDeny {
			out = append(out, r)
		}
	}
	return out
}

func TestNarrowProxyAllowLocal(t *testing.T) {
	no := false
	got, _ := NarrowProxy(Proxy{AllowLocal: true}, NetRequirements{AllowLocal: &no, AllowLocalOrigin: Origin{Kind: OriginRequirement}})
	if got.AllowLocal || got.LocalOrigin.Kind != OriginRequirement {
		t.Errorf("%+v", got)
	}
	got, _ = NarrowProxy(Proxy{AllowLocal: true}, NetRequirements{})
	if !got.AllowLocal {
		t.Errorf("unset requirement keeps the profile's value: %+v", got)
	}
}

func TestPatternCovers(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"example.com", "example.com", true},
		{"example.com", "a.example.com", false},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "*.a.example.com", true},
		{"*.example.com", "**.example.com", false},
		{"*.example.com", "**.a.example.com", true},
		{"**.example.com", "example.com", true},
		{"**.example.com", "**.example.com", true},
		{"**.example.com", "*.b.example.com", true},
		{"**.example.com", "xexample.com", false},
		{"a*.com", "ab.com", false},
		{"*.com", "a*.com", false},
	} {
		if got := patternCovers(c.a, c.b); got != c.want {
			t.Errorf("patternCovers(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
