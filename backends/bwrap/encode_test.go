package bwrap

import (
	"bytes"
	"math/rand"
	"reflect"
	"testing"

	"polc/canonjson"
	"polc/seccomp"
)

// tricky strings: HTML characters, quotes, controls, U+2028, non-ASCII,
// invalid UTF-8.
var trickyStrings = []string{"", "plain", "${WORKSPACE_ROOT}/**/*.env", `<a href="x">&amp;</a>`, "back\\slash \"q\"",
	"ctl \x00\x01\b\f\n\r\t\x1f\x7f", "line\u2028sep\u2029", "héllo ☃ 𝄞", "bad \xff\xfe utf8 \xe2\x82", "/tmp/a b/c"}

// fill sets every field reachable from v (a pointer) to a random value:
// zero or not, nil or empty or full slices and maps. A field added to
// the artifact later is filled too, so an encoder that forgets it fails.
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(trickyStrings[r.Intn(len(trickyStrings))])
	case reflect.Bool:
		v.SetBool(r.Intn(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt([]int64{0, 1, 3, 40, -1, 1 << 40}[r.Intn(6)])
	case reflect.Uint32, reflect.Uint64, reflect.Uint:
		v.SetUint([]uint64{0, 1, 0x5412, 1 << 31}[r.Intn(4)])
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i))
			}
		}
	case reflect.Slice:
		switch r.Intn(4) {
		case 0:
			v.Set(reflect.Zero(v.Type()))
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + r.Intn(3)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := 0; i < n; i++ {
				fill(r, s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Pointer:
		if r.Intn(3) == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		e := reflect.New(v.Type().Elem())
		fill(r, e.Elem())
		v.Set(e)
	case reflect.Map:
		switch r.Intn(3) {
		case 0:
			v.Set(reflect.Zero(v.Type()))
		default:
			m := reflect.MakeMap(v.Type())
			for i := r.Intn(4); i > 0; i-- {
				k := reflect.New(v.Type().Key()).Elem()
				fill(r, k)
				e := reflect.New(v.Type().Elem()).Elem()
				fill(r, e)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String() + " (teach the encoder and this test about it)")
	}
}

// TestEncodeIsCanonjson: the direct encoder writes what canonjson makes
// of the same artifact, for artifacts with every field set at random.
func TestEncodeIsCanonjson(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	check := func(a *Artifact) {
		t.Helper()
		want, err := canonjson.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("artifact %+v\nencoded:\n%s\ncanonjson:\n%s", a, got, want)
		}
	}
	check(&Artifact{})
	check(&Artifact{Format: Format, Profile: "ws", Root: RootTmpfs, Namespaces: []string{nsUser, nsPID, nsIPC, nsNet},
		Network: netNone, Proc: true, Dev: true, DieWithParent: true, NewSession: true, Seccomp: seccomp.ForNetwork(false),
		Mounts: []Mount{{Path: "${WORKSPACE_ROOT}", Access: accessWrite}, {Path: "/usr", Access: accessRead, Minimal: true, SkipIfMissing: true}},
		Globs:  []GlobMask{{Pattern: "${WORKSPACE_ROOT}/**/*.env", Base: "${WORKSPACE_ROOT}", MaxDepth: 3}},
		Env:    map[string]string{"CODEX_SANDBOX_NETWORK_DISABLED": "1"}})
	for i := 0; i < 3000; i++ {
		var a Artifact
		fill(r, reflect.ValueOf(&a).Elem())
		check(&a)
	}
}
