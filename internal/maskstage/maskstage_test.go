package maskstage

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStageStartsEarly: the stage runs from its package's init, so it
// starts once its own imports are initialised. Importing any of these
// would put the bulk of polc's initialisation (the network stack, HTTP
// and TLS for the proxy, the CLI, the compiler) before every launch
// through the stage again.
func TestStageStartsEarly(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not installed")
	}
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	for _, heavy := range []string{"net", "net/http", "crypto/tls", "crypto/x509",
		"github.com/urfave/cli/v2", "github.com/miekg/dns", "github.com/google/nftables",
		"polc/compiler", "polc/shim", "polc/backends/bwrap", "polc/netproxy", "polc/diag"} {
		if deps[heavy] {
			t.Errorf("the mask stage imports %s", heavy)
		}
	}
	if !deps["polc/internal/maskstage"] {
		t.Fatalf("go list did not list the package itself:\n%s", out)
	}
}
