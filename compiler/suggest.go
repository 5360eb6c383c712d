package compiler

import (
	"fmt"
	"strings"

	"polc/diag"
	"polc/internal/syntax"
)

// didYouMean returns the known key nearest to key by edit distance, when it
// is near enough to be a typo of it (at most a third of its length, and at
// least one edit), else "".
func didYouMean(key string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		d := editDistance(strings.ToLower(key), strings.ToLower(k))
		if bestD < 0 || d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	limit := max(1, len(key)/3)
	if best == "" || bestD == 0 && best == key || bestD > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b over bytes (the keys
// are ASCII), with a transposition counted as one edit.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// unknownKeyIn reports key, unknown in the table named prefix, with the
// nearest known key as the fix when there is one. Inside a [permissions.*]
// profile it is an error (POL140): the reference's schema forbids unknown
// keys there, and a typo'd table drops every rule it holds. Elsewhere it
// stays a warning (POL004): Codex ignores unknown keys.
func (s *state) unknownKeyIn(v *syntax.Value, prefix, key string, known []string, inProfile bool) {
	name := syntax.QuoteKey(key)
	if prefix != "" {
		name = prefix + "." + name
	}
	code, fix := diag.UnknownKey, "check the spelling, or remove the key: "+ReferenceVersion()+" does not read it and ignores unknown keys, so a typo silently does nothing"
	if inProfile {
		code = diag.UnknownProfileKey
		fix = "check the spelling; this table knows only " + strings.Join(known, ", ")
	}
	msg := "unknown key " + name
	if m := didYouMean(key, known); m != "" {
		msg += fmt.Sprintf("; did you mean %s?", syntax.QuoteKey(m))
		fix = fmt.Sprintf("rename %s to %s", syntax.QuoteKey(key), syntax.QuoteKey(m))
	}
	s.diags.Add(code, v.KeyPos, msg, fix)
}
