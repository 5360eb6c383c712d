package compiler

import (
	"fmt"
	"path/filepath"

	"polc/ir"
)

// symbolizeOrigins names the files of the policy's origins without their
// host paths: where a config or requirements file lies is a fact of this
// machine, and a policy that recorded it would differ between two
// machines (an artifact built in CI would go stale on a laptop). A file
// below a bound variable becomes ${VAR}/... (${CODEX_HOME}/config.toml,
// ${WORKSPACE_ROOT}/.codex/config.toml); a --requirements or --config
// file under none becomes "--requirements:NAME" or "--config:NAME"
// (numbered when two share a name); other files (/etc/codex/...) and "-c"
// stay as they are. The requirements' content is in the policy's
// RequirementsDigest. The returned map takes each such name back to the
// file as the user gave it (ir.Env.Inputs), so that what the user is
// shown names the real files; the diagnostics of the passes, made
// before, name them so already.
func (s *state) symbolizeOrigins() map[string]string {
	names := map[string]string{}
	inputs := map[string]string{}
	add := func(flag string, files []string) {
		seen := map[string]int{}
		for _, f := range files {
			seen[filepath.Base(f)]++
		}
		for i, f := range files {
			if _, ok := names[f]; ok {
				continue
			}
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
			inputs[label] = f
		}
	}
	add("--requirements", s.opts.RequirementFiles)
	add("--config", s.opts.ConfigFiles)
	s.policy.Origins(func(o *ir.Origin) {
		if n, ok := names[o.Pos.File]; ok {
			o.Pos.File = n
		} else if filepath.IsAbs(o.Pos.File) {
			o.Pos.File = s.bindings.Symbolize(filepath.Clean(o.Pos.File))
		}
	})
	return inputs
}
