package artifact

import (
	"math/rand"
	"regexp"
	"testing"
)

// TestNameCheckersMatchTheirPatterns: the plain checkers accept exactly
// what the patterns they replace accept.
func TestNameCheckersMatchTheirPatterns(t *testing.T) {
	checks := []struct {
		re    *regexp.Regexp
		check func(string) bool
		seeds []string
	}{
		{regexp.MustCompile(`^sha256:[0-9a-f]{64}$`), isDigest, []string{Digest(nil), Digest([]byte("x")), "sha256:", "sha512:00"}},
		{regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,15}$`), isSuffix, []string{"json", "bpf", "a", "_x", "-", "a-b_c", "0123456789abcdef", "0123456789abcdefg", "../x", "A"}},
		{regexp.MustCompile(`^[0-9a-f]{16}$`), isKeyID, []string{"0123456789abcdef", "0123456789ABCDEF", "0123456789abcde"}},
	}
	alphabet := []byte("0123456789abcdefgzA_-./:sha256")
	r := rand.New(rand.NewSource(1))
	for _, c := range checks {
		cands := append([]string(nil), c.seeds...)
		for _, s := range c.seeds {
			// Mutations of each seed: one byte changed, one dropped, one added.
			for i := 0; i < 200 && len(s) > 0; i++ {
				b := []byte(s)
				j := r.Intn(len(b))
				switch i % 3 {
				case 0:
					b[j] = alphabet[r.Intn(len(alphabet))]
				case 1:
					b = append(b[:j], b[j+1:]...)
				case 2:
					b = append(b[:j], append([]byte{alphabet[r.Intn(len(alphabet))]}, b[j:]...)...)
				}
				cands = append(cands, string(b))
			}
		}
		for _, s := range cands {
			if got, want := c.check(s), c.re.MatchString(s); got != want {
				t.Errorf("%q: checker %v, pattern %s %v", s, got, c.re, want)
			}
		}
	}
}
