package artifact

import (
	"bytes"
	"polc/diag"
	"polc/ir"
	"testing"
)

// FuzzDecodeEnvelope feeds arbitrary bytes to the decoder: it must never
// panic, every refusal must carry an artifact code, and whatever it
// accepts must re-encode to an envelope that decodes to the same bytes.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, p := range ir.Platforms {
		a := mustBuild(f, testPolicy(), p)[0]
		body, _ := a.Encode()
		f.Add(body)
		a.Sign(testKey(f, 3))
		body, _ = a.Encode()
		f.Add(body)
	}
	f.Add([]byte(`{"format":"polc-artifact/v1","payload":{},"payload_digest":"sha256:00","scope":{}}`))
	f.Add([]byte(`{"format":"polc-artifact/v1","payload":null}`))
	f.Add([]byte("[]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Decode(data)
		if err != nil {
			if diag.CodeOf(err) == "" {
				t.Fatalf("refusal without a code: %v", err)
			}
			return
		}
		again, err := e.Encode()
		if err != nil {
			t.Fatalf("accepted envelope does not encode: %v", err)
		}
		e2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded envelope refused: %v", err)
		}
		third, _ := e2.Encode()
		if !bytes.Equal(again, third) {
			t.Fatalf("encoding is not stable")
		}
		// Verification must not panic on anything Decode accepted.
		e.Verify(trustOf(testKey(t, 3)))
	})
}
