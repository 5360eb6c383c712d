package semdiff

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"polc/ir"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txtar")

// TestGolden runs every testdata case: old.json and new.json are
// ir.Policy values, want is what polc diff prints for them on all
// platforms. go test ./artifact/semdiff -update rewrites want.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden cases")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sec := map[string][]byte{}
			for _, f := range ar.Files {
				sec[f.Name] = f.Data
			}
			old, new := decodePolicy(t, sec["old.json"]), decodePolicy(t, sec["new.json"])
			var got bytes.Buffer
			Write(&got, Compare(old, new, ir.Platforms), ir.Platforms)
			if *update {
				for i := range ar.Files {
					if ar.Files[i].Name == "want" {
						ar.Files[i].Data = got.Bytes()
					}
				}
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got.String() != string(sec["want"]) {
				t.Errorf("output differs (go test -update to accept):\n--- got\n%s--- want\n%s", got.String(), sec["want"])
			}
		})
	}
}

func decodePolicy(t *testing.T, b []byte) *ir.Policy {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p ir.Policy
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("policy: %v", err)
	}
	return &p
}
