package hostprobe

import (
	"errors"
	"fmt"

	"polc/diag"
)

// LandlockFit is what Landlock mode (polc exec --landlock, or
// features.use_legacy_landlock = true) needs to run the profile, as
// backends/landlock lowered it.
type LandlockFit struct {
	// Asked is set when the launch runs under Landlock (the flag or the
	// feature): then Landlock, not bubblewrap, decides the verdict.
	Asked bool
	// MinABI is the Landlock ABI the profile's grants need, and Need
	// says which grant needs it and why.
	MinABI int
	Need   string
	// Refusal is why Landlock cannot enforce the profile exactly ("" when
	// it can), with its code.
	Refusal     string
	RefusalCode diag.Code
}

// landlockRow is the doctor's Landlock row and, when Landlock cannot run
// the profile here, why (nil when it can, or when nothing is known of
// the profile).
func landlockRow(abi int, s Sandbox) (status, detail string, f *Finding) {
	ll := s.Landlock
	have := fmt.Sprintf("ABI %d", abi)
	if abi == 0 {
		have = "not available"
	}
	switch {
	case ll == nil:
		return Info, have, nil
	case s.Unrestricted:
		return Info, have + "; the profile asks for no sandbox", nil
	case ll.Refusal != "":
		f = &Finding{Code: ll.RefusalCode, Cause: "Landlock cannot enforce " + s.Profile + " exactly: " + ll.Refusal,
			Fix: "run under bubblewrap, or change the profile as polc check --landlock says"}
		return Info, have + "; " + f.Cause, f
	case abi == 0:
		f = &Finding{Code: diag.LandlockABI, Cause: "Landlock is not available on this kernel",
			Fix: "use a kernel with Landlock (Linux 5.13 or later, landlock in the lsm= boot parameter), or run under bubblewrap"}
		return Info, have + " (Linux 5.13 or later with landlock in the lsm= boot parameter)", f
	case abi < ll.MinABI:
		f = &Finding{Code: diag.LandlockABI, Cause: fmt.Sprintf("%s, and this kernel's Landlock ABI is %d", ll.Need, abi),
			Fix: "run under bubblewrap, or on a newer kernel"}
		return Info, have + "; " + f.Cause, f
	}
	return OK, fmt.Sprintf("%s: %s can be enforced exactly under Landlock and seccomp (polc exec --landlock; needs ABI %d)", have, s.Profile, ll.MinABI), nil
}

// landlockVerdict is the verdict when the launch runs under Landlock:
// the profile fits this kernel's ABI and a seccomp filter can be
// installed.
func (t *trials) landlockVerdict() *Finding {
	if t.s.Unrestricted {
		return nil
	}
	if kind, release := Platform(t.p); kind == WSL1 {
		return wsl1Finding(release)
	}
	if _, _, f := landlockRow(t.p.LandlockABI(), t.s); f != nil {
		return f
	}
	if err := t.seccomp(); err != nil && !errors.Is(err, ErrNotTried) {
		return seccompFinding(err)
	}
	return nil
}
