//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"polc/internal/conformance"
)

// tmpConfig is Codex's :workspace: the project, /tmp and $TMPDIR writable.
const tmpConfig = `default_permissions = ":workspace"
`

// TestTmpdirGitPlant: under :workspace a sandboxed command tries to plant
// a repository in $TMPDIR (git init, or a .git with a core.fsmonitor
// command that the user's next git command there would run on the host).
// .git stays held read-only under every writable root, the temporary
// directories included, so nothing is planted.
func TestTmpdirGitPlant(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			w := seedWorld(t, tmpConfig)
			u.Own(t, w.Root)
			script := `mkdir "$TMPDIR/.git" 2>/dev/null && echo planted-dir
printf '[core]\n\tfsmonitor = touch "$HOME/pwned"\n' > "$TMPDIR/.git/config" 2>/dev/null && echo planted-config
git init -q "$TMPDIR" 2>/dev/null && echo planted-repo
echo done
`
			r := execIn(t, u, w, ":workspace", script, "/bin/sh", "-s")
			if r.code != 0 || r.stdout != "done\n" {
				t.Errorf("plant: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			if _, err := os.Lstat(filepath.Join(w.Tmp, ".git")); err == nil {
				t.Errorf("$TMPDIR/.git exists on the host after the run")
			}
		})
	}
}

// TestConcurrentLaunchesShareTmpPlaceholders: launches in the same world
// hold the same missing $TMPDIR/.git, .agents, .aws and .codex (and the
// project's). Eight at once, a few rounds: every launch starts (none
// fails with bwrap's "can't find source path" because another removed a
// placeholder it planned on), none can plant .git, and nothing is left
// behind.
func TestConcurrentLaunchesShareTmpPlaceholders(t *testing.T) {
	conformance.NeedSandbox(t)
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("XDG_STATE_HOME", "")
	for _, u := range conformance.Users(t) {
		t.Run(u.Name, func(t *testing.T) {
			w := seedWorld(t, tmpConfig)
			u.Own(t, w.Root)
			script := `mkdir "$TMPDIR/.git" 2>/dev/null && echo planted; sleep 0.$(($$ % 3)); echo ok`
			for round := range 4 {
				var wg sync.WaitGroup
				runs := make([]run, 8)
				for i := range runs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						runs[i] = polcExecAs(t, u, "", w, ":workspace", "", "/bin/sh", "-c", script)
					}()
				}
				wg.Wait()
				for i, r := range runs {
					if r.code != 0 || r.stdout != "ok\n" {
						t.Errorf("round %d launch %d: exit %d, stdout %q, stderr %q", round, i, r.code, r.stdout, r.stderr)
					}
				}
				if ents, _ := os.ReadDir(w.Tmp); len(ents) != 0 {
					var names []string
					for _, e := range ents {
						names = append(names, e.Name())
					}
					t.Errorf("round %d: left behind in $TMPDIR: %s", round, strings.Join(names, " "))
				}
				for _, p := range []string{".git", ".codex", ".polc", ".agents"} {
					if _, err := os.Lstat(filepath.Join(w.Proj, p)); err == nil {
						t.Errorf("round %d: proj/%s left behind", round, p)
					}
				}
			}
		})
	}
}
