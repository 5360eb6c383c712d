package compiler

import (
	"fmt"
	"path/filepath"

	"polc/ir"
)

// symbolizeInputs renames, in the policy's origins, the files given with
// --requirements and --config: where such a file lies is a fact of this
// machine, and an artifact that recorded it would go stale on another
// (CI keeps the same requirements elsewhere). A file below a bound
// variable becomes ${VAR}/...; any other becomes "--requirements:NAME" or
// "--config:NAME" (numbered when two share a name). The requirements'
// content is in the policy's RequirementsDigest. Diagnostics keep the
// real paths: they are for the user at this machine.
func (s *state) symbolizeInputs() {
	if s.policy == nil || !s.opts.SymbolicInputs {
		return
	}
	names := map[string]string{}
	add := func(flag string, files []string) {
		seen := map[string]int{}
		for _, f := range files {
			seen[filepath.Base(f)]++
		}
		for i, f := range files {
			abs, err := filepath.Abs(f)
			if err != nil {
				abs = f
			}
			if sym := s.bindings.Symbolize(filepath.Clean(abs)); sym != abs {
				names[f] = sym
				continue
			}
			label := flag + ":" + filepath.Base(f)
			if seen[filepath.Base(f)] > 1 {
				label = fmt.Sprintf("%s[%d]:%s", flag, i+1, filepath.Base(f))
			}
			names[f] = label
		}
	}
	add("--requirements", s.opts.RequirementFiles)
	add("--config", s.opts.ConfigFiles)
	if len(names) == 0 {
		return
	}
	s.policy.RuleOrigins(func(o *ir.Origin) {
		if n, ok := names[o.Pos.File]; ok {
			o.Pos.File = n
		}
	})
}
