package main

import (
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

const firewallConfig = `default_permissions = "dev"

[permissions.dev.filesystem]
":minimal" = "read"
":workspace_roots" = { "." = "write" }

[permissions.dev.network]
enabled = true

[permissions.dev.network.domains]
"api.example.com" = "allow"
"*.corp.example.net" = "allow"
"secret.corp.example.net" = "deny"
`

func TestBuildDevcontainer(t *testing.T) {
	w := newArtWorld(t, firewallConfig)
	out, errs, code := w.polc("proj", "build", "--target", "devcontainer")
	if code != 0 {
		t.Fatalf("build: %d\n%s%s", code, out, errs)
	}
	for _, f := range []string{"devcontainer.json", "Dockerfile", "seccomp.json", "polc-firewall.json", ".gitignore"} {
		if !strings.Contains(out, filepath.Join(".devcontainer", f)) {
			t.Errorf("%s not written:\n%s", f, out)
		}
	}
	if _, err := os.Stat(w.path("proj/.polc")); err == nil {
		t.Error("--target devcontainer alone also wrote .polc/")
	}
	// On Linux the image's polc is this polc, copied beside the files,
	// executable, and kept out of commits.
	if goruntime.GOOS == "linux" {
		bin, err := os.Stat(w.path("proj/.devcontainer/polc"))
		if err != nil || bin.Mode().Perm()&0o111 == 0 || bin.Size() < 1<<20 {
			t.Errorf(".devcontainer/polc: %v %v", bin, err)
		}
		if gi, _ := os.ReadFile(w.path("proj/.devcontainer/.gitignore")); !strings.Contains(string(gi), "\n/polc\n") {
			t.Errorf(".gitignore does not keep the binary out: %q", gi)
		}
	}
	out, _, code = w.polc("proj", "build", "--target", "devcontainer")
	if code != 0 || !strings.Contains(out, "is up to date (5 files)") || strings.Contains(out, "wrote") {
		t.Fatalf("second build is not byte-identical: %d\n%s", code, out)
	}
	if out, _, code = w.polc("proj", "build", "--target", "devcontainer", "--check"); code != 0 || !strings.Contains(out, "ok: 5 devcontainer files") {
		t.Fatalf("check of a fresh build: %d\n%s", code, out)
	}
	// A hand edit is stale, and says where.
	cfg := w.path("proj/.devcontainer/devcontainer.json")
	b, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(b), "NET_RAW", "SYS_ADMIN", 1)), 0o644)
	out, _, code = w.polc("proj", "build", "--target", "devcontainer", "--check")
	if code != 1 || !strings.Contains(out, "stale: .devcontainer/devcontainer.json (differs)") || !strings.Contains(out, "SYS_ADMIN") {
		t.Fatalf("check after a hand edit: %d\n%s", code, out)
	}
	// Together with a platform target, both are built and checked.
	out, errs, code = w.polc("proj", "build", "--target", "linux,devcontainer")
	if code != 0 || !strings.Contains(out, "devcontainer.json") || !strings.Contains(out, "dev.linux.json") {
		t.Fatalf("build linux,devcontainer: %d\n%s%s", code, out, errs)
	}
	if out, _, code = w.polc("proj", "build", "--target", "linux,devcontainer", "--check"); code != 0 {
		t.Fatalf("check linux,devcontainer: %d\n%s", code, out)
	}
}

func TestFirewallExplain(t *testing.T) {
	w := newArtWorld(t, firewallConfig)
	if out, errs, code := w.polc("proj", "build", "--target", "devcontainer"); code != 0 {
		t.Fatalf("build: %s%s", out, errs)
	}
	art := w.path("proj/.devcontainer/polc-firewall.json")
	for host, want := range map[string]string{
		"api.example.com":         "api.example.com: allowed: the forwarder asks the upstream",
		"build.corp.example.net":  "build.corp.example.net: allowed",
		"secret.corp.example.net": "secret.corp.example.net: refused: the forwarder answers REFUSED and opens no address (denied",
		"other.example.org":       "other.example.org: refused: the forwarder answers REFUSED and opens no address (not_allowed",
		"192.0.2.10":              "192.0.2.10: an address: connections to it are allowed only while a DNS answer for an allowed name has given it",
	} {
		out, errs, code := w.polc("proj", "firewall", "explain", "--artifact", art, host)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("explain %s: %d\n%s%s\nwant %q", host, code, out, errs, want)
		}
	}
	// A tampered artifact is refused with its code.
	b, _ := os.ReadFile(art)
	os.WriteFile(art, []byte(strings.Replace(string(b), `"api.example.com"`, `"evil.example.com"`, 1)), 0o644)
	_, errs, code := w.polc("proj", "firewall", "explain", "--artifact", art, "evil.example.com")
	if code == 0 || !strings.Contains(errs, "POL245") || !strings.Contains(errs, "digest mismatch") {
		t.Fatalf("tampered artifact: %d %s", code, errs)
	}
}

