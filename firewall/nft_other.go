//go:build !linux

package firewall

import (
	"net/netip"
	"time"

	"polc/diag"
)

func unavailable() error {
	return diag.Errorf(diag.FirewallUnavailable, "the polc firewall needs Linux (nftables)")
}

// Apply fails: the firewall is Linux-only.
func Apply(*Spec, []netip.AddrPort) error { return unavailable() }

// DenyAll fails: the firewall is Linux-only.
func DenyAll() error { return unavailable() }

// Sets is not available off Linux.
type Sets struct{}

// OpenSets fails: the firewall is Linux-only.
func OpenSets() (*Sets, error) { return nil, unavailable() }

// Allow fails: the firewall is Linux-only.
func (*Sets) Allow([]netip.Addr, time.Duration) error { return unavailable() }

// Element is one open address and its remaining time.
type Element struct {
	Addr    netip.Addr
	Expires time.Duration
}

// State is what polc firewall status shows.
type State struct {
	Policy   string
	Rules    []string
	Elements []Element
}

// Status fails: the firewall is Linux-only.
func Status() (*State, error) { return nil, unavailable() }

// FailClosed returns cause: off Linux there is no firewall to close.
func FailClosed(cause error) error { return cause }
