package e2e

import (
	"polc/internal/conformance"
	"testing"
)

// TestRelaunchAfterKillInSameProject: polc killed with SIGKILL leaves
// bwrap's mount points (proj/.codex, proj/.polc) on the host. The next
// launch in the same project sweeps them; it must not plan on them (bind
// a .polc that the sweep then removes) and fail its setup with exit 125.
func TestRelaunchAfterKillInSameProject(t *testing.T) {
	conformance.NeedSandbox(t)
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			w := seedWorld(t, seedConfig)
			killRunningLaunch(t, stage, w, nil)
			for i := 0; i < 3; i++ {
				r := polcExecStage(t, stage, w, "workspace", "", "/bin/sh", "-c", "echo again")
				if r.code != 0 || r.stdout != "again\n" {
					t.Fatalf("launch %d after a killed one in the same project: exit %d, stdout %q, stderr %q", i+1, r.code, r.stdout, r.stderr)
				}
			}
		})
	}
}
