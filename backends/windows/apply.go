package windows

import "sort"

// The runtime writes ACEs onto real files; these pure functions decide
// what it writes, so that idempotence and revocation are tested here
// (Windows cannot run on the development machine). SIDs are compared as
// strings ("S-1-5-21-…") once the runtime has resolved them.

// MissingACEs returns the wanted ACEs that existing (a path's explicit
// ACEs) does not already provide: an allow is provided by an allow for
// the same SID, with the same inheritance, holding every bit; a deny by a
// deny for the same SID and inheritance covering every bit. Applying the
// result and asking again yields nothing: the apply is idempotent.
func MissingACEs(existing, want []ACE) []ACE {
	var out []ACE
	for _, w := range want {
		if w.Baseline || provided(existing, w) || provided(out, w) {
			continue
		}
		out = append(out, w)
	}
	return out
}

func provided(have []ACE, w ACE) bool {
	for _, h := range have {
		if h.SID == w.SID && h.Deny == w.Deny && h.Inherit == w.Inherit && h.Mask&w.Mask == w.Mask {
			return true
		}
	}
	return false
}

// AppliedACE records one SID polc gave ACEs on one path, so that a later
// run can revoke what it no longer wants.
type AppliedACE struct {
	Path string `json:"path"`
	SID  string `json:"sid"`
	Deny bool   `json:"deny"`
}

// StaleACEs are the (path, SID) pairs a previous run recorded that this
// run does not want, sorted and without duplicates. Revoking removes
// every explicit ACE of the SID on the path, so a pair still wanted in
// any form is kept whole.
func StaleACEs(prev, want []AppliedACE) []AppliedACE {
	keep := map[[2]string]bool{}
	for _, a := range want {
		keep[[2]string{Key(a.Path), a.SID}] = true
	}
	seen := map[[2]string]bool{}
	var out []AppliedACE
	for _, a := range prev {
		k := [2]string{Key(a.Path), a.SID}
		if keep[k] || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if ki, kj := Key(out[i].Path), Key(out[j].Path); ki != kj {
			return ki < kj
		}
		return out[i].SID < out[j].SID
	})
	return out
}
