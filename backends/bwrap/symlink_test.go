package bwrap

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"polc/backends"
	"polc/diag"
	"polc/internal/globwalk"
	"polc/ir"
)

// A link in the project named like a deny-glob match that points to a
// file the policy lets the command read is judged by its target (held-back
// case h17): nothing is masked, neither the target nor anything else. The
// same shape with libc as the target is a planted denial of service.
func TestMatchedSymlinkToReadableTargetMasksNothing(t *testing.T) {
	root := mkTree(t, "proj/a.txt", "pub/readme.txt", "lib/libc.so.6")
	proj := filepath.Join(root, "proj")
	for name, target := range map[string]string{"named.env": "pub/readme.txt", "x.env": "lib/libc.so.6"} {
		if err := os.Symlink(filepath.Join(root, target), filepath.Join(proj, name)); err != nil {
			t.Fatal(err)
		}
	}
	ws := ir.VarWorkspaceRoot
	p := &ir.Policy{Rules: []ir.Rule{{Path: "/", Access: ir.Read}, {Path: ws, Access: ir.Write}},
		Globs: []ir.Glob{{Pattern: ws + "/**/*.env", Base: ws}}}
	hp := plan(t, p, proj)
	if len(hp.Masks) != 0 {
		t.Fatalf("masks = %+v, want none: both links point to files the policy lets the command read", hp.Masks)
	}
	env := ir.Env{Bindings: ir.Bindings{ws: proj}}
	art, _ := Lower(p, backends.Options{})
	ev, err := NewEvaluator(art, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, probe := range []string{"proj/named.env", "pub/readme.txt", "proj/x.env", "lib/libc.so.6"} {
		if v := ev.Decide(filepath.Join(root, probe), ir.OpRead); !v.Allowed {
			t.Errorf("read %s: denied (%s), want allowed", probe, v.Reason)
		}
	}
}

// A matched link whose target the globs deny too keeps its target
// masked, wherever the target lies (docs/design.md §2: a glob match reached through
// a symlink is denied where it really is).
func TestMatchedSymlinkToDeniedTargetIsMasked(t *testing.T) {
	root := mkTree(t, "proj/a.txt", "outside/secret", "outside/plain")
	proj := filepath.Join(root, "proj")
	os.Symlink(filepath.Join(root, "outside/secret"), filepath.Join(proj, "link.env"))
	os.Symlink(filepath.Join(root, "outside/plain"), filepath.Join(proj, "other.env"))
	ws := ir.VarWorkspaceRoot
	p := &ir.Policy{Rules: []ir.Rule{{Path: "/", Access: ir.Read}, {Path: ws, Access: ir.Write}},
		Globs: []ir.Glob{{Pattern: ws + "/**/*.env", Base: ws}, {Pattern: root + "/outside/secr*", Base: root + "/outside"}}}
	hp := plan(t, p, proj)
	if len(hp.Masks) != 1 || hp.Masks[0].Path != filepath.Join(root, "outside/secret") {
		t.Fatalf("masks = %+v, want only the denied target outside/secret", hp.Masks)
	}
}

// globDenies is ir.Decide's glob test: the path or an ancestor below the
// base, within the cap or where the mount table lets the sandbox write.
func TestGlobDenies(t *testing.T) {
	pats := []globwalk.Pattern{{Pattern: "/w/**/*.env", Base: "/w", MaxDepth: 2}, {Pattern: "/s/**/secrets", Base: "/s"}}
	b := &builder{made: []Entry{{Path: "/", Kind: KindRootRO}, {Path: "/w/rw", Kind: KindBind}}}
	for _, c := range []struct {
		path string
		want bool
	}{
		{"/w/a.env", true},
		{"/w/d/a.env", true},
		{"/w/d/e/a.env", false},    // beyond the cap, read-only
		{"/w/rw/e/a.env", true},    // beyond the cap, writable
		{"/w/rw/e/f/g.txt", false}, // writable, no match
		{"/w/d.env/x", true},       // an ancestor matches
		{"/w", false},              // the base itself never matches
		{"/elsewhere/a.env", false},
		{"/s/a/b/c/secrets/k", true},
		{"/s/a/b/c/secret/k", false},
	} {
		if got := b.globDenies(pats, c.path); got != c.want {
			t.Errorf("globDenies(%s) = %v, want %v", c.path, got, c.want)
		}
	}
}

// TestEvaluatorAgreesWithDecideThroughSymlinks is translation validation
// with symlinks: random trees get random links (named like glob matches
// or not, to files and directories inside the project or outside it,
// absolute or relative), and reading or writing through each link, and
// at its target, must get ir.Decide's answer as Linux enforces it.
func TestEvaluatorAgreesWithDecideThroughSymlinks(t *testing.T) {
	b := Backend
	linkNames := []string{"x.env", "named.env", "secrets", "id_rsa", "k.key", "docs", "plain", "alias"}
	checked, refused := 0, 0
	for seed := uint64(1); seed <= 80; seed++ {
		r := rand.New(rand.NewPCG(seed, 23))
		top, _ := filepath.EvalSymlinks(t.TempDir())
		root := filepath.Join(top, "ws")
		outside := filepath.Join(top, "outside")
		os.MkdirAll(root, 0o755)
		os.MkdirAll(outside, 0o755)
		paths := randomTree(t, r, root)
		outs := randomTree(t, r, outside)
		var dirs []string
		for _, p := range paths {
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				dirs = append(dirs, p)
			}
		}
		var links []string
		for i, n := 0, 2+r.IntN(5); i < n; i++ {
			l := filepath.Join(dirs[r.IntN(len(dirs))], linkNames[r.IntN(len(linkNames))])
			if _, err := os.Lstat(l); err == nil {
				continue
			}
			target := paths[r.IntN(len(paths))]
			if r.IntN(2) == 0 {
				target = outs[r.IntN(len(outs))]
			}
			text := target
			if r.IntN(2) == 0 {
				text, _ = filepath.Rel(filepath.Dir(l), target)
			}
			if err := os.Symlink(text, l); err != nil {
				t.Fatal(err)
			}
			links = append(links, l)
		}
		pol := randomPolicy(r, root, paths)
		if r.IntN(2) == 0 {
			pol.Rules = append(pol.Rules, ir.Rule{Path: outside, Access: ir.Read})
		}
		if r.IntN(3) == 0 {
			pol.Globs = append(pol.Globs, ir.Glob{Pattern: outside + "/**/*.env", Base: outside})
		}
		pol.Sort()
		env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: root}, Platform: "linux"}
		out, diags := b.Lower(pol, backends.Options{})
		if diags.HasErrors() {
			t.Fatalf("seed %d: lower: %v", seed, diags)
		}
		ev, err := b.Evaluator(out.Payload, env, backends.Options{})
		var pe *diag.Diagnostic
		if errors.As(err, &pe) && pe.Code == diag.LinuxSymlinkMask {
			refused++ // a deny crossing a link in a writable mount: refused, fail closed
			continue
		} else if err != nil {
			t.Fatalf("seed %d: evaluator: %v", seed, err)
		}
		dec, err := ir.NewDecider(pol, env)
		if err != nil {
			t.Fatal(err)
		}
		probes := append([]string(nil), links...)
		for _, l := range links {
			if real, err := filepath.EvalSymlinks(l); err == nil {
				probes = append(probes, real)
				if fi, err := os.Stat(real); err == nil && fi.IsDir() {
					entries, _ := os.ReadDir(real)
					for _, e := range entries {
						probes = append(probes, filepath.Join(l, e.Name()))
					}
				}
			}
		}
		probes = append(probes, paths...)
		probes = append(probes, outs...)
		for _, p := range probes {
			for _, op := range []ir.Op{ir.OpRead, ir.OpWrite} {
				want := dec.Decide(p, op)
				got := ev.Decide(p, op)
				checked++
				if got.Allowed != want.AllowedWithinCap {
					t.Errorf("seed %d: %s %s: evaluator %v (%s), Decide %v (%s)\nlinks %v\nrules %+v\nglobs %+v",
						seed, op, strings.TrimPrefix(p, top), got.Allowed, got.Reason, want.AllowedWithinCap, want.Reason(), linkList(links, top), pol.Rules, pol.Globs)
				}
			}
		}
	}
	if refused > 40 {
		t.Fatalf("%d of 80 policies refused: the property is hardly checked", refused)
	}
	t.Logf("%d verdicts checked, %d policies refused", checked, refused)
}

