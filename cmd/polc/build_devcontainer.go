package main

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"

	"github.com/urfave/cli/v2"

	"polc/artifact"
	"polc/compiler"
	"polc/devcontainer"
	"polc/diag"
	"polc/firewall"
	"polc/ir"
)

// devcontainerTarget is the build target that writes .devcontainer/
// (not a platform: it is never in the default --target list).
const devcontainerTarget = "devcontainer"

// devcontainerDir is where the files go: .devcontainer under -C DIR, or
// under -o DIR when it is given.
func devcontainerDir(c *cli.Context) string {
	if o := c.String("o"); o != "" {
		return filepath.Join(o, devcontainer.Dir)
	}
	return filepath.Join(c.String("C"), devcontainer.Dir)
}

func devcontainerFiles(res *compiler.Result, key ed25519.PrivateKey) (map[string][]byte, error) {
	files, err := devcontainer.Files(res.Policy, version, key)
	if err != nil {
		return nil, failErr("build failed: devcontainer: %v; nothing written", err)
	}
	return files, nil
}

// sameFirewallUnsigned reports whether two firewall artifacts differ at
// most by their signature.
func sameFirewallUnsigned(committed, fresh []byte) (signed bool, same bool) {
	old, err1 := firewall.Decode(committed)
	nw, err2 := firewall.Decode(fresh)
	if err1 != nil || err2 != nil {
		return false, false
	}
	return old.Envelope.Signature != nil, old.Envelope.PayloadDigest == nw.Envelope.PayloadDigest && old.Envelope.Scope == nw.Envelope.Scope
}

// keepFirewallSignature mirrors keepSignatures for the firewall artifact:
// an unchanged, signed committed artifact is kept as it is; a changed one
// is refused without --unsigned.
func keepFirewallSignature(dir string, files map[string][]byte, unsigned bool) error {
	name := filepath.Join(dir, devcontainer.FirewallFile)
	committed, err := artifact.ReadCommitted(name)
	if err != nil {
		return nil
	}
	signed, same := sameFirewallUnsigned(committed, files[devcontainer.FirewallFile])
	switch {
	case !signed:
	case same:
		files[devcontainer.FirewallFile] = committed
	case unsigned:
		signatureDropped(name, "the signature is dropped")
	default:
		return failErr("%v", diag.Errorf(diag.SignatureDropped, "build would drop the signature of %s, which this build changes; nothing written", name).
			WithFix("pass --sign-key FILE, or --unsigned"))
	}
	return nil
}

func writeDevcontainer(dir string, files map[string][]byte) error {
	if err := writeFiles(dir, files); err != nil {
		return err
	}
	return placeBinary(dir)
}

// placeBinary copies the running polc into dir as devcontainer.Binary,
// for the Dockerfile's COPY: the image runs the same polc that wrote its
// firewall artifact. It is a local file (the generated .gitignore keeps
// it out of commits), so it is neither compared by --check nor part of
// the byte-identical output. A polc that is not a Linux build cannot be
// copied; the build then says what to put there.
func placeBinary(dir string) error {
	dst := filepath.Join(dir, devcontainer.Binary)
	if goruntime.GOOS != "linux" {
		fmt.Fprintf(os.Stderr, "note: %s: this polc is a %s build; put a Linux build of polc (GOOS=linux make build) there before building the image\n", dst, goruntime.GOOS)
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return failErr("build: cannot find this polc's binary to copy into %s: %v; fix: copy a Linux build of polc there", dir, err)
	}
	src, err := os.Open(self)
	if err != nil {
		return failErr("build: cannot read this polc's binary: %v; fix: copy a Linux build of polc to %s", err, dst)
	}
	defer src.Close()
	if same, _ := sameFile(src, dst); same {
		return nil
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return failErr("build: %v", err)
	}
	tmp, err := os.CreateTemp(dir, "."+devcontainer.Binary+".tmp-*")
	if err != nil {
		return failErr("build: cannot write %s: %v", dst, err)
	}
	_, err = io.Copy(tmp, src)
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return failErr("build: cannot write %s: %v", dst, err)
	}
	fmt.Fprintln(os.Stdout, "wrote", dst, "(this polc's binary, for the image; not committed)")
	return nil
}

// sameFile reports whether the file at path has exactly src's content.
func sameFile(src *os.File, path string) (bool, error) {
	st, err := src.Stat()
	if err != nil {
		return false, err
	}
	dt, err := os.Stat(path)
	if err != nil || dt.Size() != st.Size() {
		return false, err
	}
	a, err := io.ReadAll(src)
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(path)
	return err == nil && bytes.Equal(a, b), err
}

// checkDevcontainer compares the files with those in dir; a signed
// committed firewall artifact that differs only by its signature is up
// to date when the build is unsigned.
func checkDevcontainer(w io.Writer, dir string, files map[string][]byte, ignoreSignature, textDiff bool) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	stale := 0
	for _, n := range names {
		path := filepath.Join(dir, n)
		got, err := artifact.ReadCommitted(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(w, "stale: %s (missing)\n", path)
			stale++
		case err != nil:
			fmt.Fprintf(w, "stale: %s (unreadable: %v)\n", path, err)
			stale++
		case bytes.Equal(got, files[n]):
		default:
			if n == devcontainer.FirewallFile && ignoreSignature {
				if _, same := sameFirewallUnsigned(got, files[n]); same {
					continue
				}
			}
			fmt.Fprintf(w, "stale: %s (differs)\n", path)
			if textDiff || n != devcontainer.FirewallFile {
				indent(w, artifact.LineDiff(path+" (committed)", path+" (fresh build)", got, files[n], 80))
			}
			stale++
		}
	}
	if stale > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d file(s) in %s are stale; run polc build --target devcontainer and commit the result", stale, dir)}
	}
	fmt.Fprintf(w, "ok: %d devcontainer files in %s are up to date\n", len(files), dir)
	return nil
}

// firewallDiffSide reads a firewall artifact for polc diff, or returns
// nil when file is not one. Its policy is compared as a Linux policy:
// the container runs Linux.
func firewallDiffSide(file string) *diffSide {
	b, err := artifact.ReadCommitted(file)
	if err != nil {
		return nil
	}
	a, err := firewall.Decode(b)
	if err != nil {
		return nil
	}
	return &diffSide{name: file, policy: a.Envelope.Payload.Policy, platform: ir.Linux, art: &artifact.Artifact{Envelope: *a.Envelope}}
}