// TestFirewallApplyInNetns runs polc firewall apply and status in a
// network namespace of their own (root only): a good artifact installs
// the ruleset; a tampered one, or limited mode without the exec proxy,
// exits non-zero and leaves egress denied.
func TestFirewallApplyInNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	if err := exec.Command("unshare", "-n", "true").Run(); err != nil {
		t.Skipf("no network namespace: %v", err)
	}
	w := newArtWorld(t, firewallConfig)
	if out, errs, code := w.polc("proj", "build", "--target", "devcontainer"); code != 0 {
		t.Fatalf("build: %s%s", out, errs)
	}
	art := w.path("proj/.devcontainer/polc-firewall.json")
	sh := func(script string) string {
		cmd := exec.Command("unshare", "-n", "sh", "-c", script, "polc", os.Args[0])
		cmd.Env = append(os.Environ(), artMainEnv+"=1", "POLC_ARTTEST_TRUST_DIR="+w.trustDir, "ART="+art)
		b, _ := cmd.CombinedOutput()
		return string(b)
	}
	out := sh(`"$1" firewall apply --artifact "$ART" --upstream 192.0.2.53 --no-dns; echo "rc=$?"; "$1" firewall status`)
	for _, want := range []string{"rc=0", "output policy drop", "dns: DNS from polc's forwarder (mark 0x706f6c63) to 192.0.2.53:53/udp", "output: everything else rejected", "no address is open"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply: missing %q in\n%s", want, out)
		}
	}
	b, _ := os.ReadFile(art)
	bad := w.path("bad.json")
	os.WriteFile(bad, []byte(strings.Replace(string(b), `"api.example.com"`, `"evil.example.com"`, 1)), 0o644)
	out = sh(`"$1" firewall apply --artifact "` + bad + `" --upstream 192.0.2.53; echo "rc=$?"; "$1" firewall status`)
	for _, want := range []string{"rc=1", "POL245", "egress is denied", "output policy drop", "dns: DNS (port 53/udp) dropped"} {
		if !strings.Contains(out, want) {
			t.Errorf("tampered apply: missing %q in\n%s", want, out)
		}
	}
	// Limited mode: methods are invisible to the firewall.
	w.write("proj/.codex/config.toml", strings.Replace(firewallConfig, "enabled = true\n", "enabled = true\nmode = \"limited\"\n", 1))
	if out, errs, code := w.polc("proj", "build", "--target", "devcontainer"); code != 0 {
		t.Fatalf("build limited: %s%s", out, errs)
	}
	out = sh(`"$1" firewall apply --artifact "$ART" --upstream 192.0.2.53 --no-dns; echo "rc=$?"; "$1" firewall status`)
	for _, want := range []string{"rc=1", "POL246", "methods cannot be enforced by a firewall", "egress is denied", "output policy drop"} {
		if !strings.Contains(out, want) {
			t.Errorf("limited apply: missing %q in\n%s", want, out)
		}
	}
	out = sh(`"$1" firewall apply --artifact "$ART" --upstream 192.0.2.53 --no-dns --with-exec-proxy; echo "rc=$?"`)
	if !strings.Contains(out, "rc=0") {
		t.Errorf("limited apply with the exec proxy:\n%s", out)
	}
}

func TestDiffFirewallArtifacts(t *testing.T) {
	w := newArtWorld(t, firewallConfig)
	if out, errs, code := w.polc("proj", "build", "--target", "devcontainer"); code != 0 {
		t.Fatalf("build: %s%s", out, errs)
	}
	old := w.path("old.json")
	b, _ := os.ReadFile(w.path("proj/.devcontainer/polc-firewall.json"))
	os.WriteFile(old, b, 0o644)
	w.write("proj/.codex/config.toml", strings.Replace(firewallConfig, `"api.example.com" = "allow"`, `"api.example.com" = "allow"`+"\n"+`"upload.example.com" = "allow"`, 1))
	if out, errs, code := w.polc("proj", "build", "--target", "devcontainer"); code != 0 {
		t.Fatalf("build: %s%s", out, errs)
	}
	out, errs, code := w.polc("proj", "diff", old, w.path("proj/.devcontainer/polc-firewall.json"))
	if code != 1 || !strings.Contains(out, "upload.example.com") {
		t.Fatalf("diff of two firewall artifacts: %d\n%s%s", code, out, errs)
	}
}

