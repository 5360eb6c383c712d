package hostprobe

import (
	"errors"
	"fmt"
	"strings"

	"polc/diag"
)

// Row statuses.
const (
	OK   = "ok"
	Fail = "fail"
	Info = "info"
	Skip = "skip"
)

// Row is one capability polc doctor reports.
type Row struct {
	Name   string    `json:"name"`
	Status string    `json:"status"`
	Detail string    `json:"detail"`
	Code   diag.Code `json:"code,omitempty"`
	Fix    string    `json:"fix,omitempty"`
}

// Report is what polc doctor prints: each capability, and whether the
// selected profile can be enforced here (Finding says why not).
type Report struct {
	Profile     string   `json:"profile"`
	Platform    string   `json:"platform"`
	Kernel      string   `json:"kernel"`
	Container   string   `json:"container,omitempty"`
	Enforceable bool     `json:"enforceable"`
	Finding     *Finding `json:"finding,omitempty"`
	Rows        []Row    `json:"checks"`
}

func (r *Report) add(name, status, detail string, f *Finding) {
	row := Row{Name: name, Status: status, Detail: detail}
	if f != nil {
		row.Code, row.Fix = f.Code, f.Fix
		if row.Detail == "" {
			row.Detail = f.Cause
		}
	}
	r.Rows = append(r.Rows, row)
}

