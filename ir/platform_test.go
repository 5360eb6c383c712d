package ir

import (
	"strings"
	"testing"
)

func TestParsePlatform(t *testing.T) {
	for _, p := range Platforms {
		got, err := ParsePlatform(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePlatform(%q) = %q, %v", p, got, err)
		}
		if len(MinimalRoots[p]) == 0 {
			t.Errorf("%s has no :minimal roots", p)
		}
	}
	for _, bad := range []string{"", "Linux", "darwin", "plan9", " linux"} {
		_, err := ParsePlatform(bad)
		if err == nil || !strings.Contains(err.Error(), "linux,macos,windows") {
			t.Errorf("ParsePlatform(%q): %v, want an error naming the platforms", bad, err)
		}
	}
	if _, err := ParsePlatform(HostPlatform().String()); err != nil {
		t.Errorf("the host platform: %v", err)
	}
	if len(MinimalRoots) != len(Platforms) {
		t.Errorf("MinimalRoots has %d platforms, want %d", len(MinimalRoots), len(Platforms))
	}
}
