package devcontainer

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/profiles/seccomp"
)

// TestDockerDefaultInSync: the embedded profile is the library's
// DefaultProfile; after bumping github.com/moby/profiles/seccomp, run
// go generate ./devcontainer.
func TestDockerDefaultInSync(t *testing.T) {
	var embedded, lib any
	if err := json.Unmarshal(dockerDefault, &embedded); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(seccomp.DefaultProfile())
	json.Unmarshal(b, &lib)
	if d := cmp.Diff(lib, embedded); d != "" {
		t.Errorf("docker-default.json differs from seccomp.DefaultProfile() (run go generate ./devcontainer):\n%s", d)
	}
}

// TestSeccompProfileIsDockersPlusBubblewrap: the written profile denies
// by default as Docker's does, allows the bubblewrap calls in exactly one
// rule and no other rule names them, and keeps every other rule of
// Docker's default.
func TestSeccompProfileIsDockersPlusBubblewrap(t *testing.T) {
	b, err := seccompProfile()
	if err != nil {
		t.Fatal(err)
	}
	var got seccomp.Seccomp
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	def := seccomp.DefaultProfile()
	if got.DefaultAction != def.DefaultAction || got.DefaultAction != "SCMP_ACT_ERRNO" {
		t.Errorf("defaultAction %q, want Docker's %q", got.DefaultAction, def.DefaultAction)
	}
	named := map[string][]string{}
	for _, s := range got.Syscalls {
		for _, n := range s.Names {
			named[n] = append(named[n], string(s.Action))
		}
	}
	for _, n := range bubblewrapSyscalls {
		if a := named[n]; len(a) != 1 || a[0] != "SCMP_ACT_ALLOW" {
			t.Errorf("%s: rules %v, want one allow", n, a)
		}
	}
	// Calls Docker refuses stay refused (not named, or only under a
	// capability the container does not have).
	for _, n := range []string{"keyctl", "add_key", "kexec_load", "open_by_handle_at", "bpf", "setns", "fsopen"} {
		for _, s := range got.Syscalls {
			for _, m := range s.Names {
				if m == n && (s.Includes == nil || len(s.Includes.Caps) == 0) {
					t.Errorf("%s is allowed without a capability condition", n)
				}
			}
		}
	}
	// Every rule of Docker's default survives, minus the bubblewrap names.
	want := 0
	for _, s := range def.Syscalls {
		left := 0
		for _, n := range s.Names {
			if !slices.Contains(bubblewrapSyscalls, n) {
				left++
			}
		}
		if left > 0 {
			want++
		}
	}
	if len(got.Syscalls) != want+1 {
		t.Errorf("%d rules, want Docker's %d kept plus one", len(got.Syscalls), want)
	}
}
