package semdiff

import (
	"strconv"
	"strings"
)

// Effect says which way a change moves what the sandboxed command may do.
type Effect string

const (
	// Narrower: the command may do less (a path lost access, a deny glob
	// appeared, the network shrank, a domain rule was lost).
	Narrower Effect = "narrower"
	// Wider: the command may do more.
	Wider Effect = "wider"
	// Mixed: one change both takes and gives (workspace roots swapped).
	Mixed Effect = "mixed"
	// Neutral: a change without a direction (an approval setting, the
	// auto-review text, proxy ports, which requirements were applied).
	Neutral Effect = ""
)

// Effect classifies the change from the words Compare put in From and
// To: access levels ordered deny < read < write, a sandbox that is
// disabled wider than one enabled, deny globs narrower when present and
// the deeper they reach, networks ordered none < proxy < full. Approval
// settings have no order of their own (whether never or on-request gives
// the agent more depends on what the user wanted); they are Neutral and a
// caller that knows the user's setting can say more.
func (c Change) Effect() Effect {
	switch c.Kind {
	case "sandbox":
		return order(c.From, c.To, map[string]int{"enabled": 0, "disabled": 1})
	case "path", "minimal":
		return order(c.From, c.To, map[string]int{"deny": 0, "read": 1, "write": 2})
	case "glob":
		// A deny glob reaching further narrows: absent < capped < any depth.
		return opposite(order(c.From, c.To, nil, globReach))
	case "roots":
		return setEffect(c.From, c.To)
	case "network":
		// The proxy's settings and domain rules, in the words
		// networkChanges writes for them.
		lead := func(s string) string { w, _, _ := strings.Cut(s, " "); return w }
		switch {
		case strings.HasPrefix(c.Subject, "unix socket "):
			return order(c.From, c.To, map[string]int{"deny": 0, "connect": 1})
		case strings.HasPrefix(c.Subject, "domain "):
			return domainEffect(c.From, c.To)
		case c.Subject == "proxy local addresses":
			return order(c.From, c.To, map[string]int{"refused": 0, "allowed": 1})
		case c.Subject == "proxy methods":
			return order(lead(c.From), lead(c.To), map[string]int{"limited": 0, "full": 1})
		case c.Subject == "proxy SOCKS5":
			return order(c.From, c.To, map[string]int{"off": 0, "on": 1})
		case c.Subject == "network":
			return order(lead(c.From), lead(c.To), map[string]int{"none": 0, "proxy": 1, "full": 2})
		}
	}
	return Neutral
}

// order compares from and to by rank (or by the rank function when rank
// is nil): a rise is Wider, a fall Narrower; unknown words are Neutral.
func order(from, to string, rank map[string]int, fn ...func(string) (int, bool)) Effect {
	get := func(s string) (int, bool) {
		if rank == nil {
			return fn[0](s)
		}
		v, ok := rank[s]
		return v, ok
	}
	a, ok1 := get(from)
	b, ok2 := get(to)
	switch {
	case !ok1 || !ok2 || a == b:
		return Neutral
	case b > a:
		return Wider
	}
	return Narrower
}

func opposite(e Effect) Effect {
	switch e {
	case Wider:
		return Narrower
	case Narrower:
		return Wider
	}
	return e
}

// globReach ranks globWord's words: absent 0, capped at depth N is N,
// any depth the most.
func globReach(s string) (int, bool) {
	switch {
	case s == "absent":
		return 0, true
	case strings.HasSuffix(s, ", any depth"):
		return 1 << 30, true
	}
	_, after, ok := strings.Cut(s, ", to depth ")
	if !ok {
		return 0, false
	}
	n, _, _ := strings.Cut(after, " ")
	v, err := strconv.Atoi(n)
	return v, err == nil
}

// setEffect compares two space-separated lists: only additions are
// Wider, only removals Narrower, both Mixed.
func setEffect(from, to string) Effect {
	words := func(s string) map[string]bool {
		m := map[string]bool{}
		if s != "none" {
			for _, w := range strings.Fields(s) {
				m[w] = true
			}
		}
		return m
	}
	a, b := words(from), words(to)
	added, removed := false, false
	for w := range b {
		added = added || !a[w]
	}
	for w := range a {
		removed = removed || !b[w]
	}
	switch {
	case added && removed:
		return Mixed
	case added:
		return Wider
	case removed:
		return Narrower
	}
	return Neutral
}

// domainEffect ranks a domain rule's words (allow, deny, or none, each
// possibly "managed "): losing an allow or gaining a deny narrows.
func domainEffect(from, to string) Effect {
	word := func(s string) string { return strings.TrimPrefix(s, "managed ") }
	return order(word(from), word(to), map[string]int{"deny": 0, "none": 1, "absent": 1, "allow": 2})
}
