package e2e

import (
	"io"
	"os"
	"os/exec"
	"testing"
)

// TestRelaunchAfterKillInSameProject: polc killed with SIGKILL leaves
// bwrap's mount points (proj/.codex, proj/.polc) on the host. The next
// launch in the same project sweeps them; it must not plan on them (bind
// a .polc that the sweep then removes) and fail its setup with exit 125.
func TestRelaunchAfterKillInSameProject(t *testing.T) {
	needBwrap(t)
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			w := seedWorld(t, seedConfig)
			cmd := exec.Command(polcBin, "exec", "-P", "workspace", "-C", w.Proj, "--", "/bin/sh", "-c", "echo ready; sleep 30")
			cmd.Env = append(append(os.Environ(), w.Env()...), stageEnv(stage)...)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 6)
			if _, err := io.ReadFull(out, buf); err != nil {
				t.Fatalf("command did not start: %v", err)
			}
			cmd.Process.Kill()
			cmd.Wait()
			for i := 0; i < 3; i++ {
				r := polcExecStage(t, stage, w, "workspace", "", "/bin/sh", "-c", "echo again")
				if r.code != 0 || r.stdout != "again\n" {
					t.Fatalf("launch %d after a killed one in the same project: exit %d, stdout %q, stderr %q", i+1, r.code, r.stdout, r.stderr)
				}
			}
		})
	}
}
