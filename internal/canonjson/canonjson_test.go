package canonjson

import "testing"

func TestMarshalSortsKeysAndIsStable(t *testing.T) {
	type s struct {
		Z int               `json:"z"`
		A map[string]string `json:"a"`
		M string            `json:"m"`
	}
	v := s{Z: 1, A: map[string]string{"y": "<b>", "b": "x"}, M: "&"}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": {\n    \"b\": \"x\",\n    \"y\": \"<b>\"\n  },\n  \"m\": \"&\",\n  \"z\": 1\n}\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	again, _ := Canonicalize(got)
	if string(again) != string(got) {
		t.Fatalf("not idempotent:\n%s", again)
	}
}

func TestCanonicalizeKeepsNumberText(t *testing.T) {
	got, err := Canonicalize([]byte(`{"n": 12345678901234567890}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "{\n  \"n\": 12345678901234567890\n}\n" {
		t.Fatalf("got %s", got)
	}
}