// Inspect probes the host for polc doctor: one row per capability, each
// found by trying where trying is possible, and the verdict for s.
func Inspect(p Probe, s Sandbox) *Report {
	t := &trials{p: p, s: s}
	kind, release := Platform(p)
	rt, marker := Container(p)
	r := &Report{Profile: s.Profile, Platform: kind, Kernel: release, Container: rt}

	switch kind {
	case WSL1:
		r.add("platform", Fail, "", wsl1Finding(release))
	case WSL2:
		r.add("platform", OK, "WSL2, kernel "+release, nil)
	default:
		what := "native Linux"
		if release != "" {
			what += ", kernel " + release
		}
		r.add("platform", OK, what, nil)
	}

	switch {
	case rt == "":
		r.add("container", Info, "none seen (no /.dockerenv, /run/.containerenv, Kubernetes, devcontainer or cgroup marker)", nil)
	case s.Unrestricted:
		r.add("container", Info, fmt.Sprintf("%s (%s): the profile asks for no sandbox, so the container is the only boundary", rt, marker), nil)
	case s.Needs == nil:
		r.add("container", Info, fmt.Sprintf("%s (%s): a boundary to the host, not between the command and the container's own files and network; the profile still needs bwrap", rt, marker), nil)
	default:
		if why := containerIsolation(p, s.Needs); len(why) > 0 {
			r.add("container", Info, fmt.Sprintf("%s (%s) does not give the isolation %s asks for on its own: %s; the profile still needs its sandbox", rt, marker, s.Profile, strings.Join(why, "; ")), nil)
		} else {
			r.add("container", Info, "", &Finding{Code: diag.ContainerIsBoundary,
				Cause: fmt.Sprintf("%s (%s) already gives the isolation %s asks for on its own: no network beyond loopback where the profile has none, nothing the profile hides, nothing writable that it keeps read-only", rt, marker, s.Profile),
				Fix:   "if the container is your boundary, polc exec -P :danger-full-access inside it gives up only the sandbox's namespaces and seccomp filter (kernel keyrings, ptrace, TIOCSTI stay reachable)"})
		}
	}

	bw, bwErr := t.findBwrap()
	if bwErr != nil {
		r.add("bwrap", Fail, "", NoBwrap(p))
	} else {
		setuid := "not setuid"
		if bw.Setuid {
			setuid = "setuid root"
		}
		version := bw.Version
		if version == "" {
			version = "version unknown"
		}
		r.add("bwrap", OK, fmt.Sprintf("%s (%s, %s)", bw.Path, version, setuid), nil)
	}

	var knobs []string
	for _, k := range []string{"user.max_user_namespaces", "kernel.unprivileged_userns_clone", "kernel.apparmor_restrict_unprivileged_userns"} {
		if v := sysctl(p, k); v != "" {
			knobs = append(knobs, k+"="+v)
		}
	}
	if n := seccompFilters(p); n > 0 {
		knobs = append(knobs, fmt.Sprintf("polc runs under %d seccomp filter(s)", n))
	}
	sysctls := ""
	if len(knobs) > 0 {
		sysctls = "; " + strings.Join(knobs, ", ")
	}
	who := "unprivileged"
	if p.Uid() == 0 {
		who = "root"
	}
	if kind == WSL1 {
		r.add("userns", Skip, "not tried on WSL1", nil)
	} else if err := t.userNS(); errors.Is(err, ErrNotTried) {
		r.add("userns", Skip, err.Error(), nil)
	} else if f := userNSFinding(p, t.userNS()); f != nil {
		if bwErr == nil && bw.Setuid {
			r.add("userns", Info, "refused ("+t.usernsErr.Error()+"), and bwrap is setuid root: it needs none"+sysctls, nil)
		} else {
			r.add("userns", Fail, f.Cause+sysctls, f)
		}
	} else {
		r.add("userns", OK, "a user namespace was created in a child as "+who+" (tried)"+sysctls, nil)
	}

	switch {
	case kind == WSL1:
		r.add("namespaces", Skip, "not tried on WSL1", nil)
	case bwErr != nil:
		r.add("namespaces", Skip, "not tried without bwrap", nil)
	default:
		if stderr, err := t.namespaces(bw.Path); err != nil {
			r.add("namespaces", Fail, "bwrap could not make them: "+bwrapSaid(stderr, err), t.namespaceFinding(bw, stderr, err))
		} else {
			what := "bwrap made " + s.namespaces() + " namespaces"
			if s.Proc {
				what += " with a fresh /proc"
			}
			r.add("namespaces", OK, what+" (tried)", nil)
		}
	}

	if kind == WSL1 {
		r.add("seccomp", Skip, "not tried on WSL1", nil)
	} else if err := t.seccomp(); errors.Is(err, ErrNotTried) {
		r.add("seccomp", Skip, err.Error(), nil)
	} else if err != nil {
		r.add("seccomp", Fail, "", seccompFinding(err))
	} else {
		r.add("seccomp", OK, "a filter was installed in a child (tried)", nil)
	}

	llStatus, llDetail, llFinding := landlockRow(p.LandlockABI(), s)
	if llFinding != nil && s.Landlock != nil && s.Landlock.Asked {
		r.add("landlock", Fail, llDetail, llFinding)
	} else {
		r.add("landlock", llStatus, llDetail, nil)
	}

	if kind == WSL2 {
		if paths := wslInterop(p); len(paths) > 0 {
			r.add("wsl-interop", Info, "masked in every sandbox unless a rule of the profile names them: "+strings.Join(paths, ", "), nil)
		} else {
			r.add("wsl-interop", Info, "no interop sockets seen (/run/WSL, /mnt/wslg)", nil)
		}
	}

	r.Finding = t.verdict()
	r.Enforceable = r.Finding == nil
	switch {
	case s.Unrestricted:
		r.add("profile", OK, s.Profile+" asks for no sandbox (full access): nothing to enforce", nil)
	case r.Finding == nil && s.Landlock != nil && s.Landlock.Asked:
		r.add("profile", OK, s.Profile+" can be enforced here under Landlock and seccomp (asked for), without bubblewrap", nil)
	case r.Finding == nil:
		what := "bwrap made its sandbox"
		if s.Filter != nil {
			what += " with its seccomp filter"
		}
		r.add("profile", OK, s.Profile+" can be enforced here: "+what+" (tried)", nil)
	default:
		f := r.Finding
		if llStatus == OK && (s.Landlock == nil || !s.Landlock.Asked) {
			// Where bubblewrap cannot run, Landlock can be offered when
			// it enforces the profile exactly.
			g := *f
			g.Fix += "; or run with polc exec --landlock: Landlock enforces " + s.Profile + " exactly here"
			f = &g
		}
		r.add("profile", Fail, s.Profile+" cannot be enforced here", f)
	}
	return r
}

// Text writes the report as polc doctor prints it.
func (r *Report) Text() string {
	var b strings.Builder
	said := map[string]bool{} // each fix once
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "%-12s %-5s %s", row.Name, row.Status, row.Detail)
		if row.Code != "" {
			fmt.Fprintf(&b, " [%s]", row.Code)
		}
		b.WriteByte('\n')
		if row.Fix != "" && (row.Status == Fail || row.Code == diag.ContainerIsBoundary) && !said[row.Fix] {
			said[row.Fix] = true
			fmt.Fprintf(&b, "%-18s fix: %s\n", "", row.Fix)
		}
	}
	if r.Enforceable {
		fmt.Fprintf(&b, "\n%s can be enforced on this host.\n", r.Profile)
	} else {
		fmt.Fprintf(&b, "\n%s cannot be enforced on this host [%s].\n", r.Profile, r.Finding.Code)
	}
	return b.String()
}