func TestUpstreamsKeptByResolver(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "resolv.conf")
	os.WriteFile(rc, []byte("search example.com\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nnameserver 127.0.0.1\n"), 0o644)
	ups, err := upstreams(nil, rc, "127.0.0.1:53")
	if err != nil || len(ups) != 2 || ups[0].String() != "192.0.2.53:53" || ups[1].String() != "[2001:db8::53]:53" {
		t.Fatalf("upstreams = %v, %v", ups, err)
	}
	if err := setResolver(rc, "127.0.0.1:53", ups); err != nil {
		t.Fatal(err)
	}
	again, err := upstreams(nil, rc, "127.0.0.1:53")
	if err != nil || len(again) != 2 || again[0] != ups[0] || again[1] != ups[1] {
		t.Fatalf("after setResolver: %v, %v", again, err)
	}
	b, _ := os.ReadFile(rc)
	if !strings.HasSuffix(string(b), "\nnameserver 127.0.0.1\n") {
		t.Fatalf("resolv.conf:\n%s", b)
	}
	os.WriteFile(rc, []byte("nameserver 127.0.0.1\n"), 0o644)
	if _, err := upstreams(nil, rc, "127.0.0.1:53"); err == nil || !strings.Contains(err.Error(), "POL249") {
		t.Fatalf("only the forwarder itself: %v", err)
	}
	if _, err := upstreams([]string{"not-an-ip"}, rc, "127.0.0.1:53"); err == nil || !strings.Contains(err.Error(), "--upstream") {
		t.Fatalf("bad --upstream: %v", err)
	}
}

// TestDevcontainerSignature: a signed firewall artifact verifies with the
// key, is kept by an unsigned rebuild that changes nothing, and is not
// silently unsigned by one that changes it; a wrong key is refused.
func TestDevcontainerSignature(t *testing.T) {
	w := newArtWorld(t, firewallConfig)
	if out, errs, code := w.polc("", "keygen", "-o", "k"); code != 0 {
		t.Fatalf("keygen: %s%s", out, errs)
	}
	if out, errs, code := w.polc("", "keygen", "-o", "other"); code != 0 {
		t.Fatalf("keygen: %s%s", out, errs)
	}
	if out, errs, code := w.polc("proj", "build", "--target", "devcontainer", "--sign-key", w.path("k")); code != 0 {
		t.Fatalf("signed build: %s%s", out, errs)
	}
	art := w.path("proj/.devcontainer/polc-firewall.json")
	signed, _ := os.ReadFile(art)
	if !strings.Contains(string(signed), `"signature"`) {
		t.Fatal("no signature")
	}
	if out, errs, code := w.polc("proj", "build", "--target", "devcontainer"); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("unsigned rebuild of an unchanged profile: %d %s%s", code, out, errs)
	}
	if b, _ := os.ReadFile(art); string(b) != string(signed) {
		t.Fatal("the unsigned rebuild dropped the signature")
	}
	if out, _, code := w.polc("proj", "build", "--target", "devcontainer", "--check"); code != 0 {
		t.Fatalf("check of a signed artifact without the key: %d %s", code, out)
	}
	w.write("proj/.codex/config.toml", strings.Replace(firewallConfig, `"api.example.com" = "allow"`, `"api.example.com" = "deny"`, 1))
	if _, errs, code := w.polc("proj", "build", "--target", "devcontainer"); code != 1 || !strings.Contains(errs, "POL145") {
		t.Fatalf("unsigned rebuild of a changed profile: %d %s", code, errs)
	}
	if b, _ := os.ReadFile(art); string(b) != string(signed) {
		t.Fatal("a refused build wrote the artifact")
	}
	if !isRoot() {
		return
	}
	// Apply with the wrong key: refused, egress denied (in a namespace).
	cmd := exec.Command("unshare", "-n", os.Args[0], "firewall", "apply", "--artifact", art, "--trust", w.path("other.pub"), "--no-dns", "--upstream", "192.0.2.53")
	cmd.Env = append(os.Environ(), artMainEnv+"=1", "POLC_ARTTEST_TRUST_DIR="+w.trustDir)
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "POL252") || !strings.Contains(string(b), "egress is denied") {
		t.Fatalf("apply with another key: %v\n%s", err, b)
	}
	cmd = exec.Command("unshare", "-n", os.Args[0], "firewall", "apply", "--artifact", art, "--trust", w.path("k.pub"), "--no-dns", "--upstream", "192.0.2.53")
	cmd.Env = append(os.Environ(), artMainEnv+"=1", "POLC_ARTTEST_TRUST_DIR="+w.trustDir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apply with the signing key: %v\n%s", err, b)
	}
}

func isRoot() bool {
	if os.Geteuid() != 0 {
		return false
	}
	return exec.Command("unshare", "-n", "true").Run() == nil
}
