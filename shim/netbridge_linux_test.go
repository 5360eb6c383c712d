package shim

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"polc/backends/bwrap"
	"polc/diag"
	"polc/internal/sockexec"
	"polc/ir"
)

// inNewNetns runs f on a thread in a network namespace of its own with
// loopback up (the thread ends with f). Only root can make one from a
// running Go program.
func inNewNetns(t *testing.T, f func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: a network namespace for the sandbox's side")
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(s)
		ifr, err := unix.NewIfreq("lo")
		if err == nil {
			ifr.SetUint16(unix.IFF_UP)
			err = unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
		}
		if err != nil {
			done <- err
			return
		}
		f()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRouteServesTheSandboxSockets runs both halves without bubblewrap:
// the sandbox's side (sockexec.Send, in a network namespace of its own)
// hands its socket to polc's route, which listens on it there; a client
// in that namespace gets the proxy's decision, and nothing listens in
// polc's own namespace.
func TestRouteServesTheSandboxSockets(t *testing.T) {
	port := freePort(t)
	art := &bwrap.Artifact{Proxy: &bwrap.ProxyRoute{HTTPPort: port}}
	n := &ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{HTTPPort: port, Domains: []ir.DomainRule{
		{Pattern: "denied.test", Action: ir.DomainDeny, Origin: ir.Origin{Kind: ir.OriginConfig, Key: "domains"}}}}}
	var stderr, log bytes.Buffer
	var resp *http.Response
	var err error
	inNewNetns(t, func() {
		var r *netRoute
		r, err = startNetRoute(art, n, &stderr, &log)
		if err != nil {
			return
		}
		defer r.close()
		if err = sockexec.Send(int(r.child.Fd()), 1); err != nil {
			return
		}
		if rerr, _ := r.failure(); rerr != nil {
			err = rerr
			return
		}
		var c net.Conn
		if c, err = net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("GET http://denied.test/ HTTP/1.1\r\nHost: denied.test\r\n\r\n"))
		if resp, err = http.ReadResponse(bufio.NewReader(c), nil); err == nil {
			resp.Body.Close()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 403 || resp.Header.Get("x-proxy-error") != "blocked-by-denylist" {
		t.Errorf("answer %d %v", resp.StatusCode, resp.Header)
	}
	if !strings.Contains(stderr.String(), "denied.test:80: refused (denied)") || !strings.Contains(log.String(), `"reason":"denied"`) {
		t.Errorf("refusal not reported: stderr %q log %q", stderr.String(), log.String())
	}
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
		c.Close()
		t.Error("the proxy listens in polc's own network namespace")
	}
}

// TestNetRouteFailsClosed: without the policy's network, or with a
// policy that disagrees with the artifact's route, no proxy starts and
// the launch fails with POL220; sockets the sandbox could not make, or
// that are polc's own namespace's, leave the route failed, and the
// sandbox's side gets no word to go on.
func TestNetRouteFailsClosed(t *testing.T) {
	art := &bwrap.Artifact{Proxy: &bwrap.ProxyRoute{HTTPPort: 3128, SOCKSPort: 8081}}
	for name, n := range map[string]*ir.Network{
		"no policy":        nil,
		"full network":     {Mode: ir.NetworkFull},
		"socks disagrees":  {Mode: ir.NetworkProxy, Proxy: &ir.Proxy{}},
		"http disagrees":   {Mode: ir.NetworkProxy, Proxy: &ir.Proxy{SOCKS5: true, HTTPPort: 3129}},
		"invalid decision": {Mode: ir.NetworkProxy, Proxy: &ir.Proxy{SOCKS5: true, Methods: "some"}},
	} {
		_, err := startNetRoute(art, n, nil, nil)
		var f *diag.Diagnostic
		if !errors.As(err, &f) || f.Code != diag.LinuxNetworkRoute {
			t.Errorf("%s: want a POL220 failure, got %v", name, err)
		}
	}
	n := &ir.Network{Mode: ir.NetworkProxy, Proxy: &ir.Proxy{SOCKS5: true}}
	for _, c := range []struct {
		name    string
		sandbox func(fd int) error
		want    string
		ended   bool
	}{
		{"no word", func(fd int) error { return nil }, "ended before", true},
		{"no socket", func(fd int) error {
			_, err := unix.Write(fd, []byte{sockexec.TagFailed, byte(unix.EMFILE)})
			return err
		}, "too many open files", false},
		{"one socket of two", func(fd int) error {
			s, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
			defer unix.Close(s)
			return unix.Sendmsg(fd, []byte{sockexec.TagSockets}, unix.UnixRights(s), nil, 0)
		}, "1 sockets for 2 listeners", false},
		{"polc's own namespace", func(fd int) error {
			if os.Geteuid() != 0 {
				return errors.New("skip")
			}
			return sockexec.Send(fd, 2)
		}, "polc's own network namespace", false},
	} {
		r, err := startNetRoute(art, n, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		child := r.child
		r.child = nil
		sent := make(chan error, 1)
		go func() { sent <- c.sandbox(int(child.Fd())); child.Close() }()
		rerr, ended := r.failure()
		if err := <-sent; err != nil && err.Error() == "skip" {
			r.close()
			continue
		} else if err != nil && !strings.Contains(err.Error(), "polc did not take") {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rerr == nil || !strings.Contains(rerr.Error(), c.want) || ended != c.ended {
			t.Errorf("%s: route error %v (ended %v), want %q (ended %v)", c.name, rerr, ended, c.want, c.ended)
		}
		r.close()
	}
}
