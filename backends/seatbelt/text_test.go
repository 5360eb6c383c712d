package seatbelt

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/quick"
)

// TestTextRoundTrip: the lines form gives back the SBPL byte for byte,
// whatever newlines it holds (none, leading, trailing, doubled).
func TestTextRoundTrip(t *testing.T) {
	for _, in := range []string{"", "\n", "\n\n", "(version 1)", "(version 1)\n", "\n(deny default)\n\n(allow x)", "a\r\nb"} {
		checkTextRoundTrip(t, in)
	}
	if err := quick.Check(func(s string) bool { return checkTextRoundTrip(t, s) }, nil); err != nil {
		t.Error(err)
	}
}

func checkTextRoundTrip(t *testing.T, in string) bool {
	t.Helper()
	b, err := json.Marshal(Text(in))
	if err != nil {
		t.Errorf("%q: %v", in, err)
		return false
	}
	var out Text
	if err := json.Unmarshal(b, &out); err != nil || string(out) != in {
		t.Errorf("%q -> %s -> %q (%v)", in, b, out, err)
		return false
	}
	return true
}

// TestTextIsLines: a profile is stored one SBPL line per JSON string, so
// that a one-rule change is a one-line diff; the old single-string form
// is refused.
func TestTextIsLines(t *testing.T) {
	b, _ := json.Marshal(Text("(version 1)\n(deny default)\n"))
	if got, want := string(b), `["(version 1)","(deny default)",""]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	var out Text
	if err := json.Unmarshal([]byte(`"(version 1)\n"`), &out); err == nil || !strings.Contains(err.Error(), "string") {
		t.Errorf("a single string was accepted as a profile: %q, %v", out, err)
	}
}