func linkList(links []string, top string) []string {
	var out []string
	for _, l := range links {
		t, _ := os.Readlink(l)
		out = append(out, fmt.Sprintf("%s -> %s", strings.TrimPrefix(l, top), strings.TrimPrefix(t, top)))
	}
	return out
}

// A directory denied by an exact rule and outside every readable root is
// not shown by the tmpfs root; it is held as an empty unreadable directory
// (no mount, and not one of the inner stage's masks), so that a project
// link to it fails with EACCES instead of dangling (held-back case h16).
// A carve-out below keeps it traverse-only; nothing is made inside a
// closed mask.
func TestDeniedDirOutsideRootsHeldUnreadable(t *testing.T) {
	root := mkTree(t, "proj/a.txt", "vault/v.txt", "vault2/pub/p.txt", "vault3/inner/x", "file-denied")
	proj := filepath.Join(root, "proj")
	os.Symlink(filepath.Join(root, "vault"), filepath.Join(proj, "link-vault"))
	ws := ir.VarWorkspaceRoot
	p := seedPolicy()
	p.Rules = append(p.Rules,
		ir.Rule{Path: root + "/vault", Access: ir.Deny},
		ir.Rule{Path: root + "/vault2", Access: ir.Deny},
		ir.Rule{Path: root + "/vault2/pub", Access: ir.Read},
		ir.Rule{Path: root + "/vault3", Access: ir.Deny, Mandatory: true},
		ir.Rule{Path: root + "/vault3/inner", Access: ir.Deny},
		ir.Rule{Path: root + "/file-denied", Access: ir.Deny},
	)
	p.Sort()
	hp := plan(t, p, proj)
	for _, seq := range [][]string{
		{"--perms", "0000", "--dir", root + "/vault"},
		{"--perms", "0111", "--dir", root + "/vault2"},
		{"--ro-bind", root + "/vault2/pub", root + "/vault2/pub"},
		{"--perms", "0000", "--dir", root + "/vault3"},
	} {
		if argIndex(hp.Args, seq...) < 0 {
			t.Errorf("missing %v in %v", seq, hp.Args)
		}
	}
	if argIndex(hp.Args, "--perms", "0111", "--dir", root+"/vault2") > argIndex(hp.Args, "--ro-bind", root+"/vault2/pub", root+"/vault2/pub") {
		t.Error("the placeholder must come before the carve-out below it")
	}
	for _, a := range hp.Args {
		if a == root+"/vault3/inner" || a == root+"/file-denied" {
			t.Errorf("nothing to make for %s: %v", a, hp.Args)
		}
	}
	for _, m := range hp.Masks {
		if !ir.HasPathPrefix(m.Path, proj) {
			t.Errorf("placeholders are bwrap directories, not inner-stage masks: %+v", hp.Masks)
		}
	}
	// Every denied path keeps its verdict.
	art, _ := Lower(p, backends.Options{})
	env := ir.Env{Bindings: ir.Bindings{ws: proj}}
	ev, err := NewEvaluator(art, env)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := ir.NewDecider(p, env)
	for _, probe := range []string{"vault", "vault/v.txt", "proj/link-vault", "vault2", "vault2/pub/p.txt", "vault3/inner/x", "file-denied"} {
		full := filepath.Join(root, probe)
		if got, want := ev.Decide(full, ir.OpRead), dec.Decide(full, ir.OpRead); got.Allowed != want.Allowed {
			t.Errorf("read %s: evaluator %v (%s), Decide %v", probe, got.Allowed, got.Reason, want.Allowed)
		}
	}
}

