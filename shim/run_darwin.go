package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"polc/backends/seatbelt"
	"polc/diag"
	"polc/ir"
)

// Run runs l.Argv under the macOS artifact l.Payload with sandbox-exec and
// returns the command's exit status. An error means polc itself could
// not run the command (the CLI exits 125).
func Run(l *Launch) (int, error) {
	pl, err := seatbelt.Decode(l.Payload)
	if err != nil {
		return 0, failure(diag.MacBadArtifact, err)
	}
	if len(l.Argv) == 0 {
		return 0, failf(diag.MacSandboxExec, "no command to run")
	}
	dir := l.Dir
	if dir == "" {
		dir, _ = os.Getwd()
	}
	environ := seatbeltEnv(l.Environ, pl, dir)
	if pl.Unrestricted {
		return runMac(l, l.Argv[0], l.Argv[1:], dir, environ)
	}
	b, err := seatbelt.Bind(pl, l.Env)
	if err != nil {
		return 0, failure(diag.MacBadPath, err)
	}
	if pl.Network == ir.NetworkProxy {
		// The profile lets the command reach the proxy's ports only:
		// start the proxy there for the command's life, or do not run.
		eg, err := startEgress(l, pl.Proxy, diag.MacProxyStart)
		if err != nil {
			return 0, err
		}
		defer eg.stop()
		environ = eg.env(environ, pl.Proxy, true)
	}
	profile, cleanup, err := writeProfile(pl, b, l.Env)
	if err != nil {
		return 0, failf(diag.MacSandboxExec, "%w", err)
	}
	defer cleanup()
	argv := seatbelt.Command(profile, b, l.Argv)
	return runMac(l, argv[0], argv[1:], dir, environ)
}

// seatbeltEnv is the command's environment: the caller's, plus what Codex
// sets under Seatbelt (CODEX_SANDBOX=seatbelt, and
// CODEX_SANDBOX_NETWORK_DISABLED=1 without full network), and PWD.
func seatbeltEnv(base []string, pl *seatbelt.Payload, dir string) []string {
	if base == nil {
		base = os.Environ()
	}
	set := map[string]string{"PWD": dir}
	if !pl.Unrestricted {
		set["CODEX_SANDBOX"] = "seatbelt"
		if pl.Network != ir.NetworkFull {
			set["CODEX_SANDBOX_NETWORK_DISABLED"] = "1"
		}
	}
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			out = append(out, kv)
		}
	}
	for _, k := range []string{"CODEX_SANDBOX", "CODEX_SANDBOX_NETWORK_DISABLED", "PWD"} {
		if v, ok := set[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// profileDirs are where the profile file may go, best first: the user's
// cache directory, then a per-user directory in the system temp dir.
func profileDirs() []string {
	var out []string
	if d, err := os.UserCacheDir(); err == nil && filepath.IsAbs(d) {
		out = append(out, filepath.Join(d, "polc", "profiles"))
	}
	return append(out, filepath.Join(os.TempDir(), fmt.Sprintf("polc-%d", os.Getuid())))
}

// writeProfile writes the profile text to a private file (0600, in a 0700
// directory owned by us) that the sandboxed command cannot write, so that
// nothing running under an earlier policy can rewrite the next one.
func writeProfile(pl *seatbelt.Payload, b *seatbelt.Binding, env ir.Env) (string, func(), error) {
	var lastErr error
	for _, d := range profileDirs() {
		if seatbelt.MayWrite(pl, b, env, d) {
			lastErr = fmt.Errorf("%s is writable under the policy", d)
			continue
		}
		if err := privateDir(d); err != nil {
			lastErr = err
			continue
		}
		f, err := os.CreateTemp(d, "profile-*.sb")
		if err != nil {
			lastErr = err
			continue
		}
		name := f.Name()
		if err := f.Chmod(0o600); err == nil {
			_, err = io.WriteString(f, string(pl.Profile))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				return name, func() { os.Remove(name) }, nil
			}
			lastErr = err
		} else {
			f.Close()
			lastErr = err
		}
		os.Remove(name)
	}
	return "", nil, fmt.Errorf("no private place for the Seatbelt profile: %v", lastErr)
}

// privateDir makes d (0700) and checks that it is a real directory owned
// by us that nobody else can write.
func privateDir(d string) error {
	if err := os.MkdirAll(d, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(d)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s is not a directory of ours", d)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		if err := os.Chmod(d, 0o700); err != nil {
			return fmt.Errorf("%s is writable by others: %v", d, err)
		}
	}
	return nil
}

// runMac starts the command, forwards signals to it and returns its
// status (128+N when a signal N ended it).
func runMac(l *Launch, bin string, args []string, dir string, environ []string) (int, error) {
	cmd := l.command(bin, args, dir, environ)
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		if bin == seatbelt.SandboxExec {
			return 0, failf(diag.MacSandboxExec, "cannot start %s: %w", bin, err)
		}
		if errors.Is(err, exec.ErrNotFound) || os.IsNotExist(err) {
			fmt.Fprintf(cmd.Stderr, "polc: %s: %v\n", bin, err)
			return 127, nil
		}
		return 126, nil
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if code, _, ok := exitCode(err); ok {
		return code, nil
	}
	return 0, failf(diag.MacSandboxExec, "%w", err)
}
