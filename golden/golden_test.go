package golden_test

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"golang.org/x/tools/txtar"

	"polc/backends"
	"polc/compiler"
	"polc/internal/canonjson"
	"polc/internal/conformance"
	"polc/ir"
	"polc/lowering"
)

var update = flag.Bool("update", false, "rewrite the output sections of the golden cases")

// inputSections are written by hand; every other section is output.
var inputSections = map[string]bool{
	"config.toml": true, "requirements.toml": true, "tree": true, "args": true, "explain": true,
	"full": true, "explain-net": true,
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden cases in testdata/")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) { runCase(t, file) })
	}
}

func runCase(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]string{}
	var inputs []txtar.File
	for _, f := range ar.Files {
		if inputSections[f.Name] {
			in[f.Name] = string(f.Data)
			inputs = append(inputs, f)
		}
	}
	got := produce(t, in)

	if *update {
		out := &txtar.Archive{Comment: ar.Comment, Files: append(inputs, got...)}
		if err := os.WriteFile(file, txtar.Format(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := map[string]string{}
	for _, f := range ar.Files {
		if !inputSections[f.Name] {
			want[f.Name] = string(f.Data)
		}
	}
	for _, f := range got {
		w, ok := want[f.Name]
		if !ok {
			t.Errorf("section %s is missing from the golden file (run go test ./golden -update):\n%s", f.Name, f.Data)
			continue
		}
		if w != string(f.Data) {
			t.Errorf("section %s differs (-want +got; run go test ./golden -update and review the diff):\n%s",
				f.Name, cmp.Diff(strings.Split(w, "\n"), strings.Split(string(f.Data), "\n")))
		}
		delete(want, f.Name)
	}
	for name := range want {
		t.Errorf("golden section %s is no longer produced (run go test ./golden -update)", name)
	}
}

// produce builds the case's world, compiles it, and renders every output
// section in a fixed order.
func produce(t *testing.T, in map[string]string) []txtar.File {
	root, w, opts := conformance.GoldenWorld(t, in)
	res := compiler.Compile(opts)

	clean := func(s string) string {
		if d := res.Policy; d != nil && d.RequirementsDigest != "" && strings.Contains(in["requirements.toml"], "$ROOT") {
			// The digest covers the file as written, with this run's root in it.
			s = strings.ReplaceAll(s, d.RequirementsDigest, "$REQUIREMENTS_DIGEST")
		}
		return strings.ReplaceAll(s, root, "$ROOT")
	}
	var out []txtar.File
	add := func(name, data string) {
		if data != "" && !strings.HasSuffix(data, "\n") {
			data += "\n"
		}
		out = append(out, txtar.File{Name: name, Data: []byte(clean(data))})
	}

	var diags strings.Builder
	for _, d := range res.Diags {
		diags.WriteString(d.String())
		diags.WriteString("\n")
	}
	if diags.Len() == 0 {
		diags.WriteString("(none)\n")
	}
	add("diagnostics", diags.String())
	if res.Policy == nil {
		return out
	}
	add("policy", compactOf(t, res.Policy))

	if res.Expansion != nil && (len(res.Expansion.Matches) > 0 || len(res.Expansion.BeyondCap) > 0) {
		var b strings.Builder
		for _, m := range res.Expansion.Matches {
			fmt.Fprintf(&b, "match %s depth %d (%s)\n", m.Path, m.Depth, m.Pattern)
		}
		for _, m := range res.Expansion.BeyondCap {
			fmt.Fprintf(&b, "beyond-cap %s depth %d (%s)\n", m.Path, m.Depth, m.Pattern)
		}
		add("expansion", b.String())
	}

	if probes := strings.TrimSpace(in["explain"]); probes != "" {
		dec, err := ir.NewDecider(res.Policy, res.Env)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, l := range strings.Split(probes, "\n") {
			opWord, p, _ := strings.Cut(strings.TrimSpace(l), " ")
			op, ok := ir.ParseOp(opWord)
			if !ok {
				t.Fatalf("explain line %q: unknown op", l)
			}
			d := dec.Decide(w.HostPath(strings.TrimSpace(p)), op)
			verdict := "deny"
			if d.Allowed {
				verdict = "allow"
			}
			fmt.Fprintf(&b, "%s %s %s: %s\n", opWord, strings.TrimSpace(p), verdict, d.Reason())
		}
		add("explain.out", b.String())
	}

	if probes := strings.TrimSpace(in["explain-net"]); probes != "" {
		add("explain-net.out", explainNet(t, res.Policy, probes))
	}

	full := map[string]bool{}
	for _, p := range strings.Fields(in["full"]) {
		full[p] = true
	}
	for _, r := range lowerAll(t, res.Policy) {
		platform, o := string(r.Platform), r.Output
		var lb strings.Builder
		// Diagnostics name their files on the host, as polc check shows them.
		for _, d := range res.Env.HostDiags(r.Diags) {
			lb.WriteString(d.String())
			lb.WriteString("\n")
		}
		if lb.Len() > 0 {
			add(platform+".diagnostics", lb.String())
		}
		if o == nil {
			continue
		}
		if !full[platform] {
			// The artifact's translation is checked against ir.Decide on
			// every golden world by each backend's own tests; here a
			// digest says whether it changed, and the cases that list the
			// platform in their "full" section show it whole.
			// Hashed as rendered, with this run's root taken out.
			h := sha256.New()
			h.Write([]byte(clean(compactJSON(o.Payload))))
			for _, k := range sortedKeys(o.Files) {
				h.Write([]byte(k))
				h.Write([]byte(clean(string(o.Files[k]))))
			}
			add(platform, fmt.Sprintf("%d bytes, sha256:%x (the full artifact: list %s in the case's full section)", len(o.Payload), h.Sum(nil)[:8], platform))
			continue
		}
		payload := o.Payload
		if _, ok := o.Files["sb"]; ok {
			payload = withoutProfile(t, payload)
		}
		add(platform, compactJSON(payload))
		for _, k := range sortedKeys(o.Files) {
			add(platform+"."+k, string(o.Files[k]))
		}
	}
	return out
}

// explainNet answers each "METHOD HOST:PORT" line with ir.DecideNet,
// one line each: the decision and the rule or setting behind it.
func explainNet(t *testing.T, p *ir.Policy, probes string) string {
	n := p.Network
	if p.Unrestricted {
		n = ir.Network{Mode: ir.NetworkFull}
	}
	d, err := ir.NewNetDecider(n)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range strings.Split(probes, "\n") {
		method, target, ok := strings.Cut(strings.TrimSpace(l), " ")
		host, portText, ok2 := strings.Cut(target, ":")
		port, err := strconv.Atoi(portText)
		if !ok || !ok2 || err != nil {
			t.Fatalf("explain-net line %q: want METHOD HOST:PORT", l)
		}
		b.WriteString(d.DecideNet(host, port, method).Explain())
		b.WriteString("\n")
	}
	return b.String()
}

// lowerAll lowers the policy for every platform, as polc build does; a
// backend's panic fails the case instead of the run.
func lowerAll(t *testing.T, p *ir.Policy) (rs []backends.Result) {
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("a backend panicked: %v", r)
			rs = nil
		}
	}()
	return lowering.LowerAll(p, ir.Platforms, backends.Options{})
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// compactOf renders v's canonical JSON compactly (compactJSON).
func compactOf(t *testing.T, v any) string {
	b, err := canonjson.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return compactJSON(b)
}

// withoutProfile is a macOS payload with its SBPL profile replaced by a
// pointer to the macos.sb section, which shows the same text once.
func withoutProfile(t *testing.T, payload []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatalf("macOS payload: %v", err)
	}
	m["profile"] = json.RawMessage(`"(the SBPL lines: see the macos.sb section)"`)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
