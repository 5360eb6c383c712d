package ir

import (
	"fmt"
	"runtime"
	"strings"
)

// Platform is an operating system polc builds sandboxes for. The set is
// closed: Platforms lists every value, and ParsePlatform refuses any
// other name.
type Platform string

// The platforms, by the names the CLI (--target), artifacts
// (scope.platform) and reports use.
const (
	Linux   Platform = "linux"
	MacOS   Platform = "macos"
	Windows Platform = "windows"
)

// Platforms lists every platform, in the order reports show them. Callers
// must not modify it.
var Platforms = []Platform{Linux, MacOS, Windows}

// ParsePlatform reads a platform name, refusing one polc does not know
// with an error that lists the names it does.
func ParsePlatform(s string) (Platform, error) {
	for _, p := range Platforms {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown platform %q: use one of %s", s, JoinPlatforms(Platforms, ","))
}

// JoinPlatforms joins the platforms' names with sep.
func JoinPlatforms(ps []Platform, sep string) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	return strings.Join(names, sep)
}

// HostPlatform is the platform of the running binary.
func HostPlatform() Platform {
	switch runtime.GOOS {
	case "darwin":
		return MacOS
	case "windows":
		return Windows
	}
	return Linux
}

// String returns the platform's name.
func (p Platform) String() string { return string(p) }
