package artifact

import (
	"os"
	"path/filepath"
	"testing"

	"polc/diag"
	"polc/ir"
)

func TestBindRefusesUnboundRestrictiveVariable(t *testing.T) {
	a := mustBuild(t, testPolicy(), "linux")[0]
	// $TMPDIR unset: only a write grant uses it, so it is left unbound.
	env, err := a.Bind(map[string]string{ir.VarWorkspaceRoot: "/w", ir.VarHome: "/h"})
	if err != nil {
		t.Fatalf("unset TMPDIR must be allowed: %v", err)
	}
	if _, ok := env.Bindings[ir.VarTmpdir]; ok || env.Bindings[ir.VarHome] != "/h" || env.Platform != "linux" {
		t.Errorf("bindings = %v", env.Bindings)
	}
	// $HOME unset: the ~/.ssh deny rule would vanish.
	_, err = a.Bind(map[string]string{ir.VarWorkspaceRoot: "/w", ir.VarTmpdir: "/t"})
	wantCode(t, err, diag.ArtifactUnbound)
	// The workspace root is never optional.
	_, err = a.Bind(map[string]string{ir.VarHome: "/h"})
	wantCode(t, err, diag.ArtifactUnbound)
	_, err = a.Bind(map[string]string{ir.VarWorkspaceRoot: "rel", ir.VarHome: "/h"})
	wantCode(t, err, diag.ArtifactUnbound)

	// A read rule standing alone under an unbound variable narrows a
	// broader grant and must not be dropped.
	p := testPolicy()
	p.Rules = append(p.Rules, ir.Rule{Path: ir.VarCodexHome + "/config.toml", Access: ir.Read, Origin: ir.Origin{Kind: ir.OriginConfig}})
	b := mustBuild(t, p, "linux")[0]
	_, err = b.Bind(map[string]string{ir.VarWorkspaceRoot: "/w", ir.VarHome: "/h"})
	wantCode(t, err, diag.ArtifactUnbound)
}

func TestCheckStorage(t *testing.T) {
	root := t.TempDir()
	proj := filepath.Join(root, "proj")
	outside := filepath.Join(root, "keep")
	tmp := filepath.Join(root, "tmp")
	for _, d := range []string{filepath.Join(proj, ".polc"), outside, tmp} {
		os.MkdirAll(d, 0o755)
	}
	a := mustBuild(t, testPolicy(), "linux")[0]
	files, _ := a.Render()
	env, err := a.Bind(map[string]string{ir.VarWorkspaceRoot: proj, ir.VarHome: filepath.Join(root, "home"), ir.VarTmpdir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	place := func(dir string) string {
		if _, err := WriteFiles(dir, files); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, "dev.linux.json")
	}
	for _, ok := range []string{filepath.Join(proj, ".polc"), outside} {
		if err := CheckStorage(a, place(ok), env); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{proj, filepath.Join(proj, "sub"), tmp} {
		err := CheckStorage(a, place(bad), env)
		wantCode(t, err, diag.ArtifactWritable)
	}
	// A symlink in the writable project pointing at a safe copy: the
	// sandbox could re-point the link, so it is refused.
	link := filepath.Join(proj, "policy.json")
	os.Symlink(filepath.Join(outside, "dev.linux.json"), link)
	wantCode(t, CheckStorage(a, link, env), diag.ArtifactWritable)

	// .polc itself a symlink, to a directory in the project or outside
	// every writable root: the protected .polc rule names the link, which
	// no sandbox can mount over, so the sandbox could replace it.
	os.RemoveAll(filepath.Join(proj, ".polc"))
	for _, target := range []string{filepath.Join(proj, "pol"), outside} {
		os.MkdirAll(target, 0o755)
		os.Remove(filepath.Join(proj, ".polc"))
		if err := os.Symlink(target, filepath.Join(proj, ".polc")); err != nil {
			t.Fatal(err)
		}
		place(target)
		wantCode(t, CheckStorage(a, filepath.Join(proj, ".polc", "dev.linux.json"), env), diag.ArtifactWritable)
	}

	// Under :danger-full-access everything is writable.
	p := testPolicy()
	p.Unrestricted = true
	u := mustBuild(t, p, "linux")[0]
	wantCode(t, CheckStorage(u, filepath.Join(outside, "dev.linux.json"), env), diag.ArtifactWritable)
}
