package bwrap

import (
	"bytes"
	"encoding/json"
	"math/rand"
	randv2 "math/rand/v2"
	"reflect"
	"testing"

	"polc/backends"
	"polc/internal/canonjson"
	"polc/internal/seccomp"
	"polc/ir"
)

// tricky strings: HTML characters, quotes, controls, U+2028, non-ASCII.
var trickyStrings = []string{"", "plain", "${WORKSPACE_ROOT}/**/*.env", `<a href="x">&amp;</a>`, "back\\slash \"q\"",
	"ctl \x00\x01\b\f\n\r\t\x1f\x7f", "line\u2028sep\u2029", "héllo ☃ 𝄞", "/tmp/a b/c"}

// fill sets every field reachable from v (a pointer) to a random value:
// zero or not, nil or empty or full slices and maps. A field added to
// the artifact later is filled too, so one the file loses fails.
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
		panic("fill: unhandled kind " + v.Kind().String() + " (teach this test about it)")
	}
}

// sameValue reports whether a and b hold the same values, a nil and an
// empty slice or map alike (the encoding omits both).
func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice, reflect.Map:
		if a.Len() == 0 || b.Len() == 0 {
			return a.Len() == b.Len()
		}
		if a.Kind() == reflect.Map {
			for _, k := range a.MapKeys() {
				if v := b.MapIndex(k); !v.IsValid() || !sameValue(a.MapIndex(k), v) {
					return false
				}
			}
			return a.Len() == b.Len()
		}
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return a.Interface() == b.Interface()
}

// TestArtifactSurvivesItsFile: polc exec runs the artifact it lowers as
// it is, polc exec --artifact the one it reads from a file; every field,
// set at random, reads back from the encoding as it was, so both run the
// same sandbox. (Strings are valid UTF-8: they come from TOML.)
func TestArtifactSurvivesItsFile(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	check := func(a *Artifact) {
		t.Helper()
		body, err := a.Encode()
		if err != nil {
			t.Fatal(err)
		}
		var back Artifact
		if err := json.Unmarshal(body, &back); err != nil {
			t.Fatal(err)
		}
		if !sameValue(reflect.ValueOf(a).Elem(), reflect.ValueOf(&back).Elem()) {
			t.Fatalf("artifact %+v\nreads back as %+v\nfrom:\n%s", a, &back, body)
		}
		if again, _ := back.Encode(); !bytes.Equal(again, body) {
			t.Fatalf("encoding is not stable:\n%s\nthen:\n%s", body, again)
		}
		if want, _ := canonjson.Marshal(a); !bytes.Equal(body, want) {
			t.Fatalf("not canonical JSON:\n%s\nwant:\n%s", body, want)
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

// TestLaunchRunsWhatTheArtifactSays: for lowered policies, the artifact
// polc exec hands the launcher (Output.Artifact, never encoded) is the
// one a built artifact file decodes to, and Decode accepts it: exec and
// exec --artifact run the same sandbox, and exec runs nothing the
// artifact checks would refuse.
func TestLaunchRunsWhatTheArtifactSays(t *testing.T) {
	policies := []*ir.Policy{seedPolicy()}
	net := seedPolicy()
	net.Network = ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{}}
	full := seedPolicy()
	full.Network = ir.Network{Mode: ir.NetworkFull}
	policies = append(policies, net, full, &ir.Policy{Profile: "off", Unrestricted: true})
	r := rand.New(rand.NewSource(7))
	paths := []string{"/proj", "/proj/a", "/proj/a/b", "/proj/.git", "/proj/src/x.go", "/proj/.env"}
	for i := 0; i < 300; i++ {
		policies = append(policies, randomPolicy(randv2.New(randv2.NewPCG(uint64(r.Int63()), 3)), "/proj", paths))
	}
	lowered := 0
	for i, p := range policies {
		typed, diags := Backend.Lower(p, backends.Options{NoPayload: true})
		if diags.HasErrors() {
			continue
		}
		lowered++
		file, _ := Backend.Lower(p, backends.Options{})
		if len(typed.Payload) != 0 {
			t.Fatalf("policy %d: NoPayload still encoded the payload", i)
		}
		back, err := Decode(file.Payload)
		if err != nil {
			t.Fatalf("policy %d: the artifact file does not decode: %v\n%s", i, err, file.Payload)
		}
		art := typed.Artifact.(*Artifact)
		if !sameValue(reflect.ValueOf(art).Elem(), reflect.ValueOf(back).Elem()) {
			t.Fatalf("policy %d: exec runs %+v\nthe artifact file says %+v", i, art, back)
		}
	}
	if lowered < len(policies)/2 {
		t.Fatalf("only %d of %d policies lowered", lowered, len(policies))
	}
}
