package artifact

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"polc/diag"
)

// FileName is the artifact's file name for a profile and platform:
// <profile>.<platform>.json. Built-in profile names lose their leading
// colon (":workspace" → "_workspace") and any character that is not
// portable in a file name becomes "_".
func FileName(profile, platform string) string {
	return Stem(profile, platform) + ".json"
}

// Stem is FileName without ".json"; side files are Stem + "." + suffix.
func Stem(profile, platform string) string {
	var b strings.Builder
	for _, r := range profile {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		b.WriteByte('_')
	}
	return b.String() + "." + platform
}

// sideName is the file name of a side file beside artifact file name.
func sideName(artifactName, suffix string) string {
	return strings.TrimSuffix(artifactName, ".json") + "." + suffix
}

// Render returns the files of the artifact by name (the envelope and its
// side files), as they are written to disk.
func (a *Artifact) Render() (map[string][]byte, error) {
	body, err := a.Encode()
	if err != nil {
		return nil, errf(diag.ArtifactMalformed, "", "encoding artifact: %v", err)
	}
	name := FileName(a.Scope.Profile, a.Scope.Platform)
	out := map[string][]byte{name: body}
	for suffix, data := range a.Files {
		out[sideName(name, suffix)] = data
	}
	return out, nil
}

// Load reads, decodes and integrity-checks an artifact file and its side
// files (found beside it). It does not check the signature.
func Load(file string) (*Artifact, error) {
	data, err := readLimited(file, MaxSize)
	if err != nil {
		code := diag.ArtifactMalformed
		if strings.Contains(err.Error(), "larger than") {
			code = diag.ArtifactTooLarge
		}
		return nil, errf(code, file, "cannot read artifact: %v", unwrapPath(err))
	}
	e, err := Decode(data)
	if err != nil {
		return nil, diag.InFile(err, file)
	}
	a := &Artifact{Envelope: *e}
	if len(e.Payload.Files) > 0 {
		a.Files = map[string][]byte{}
	}
	for _, suffix := range sortedKeys(e.Payload.Files) {
		ref := e.Payload.Files[suffix]
		side := sideName(file, suffix)
		body, err := readLimited(side, MaxSize)
		if err != nil {
			return nil, errf(diag.ArtifactSideFile, file, "side file %s: %v", filepath.Base(side), unwrapPath(err))
		}
		if int64(len(body)) != ref.Size || Digest(body) != ref.Digest {
			return nil, errf(diag.ArtifactSideFile, file, "side file %s was modified after the artifact was built (digest %s, want %s)", filepath.Base(side), short(Digest(body)), short(ref.Digest))
		}
		a.Files[suffix] = body
	}
	return a, nil
}

// SideFiles lists the paths of the artifact's side files beside file.
func (e *Envelope) SideFiles(file string) []string {
	var out []string
	for _, suffix := range sortedKeys(e.Payload.Files) {
		out = append(out, sideName(file, suffix))
	}
	return out
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WriteFiles writes named files into dir atomically: every file goes to a
// temporary file in dir first, and only when all are written and synced
// are they renamed into place. A failure leaves no partial file behind.
// Files whose content on disk is already identical are left alone (no
// write, no fsync, mtime kept), so a rebuild of an unchanged profile is
// cheap. It returns the paths written, sorted.
func WriteFiles(dir string, files map[string][]byte) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, errf(diag.ArtifactWriteFailed, dir, "cannot create the output directory: %v", unwrapPath(err))
	}
	var names []string
	for _, name := range sortedKeys(files) {
		if old, err := readLimited(filepath.Join(dir, name), MaxSize); err == nil && bytes.Equal(old, files[name]) {
			continue
		}
		names = append(names, name)
	}
	temps := map[string]string{}
	cleanup := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	for _, name := range names {
		if name != filepath.Base(name) || name == "." || name == ".." {
			cleanup()
			return nil, errf(diag.ArtifactWriteFailed, dir, "refusing to write %q outside the output directory", name)
		}
		tmp, err := writeTemp(dir, name, files[name])
		if err != nil {
			cleanup()
			return nil, errf(diag.ArtifactWriteFailed, filepath.Join(dir, name), "%v", err)
		}
		temps[name] = tmp
	}
	var written []string
	for _, name := range names {
		dst := filepath.Join(dir, name)
		if err := os.Rename(temps[name], dst); err != nil {
			cleanup()
			return written, errf(diag.ArtifactWriteFailed, dst, "%v", unwrapPath(err))
		}
		delete(temps, name)
		written = append(written, dst)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the renames durable; best effort on filesystems without dir fsync
		d.Close()
	}
	return written, nil
}

func writeTemp(dir, name string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return "", unwrapPath(err)
	}
	tmp := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(tmp)
		return "", unwrapPath(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", unwrapPath(err)
	}
	return tmp, nil
}

// Stale is one committed file that differs from a fresh build.
type Stale struct {
	// Name is the file name in the output directory.
	Name string
	// Reason is a short phrase: "missing", "differs", "not canonical", ...
	Reason string
	// Old is the committed content (nil when missing); New the fresh one.
	Old, New []byte
}

// Check compares the fresh artifacts with the files committed in dir and
// returns the stale ones, sorted by name. When ignoreSignature is set
// (no signing key at hand, as in CI), committed signatures are not
// compared: the committed envelope is compared with its signature
// removed, and must otherwise be byte-identical to a fresh build.
func Check(dir string, arts []*Artifact, ignoreSignature bool) ([]Stale, error) {
	var stale []Stale
	for _, a := range arts {
		files, err := a.Render()
		if err != nil {
			return nil, err
		}
		name := FileName(a.Scope.Profile, a.Scope.Platform)
		for _, fname := range sortedKeys(files) {
			want := files[fname]
			got, err := readLimited(filepath.Join(dir, fname), MaxSize)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					stale = append(stale, Stale{Name: fname, Reason: "missing", New: want})
					continue
				}
				return nil, errf(diag.ArtifactMalformed, filepath.Join(dir, fname), "%v", unwrapPath(err))
			}
			if bytes.Equal(got, want) {
				continue
			}
			if fname == name && ignoreSignature {
				if same, reason := sameUnsigned(got, want); same {
					continue
				} else if reason != "" {
					stale = append(stale, Stale{Name: fname, Reason: reason, Old: got, New: want})
					continue
				}
			}
			stale = append(stale, Stale{Name: fname, Reason: "differs", Old: got, New: want})
		}
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i].Name < stale[j].Name })
	return stale, nil
}

// SameUnsigned reports whether the committed artifact file equals the
// fresh one once signatures are set aside (and is in canonical form).
func SameUnsigned(committed, fresh []byte) bool {
	same, _ := sameUnsigned(committed, fresh)
	return same
}

// sameUnsigned reports whether the committed envelope equals the fresh
// one once signatures are set aside. A committed file that does not decode
// or is not in canonical form is stale with that reason.
func sameUnsigned(committed, fresh []byte) (bool, string) {
	old, err := Decode(committed)
	if err != nil {
		return false, fmt.Sprintf("does not decode (%v)", err)
	}
	if canon, err := old.Encode(); err != nil || !bytes.Equal(canon, committed) {
		return false, "not in canonical form (edited by hand?)"
	}
	nw, err := Decode(fresh)
	if err != nil {
		return false, ""
	}
	old.Signature, nw.Signature = nil, nil
	a, err1 := old.Encode()
	b, err2 := nw.Encode()
	return err1 == nil && err2 == nil && bytes.Equal(a, b), ""
}
