package devcontainer_test

import (
	"bytes"
	"crypto/ed25519"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"polc/compiler"
	"polc/devcontainer"
	"polc/firewall"
	"polc/internal/conformance"
)

var update = flag.Bool("update", false, "rewrite testdata/seed.txtar")

// compileSeed compiles examples/seed (with extra config appended to its
// config.toml) in a world of its own, as the demo does.
func compileSeed(t *testing.T, extra string) *compiler.Result {
	t.Helper()
	root := conformance.TempRoot(t)
	if err := os.CopyFS(root, os.DirFS("../examples/seed")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"proj/.git", "home", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if extra != "" {
		f, err := os.OpenFile(filepath.Join(root, "codexhome", "config.toml"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(extra)
		f.Close()
	}
	res := compiler.Compile(compiler.Options{Dir: filepath.Join(root, "proj"), CodexHome: filepath.Join(root, "codexhome"),
		Home: filepath.Join(root, "home"), Tmpdir: filepath.Join(root, "tmp"), SystemDir: filepath.Join(root, "etc")})
	if res.Policy == nil || res.Diags.HasErrors() {
		t.Fatalf("seed does not compile: %v", res.Diags.Err())
	}
	return res
}

// TestSeedGolden: the .devcontainer/ files for the seed profile, byte for
// byte (go test ./devcontainer -update rewrites them).
func TestSeedGolden(t *testing.T) {
	res := compileSeed(t, "")
	files, err := devcontainer.Files(res.Policy, "golden", nil)
	if err != nil {
		t.Fatal(err)
	}
	res2 := compileSeed(t, "")
	again, err := devcontainer.Files(res2.Policy, "golden", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ar txtar.Archive
	ar.Comment = []byte("The .devcontainer/ files polc build --target devcontainer writes for the seed profile.\n")
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !bytes.Equal(files[n], again[n]) {
			t.Errorf("%s differs between two builds in two worlds", n)
		}
		ar.Files = append(ar.Files, txtar.File{Name: n, Data: files[n]})
	}
	got := txtar.Format(&ar)
	golden := filepath.Join("testdata", "seed.txtar")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./devcontainer -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the seed's .devcontainer files changed (run go test ./devcontainer -update and review):\n%s", got)
	}
	if _, ok := files[devcontainer.SeccompFile]; !ok {
		t.Error("the seed keeps polc's inner sandbox but no seccomp profile was written")
	}
	a, err := firewall.Decode(files[devcontainer.FirewallFile])
	if err != nil {
		t.Fatal(err)
	}
	if a.Spec.Network.Mode != "none" {
		t.Errorf("the seed has no network, the firewall says %s", a.Spec.Network.Mode)
	}
}

func TestNetworkAndUnrestricted(t *testing.T) {
	res := compileSeed(t, `
[permissions.workspace.network]
enabled = true
mode = "limited"

[permissions.workspace.network.domains]
"api.example.com" = "allow"
`)
	_, key, _ := ed25519.GenerateKey(nil)
	files, err := devcontainer.Files(res.Policy, "test", key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := firewall.Decode(files[devcontainer.FirewallFile])
	if err != nil {
		t.Fatal(err)
	}
	if a.Envelope.Signature == nil || a.Spec.Network.Mode != "proxy" || !a.Spec.Limited() {
		t.Fatalf("firewall artifact: signed %v, spec %+v", a.Envelope.Signature != nil, a.Spec)
	}
	if !strings.Contains(string(files[devcontainer.ConfigFile]), "--with-exec-proxy") {
		t.Error("limited mode: the post-start command does not say the exec proxy is in use")
	}
}
