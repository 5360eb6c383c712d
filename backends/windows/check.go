package windows

import (
	"fmt"
	"slices"
)

// Check is the outcome of one modelled access check.
type Check struct {
	Allowed bool
	// Decider is the ACE that denied, or that granted the last missing
	// bit; nil when no ACE granted (implicit deny) or when unrestricted.
	Decider *ACE
	// At is the host path the deciding ACE sits on.
	At string
	// Inherited is set when Decider came from an ancestor.
	Inherited bool
	// Restricted is set when the restricted (second) check decided.
	Restricted bool
}

// Access runs the Windows access check for the object at key k, asking
// for desired. The DACL is the canonical one Windows builds: the object's
// explicit ACEs (deny before allow), then the inheritable ACEs of its
// parent, grandparent, ... (deny before allow within each level), up to
// the first protected DACL. A deny ACE naming an enabled SID for a
// still-missing bit denies; allows accumulate until every bit is granted.
// With a write-restricted token, the write bits must also pass a second
// check that considers only the restricting SIDs.
func (b *Bound) Access(k string, desired uint32) Check {
	if b.Unrestricted {
		return Check{Allowed: true}
	}
	c := b.check(k, desired, b.Normal)
	if !c.Allowed {
		return c
	}
	if w := desired & WriteBits; b.WriteRestricted && w != 0 {
		r := b.check(k, w, b.Restricting)
		r.Restricted = true
		if !r.Allowed {
			return r
		}
		return r
	}
	return c
}

func (b *Bound) check(k string, desired uint32, sids []string) Check {
	var granted uint32
	inherited := false
	for cur, ok := k, true; ok; cur, ok = parentKey(cur) {
		n := b.Nodes[cur]
		if n != nil {
			for i := range n.ACEs {
				a := &n.ACEs[i]
				if inherited && !a.Inherit {
					continue
				}
				if !slices.Contains(sids, a.SID) {
					continue
				}
				missing := desired &^ granted
				if a.Deny {
					if a.Mask&missing != 0 {
						return Check{Decider: a, At: n.Path, Inherited: inherited}
					}
					continue
				}
				if a.Mask&missing != 0 {
					granted |= a.Mask & missing
					if granted == desired {
						return Check{Allowed: true, Decider: a, At: n.Path, Inherited: inherited}
					}
				}
			}
			if n.Protected {
				break
			}
		}
		inherited = true
	}
	return Check{}
}

// Reason is a one-line account of the check.
func (c Check) Reason(op string) string {
	verdict := "denied"
	if c.Allowed {
		verdict = "allowed"
	}
	if c.Decider == nil {
		if c.Allowed {
			return verdict + ": unrestricted (no sandbox)"
		}
		second := ""
		if c.Restricted {
			second = " for a capability SID (restricted token's second check)"
		}
		return fmt.Sprintf("%s: no ACE grants %s%s", verdict, op, second)
	}
	a := c.Decider
	kind := "allow"
	if a.Deny {
		kind = "deny"
	}
	how := "explicit"
	if c.Inherited {
		how = "inherited"
	}
	check := ""
	if c.Restricted {
		check = ", restricted check"
	}
	s := fmt.Sprintf("%s: %s %s ACE %s %s on %s%s", verdict, how, kind, a.SID, hexMask(a.Mask), c.At, check)
	if a.Why != "" {
		s += " (" + a.Why + ")"
	}
	return s
}
