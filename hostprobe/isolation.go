package hostprobe

import (
	"fmt"
	"sort"
	"strings"
)

// Needs is what the profile asks of the filesystem and the network, for
// judging whether the container polc runs in already gives it on its own
// (the container is then a boundary the profile would add nothing to,
// files and network considered).
type Needs struct {
	// Network is the policy's network: none, full or proxy.
	Network string
	// ReadLimit says how the profile restricts reading ("" when the
	// command may read everything).
	ReadLimit string
	// WritableTree reports whether the command may write a host path and
	// everything below it, nothing narrower inside.
	WritableTree func(string) bool
}

// virtualFS are kernel filesystems whose mounts hold no user files.
var virtualFS = map[string]bool{"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true, "mqueue": true,
	"devtmpfs": true, "securityfs": true, "debugfs": true, "tracefs": true, "pstore": true, "bpf": true, "configfs": true,
	"fusectl": true, "hugetlbfs": true, "binfmt_misc": true, "autofs": true, "nsfs": true}

// hostServiceSockets are container runtimes' sockets a container is
// often given, each a way out of it.
var hostServiceSockets = []string{"/var/run/docker.sock", "/run/docker.sock", "/run/podman/podman.sock", "/run/containerd/containerd.sock"}

// containerIsolation says whether the container gives what n asks: the
// reasons it does not (none: it does). It reads the container's network
// interfaces (/proc/net/dev) and its mounts (/proc/self/mountinfo).
func containerIsolation(p Probe, n *Needs) []string {
	var why []string
	if n.Network != "full" {
		if ifs := interfaces(p); len(ifs) > 0 {
			why = append(why, fmt.Sprintf("it has a network (%s) and the profile's is %s", strings.Join(ifs, ", "), map[bool]string{true: "polc's proxy only", false: "off"}[n.Network == "proxy"]))
		}
		for _, s := range hostServiceSockets {
			if p.Exists(s) {
				why = append(why, fmt.Sprintf("%s is reachable, which the profile's network keeps out of reach", s))
			}
		}
	}
	if n.ReadLimit != "" {
		why = append(why, "it lets the command read every file it holds, and the profile "+n.ReadLimit)
	}
	if rw := writableMounts(p); rw == nil {
		why = append(why, "its mounts could not be read (/proc/self/mountinfo)")
	} else {
		var over []string
		for _, m := range rw {
			if n.WritableTree == nil || !n.WritableTree(m) {
				over = append(over, m)
			}
		}
		if len(over) > 0 {
			why = append(why, "it lets the command write "+strings.Join(over, ", ")+", which the profile keeps (in part) read-only")
		}
	}
	return why
}

// interfaces are the network interfaces other than loopback.
func interfaces(p Probe) []string {
	b, err := p.ReadFile("/proc/net/dev")
	if err != nil {
		return []string{"unknown: /proc/net/dev could not be read"}
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		name, _, ok := strings.Cut(line, ":")
		if name = strings.TrimSpace(name); ok && name != "lo" && !strings.Contains(name, "|") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// writableMounts are the mount points mounted read-write that hold user
// files (not /proc, /sys, /dev or a kernel filesystem); nil when the
// mount table cannot be read.
func writableMounts(p Probe) []string {
	b, err := p.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	out := []string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || sep+1 >= len(f) {
			continue
		}
		point, opts, fstype := unescapeMount(f[4]), f[5], f[sep+1]
		if virtualFS[fstype] || belowAny(point, "/proc", "/sys", "/dev") {
			continue
		}
		if strings.Split(opts, ",")[0] == "rw" {
			out = append(out, point)
		}
	}
	sort.Strings(out)
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// belowAny reports whether p is one of dirs or lies below one (paths as
// the mount table writes them).
func belowAny(p string, dirs ...string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