// TestDeniedDirsArePresent: on random policies and trees, every existing
// directory named by an exact deny rule is there in the sandbox,
// unreadable (or unreachable behind a closed directory): a link to it
// never dangles. This reads the plan as a tree of directories: bwrap's
// entries, and the host's content under host mounts. (Directories no
// rule names are absent from a tmpfs root, as in the reference; so are
// the subdirectories of a denied directory that keeps carve-outs.)
func TestDeniedDirsArePresent(t *testing.T) {
	b := Backend
	held := 0
	for seed := uint64(1); seed <= 80; seed++ {
		r := rand.New(rand.NewPCG(seed, 31))
		root, _ := filepath.EvalSymlinks(t.TempDir())
		paths := randomTree(t, r, root)
		pol := randomPolicy(r, root, paths)
		pol.Globs = nil // glob matches are inner-stage masks over host content
		env := ir.Env{Bindings: ir.Bindings{ir.VarWorkspaceRoot: root}, Platform: "linux"}
		out, _ := b.Lower(pol, backends.Options{})
		ev, err := b.Evaluator(out.Payload, env, backends.Options{})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		hp := ev.(*Evaluator).Plan()
		dec, _ := ir.NewDecider(pol, env)
		for _, p := range paths {
			fi, err := os.Stat(p)
			if err != nil || !fi.IsDir() {
				continue
			}
			d := dec.Decide(p, ir.OpRead)
			if d.Allowed || d.Rule == nil || d.Rule.Access != ir.Deny || env.Bindings.Bind(d.Rule.Path) != p {
				continue // only the paths of exact deny rules (see the package doc)
			}
			if !present(hp, p) {
				t.Errorf("seed %d: denied directory %s is missing in the sandbox: a link to it would dangle\nrules %+v\nargs %v",
					seed, strings.TrimPrefix(p, root), pol.Rules, hp.Args)
			}
			if e, _ := hp.decide(p); e.Kind == KindPlaceholder {
				held++
			}
		}
	}
	if held == 0 {
		t.Fatal("no random policy needed a placeholder: the property is not exercised")
	}
}

// present reports whether a directory exists at p in the sandbox the
// plan builds, or p lies behind a directory the sandbox cannot traverse.
func present(hp *HostPlan, p string) bool {
	for cur := "/"; ; {
		e, masked := hp.decide(cur)
		if masked {
			return true // an inner-stage mask: exists, unreadable
		}
		switch e.Kind {
		case KindRootRO, KindRootRW, KindROBind, KindBind:
			// Host content from here on (deeper entries are found below).
		default:
			made := e.Path == cur
			for _, o := range hp.Entries {
				if ir.HasPathPrefix(o.Path, cur) && o.Kind != KindMaskFile && o.Kind != KindMaskGlob {
					made = true
				}
			}
			if !made {
				return false
			}
			if e.Path == cur && e.Perms&0o111 == 0 && cur != p {
				return true // closed: everything below fails with EACCES
			}
		}
		if cur == p {
			return true
		}
		rest := strings.TrimPrefix(strings.TrimPrefix(p, cur), "/")
		comp, _, _ := strings.Cut(rest, "/")
		cur = filepath.Join(cur, comp)
	}
}
