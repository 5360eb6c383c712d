package windows

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"polc/internal/conformance"
	"polc/ir"
)

// fakeACLs is a host's explicit ACEs by key: what SetNamedSecurityInfo
// would leave after the runtime's writes (SIDs already resolved).
type fakeACLs map[string][]ACE

// apply does what the runtime's addACEs does, on the fake host, and
// returns how many ACEs it wrote.
func (f fakeACLs) apply(b *Bound) int {
	n := 0
	for k, node := range b.Nodes {
		add := MissingACEs(f[k], node.ACEs)
		f[k] = append(f[k], add...)
		n += len(add)
	}
	return n
}

func TestApplyIsIdempotent(t *testing.T) {
	root := t.TempDir()
	conformance.MkTree(t, root, "proj/a.txt", "proj/.env", "proj/sub/b.env", "proj/.git/config")
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: filepath.Join(root, "proj")}, Platform: "windows"}
	plan, _ := Lower(seedPolicy(), LowerOptions{})
	b, err := plan.Bind(Elevated, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	host := fakeACLs{}
	first := host.apply(b)
	if first == 0 {
		t.Fatal("first run wrote nothing")
	}
	b2, err := plan.Bind(Elevated, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again := host.apply(b2); again != 0 {
		t.Fatalf("second run wrote %d more ACEs; want none", again)
	}
	// A stronger existing grant satisfies a weaker wanted one; a weaker
	// one does not.
	strong := []ACE{{SID: "s", Mask: MaskFull, Inherit: true}}
	if got := MissingACEs(strong, []ACE{{SID: "s", Mask: MaskReadExec, Inherit: true}}); len(got) != 0 {
		t.Errorf("full control should provide read: %v", got)
	}
	if got := MissingACEs([]ACE{{SID: "s", Mask: MaskReadExec, Inherit: true}}, []ACE{{SID: "s", Mask: MaskWrite, Inherit: true}}); len(got) != 1 {
		t.Errorf("read does not provide write: %v", got)
	}
	if got := MissingACEs([]ACE{{SID: "s", Mask: MaskWrite}}, []ACE{{SID: "s", Mask: MaskWrite, Inherit: true}}); len(got) != 1 {
		t.Errorf("a non-inheritable grant does not provide an inheritable one: %v", got)
	}
	if got := MissingACEs([]ACE{{SID: "s", Mask: MaskWrite, Inherit: true}}, []ACE{{SID: "s", Deny: true, Mask: MaskDenyWrite, Inherit: true}}); len(got) != 1 {
		t.Errorf("an allow does not provide a deny: %v", got)
	}
}

// TestStaleGlobMatchRevoked: a file that no longer matches a deny glob
// loses its deny on the next run; one that still matches keeps it.
func TestStaleGlobMatchRevoked(t *testing.T) {
	root := t.TempDir()
	conformance.MkTree(t, root, "proj/a.env", "proj/b.env")
	proj := filepath.Join(root, "proj")
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: proj}, Platform: "windows"}
	plan, _ := Lower(seedPolicy(), LowerOptions{})
	record := func() []AppliedACE {
		b, err := plan.Bind(Elevated, env, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []AppliedACE
		for _, n := range b.Nodes {
			for _, a := range n.ACEs {
				if !a.Baseline {
					out = append(out, AppliedACE{Path: n.Path, SID: a.SID, Deny: a.Deny})
				}
			}
		}
		return out
	}
	prev := record()
	if err := os.Rename(filepath.Join(proj, "b.env"), filepath.Join(proj, "b.txt")); err != nil {
		t.Fatal(err)
	}
	stale := StaleACEs(prev, record())
	want := []AppliedACE{
		{Path: filepath.Join(proj, "b.env"), SID: CapRef(ir.VarWorkspaceRoot), Deny: true},
		{Path: filepath.Join(proj, "b.env"), SID: SIDSandboxGroup, Deny: true},
	}
	if !reflect.DeepEqual(stale, want) {
		t.Fatalf("stale = %+v\nwant %+v", stale, want)
	}
	if len(StaleACEs(record(), record())) != 0 {
		t.Fatal("an unchanged tree has stale ACEs")
	}
}

func TestMaterializeOnlyUnderWritableRoots(t *testing.T) {
	root := t.TempDir()
	conformance.MkTree(t, root, "proj/a.txt", "home/")
	pol := seedPolicy()
	pol.Rules = append(pol.Rules, ir.Rule{Path: ir.VarHome + "/.ssh", Access: ir.Deny})
	plan, _ := Lower(pol, LowerOptions{})
	env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: filepath.Join(root, "proj"), ir.VarHome: filepath.Join(root, "home")}}
	b, err := plan.Bind(Elevated, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	codex := b.Nodes[Key(filepath.Join(root, "proj", ".codex"))]
	ssh := b.Nodes[Key(filepath.Join(root, "home", ".ssh"))]
	if codex == nil || !codex.Materialize {
		t.Error("a missing .codex below the writable project must be created before its deny-write ACE")
	}
	if ssh == nil || ssh.Materialize {
		t.Error("a missing ~/.ssh outside every writable root must not be created")
	}
	for _, a := range ssh.ACEs {
		if IsCap(a.SID) {
			t.Errorf("capability deny outside its root kept: %+v", a)
		}
	}
}
