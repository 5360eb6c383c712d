package compiler

import "testing"

func TestHostnameMatches(t *testing.T) {
	cases := []struct {
		host, pattern string
		want          bool
	}{
		{"devbox", "*", true},
		{"build-07.ci.example.com", "build-*.ci.example.com", true},
		{"build-07.ci.example.com", "BUILD-*.CI.EXAMPLE.COM.", true},
		{"build-07.ci.example.com", "*.example.com", true},
		{"example.com", "*.example.com", false},
		{"gpu-01.example.com", "gpu-??.example.com", true},
		{"gpu-1.example.com", "gpu-??.example.com", false},
		{"a.b", "a.b.", true},
		{"a.b", "", false},
		{"a.b", "  ", false},
		{"abc", "a*c*", true},
		{"abc", "a*d", false},
		{"a[1]", "a[1]", true}, // brackets are literal, as in wildmatch's two-wildcard form
		{"a1", "a[1]", false},
	}
	for _, c := range cases {
		if got := hostnameMatches(normalizeHostname(c.host), c.pattern); got != c.want {
			t.Errorf("hostnameMatches(%q, %q) = %v, want %v", c.host, c.pattern, got, c.want)
		}
	}
}
