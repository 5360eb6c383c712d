package netproxy

import (
	"sort"
	"strconv"
	"strings"

	"polc/ir"
)

// This file is what a sandboxed command is told about its proxy: the
// environment variables that point HTTP clients, package managers and
// SOCKS-aware tools at the loopback listeners a proxy network
// (ir.Proxy.Ports) promises. Every launcher uses it: on Linux the
// listeners are the in-sandbox bridge's, on macOS and Windows the proxy's
// own (StartLoopback).

// EnvKeys are every variable Env sets, sorted. A launcher that must run a
// command outside the proxy strips them.
var EnvKeys = func() []string {
	var out []string
	for _, g := range [][]string{httpURLKeys, allProxyKeys, noProxyKeys, markerKeys} {
		out = append(out, g...)
	}
	sort.Strings(out)
	return out
}()

// httpURLKeys take the HTTP proxy's URL: the standard variables in both
// spellings, the WebSocket ones, and the package managers' own (yarn,
// npm, bundler, pip, docker), which some of them read instead of the
// standard ones. The reference sets the same list.
var httpURLKeys = []string{
	"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
	"WS_PROXY", "WSS_PROXY", "ws_proxy", "wss_proxy",
	"YARN_HTTP_PROXY", "YARN_HTTPS_PROXY",
	"npm_config_http_proxy", "npm_config_https_proxy", "npm_config_proxy",
	"NPM_CONFIG_HTTP_PROXY", "NPM_CONFIG_HTTPS_PROXY", "NPM_CONFIG_PROXY",
	"BUNDLE_HTTP_PROXY", "BUNDLE_HTTPS_PROXY",
	"PIP_PROXY",
	"DOCKER_HTTP_PROXY", "DOCKER_HTTPS_PROXY",
}

// allProxyKeys take the SOCKS5 URL (socks5h: the proxy resolves names)
// when SOCKS5 is enabled, else the HTTP proxy's: many clients break on a
// SOCKS URL in HTTP_PROXY, so only these switch.
var allProxyKeys = []string{"ALL_PROXY", "all_proxy", "FTP_PROXY", "ftp_proxy"}

// noProxyKeys list the destinations clients reach without the proxy.
var noProxyKeys = []string{"NO_PROXY", "no_proxy", "npm_config_noproxy", "NPM_CONFIG_NOPROXY", "YARN_NO_PROXY", "BUNDLE_NO_PROXY"}

// markerKeys: the reference's markers that a managed proxy is active
// (and whether local addresses are allowed), and the switches that make
// Electron's downloader and Node's built-in HTTP client honour the proxy
// variables at all.
var markerKeys = []string{"CODEX_NETWORK_PROXY_ACTIVE", "CODEX_NETWORK_ALLOW_LOCAL_BINDING", "ELECTRON_GET_USE_PROXY", "NODE_USE_ENV_PROXY"}

// NoProxy is the NO_PROXY value: loopback only. The reference also lists
// the private IPv4 ranges, but under polc nothing but the proxy leaves the
// sandbox, so a client sent there directly would fail without a word;
// through the proxy it gets the decision (allowed when local addresses
// are, refused with the reason otherwise).
const NoProxy = "localhost,127.0.0.1,::1"

// LoopbackHost is where the sandboxed command finds the proxy's
// listeners.
const LoopbackHost = "127.0.0.1"

// HTTPURL and SOCKSURL are the proxy URLs for the ports Ports returns.
func HTTPURL(httpPort int) string { return "http://" + LoopbackHost + ":" + strconv.Itoa(httpPort) }

// SOCKSURL is the socks5h URL of the SOCKS5 listener.
func SOCKSURL(socksPort int) string {
	return "socks5h://" + LoopbackHost + ":" + strconv.Itoa(socksPort)
}

// Env returns the variables, "KEY=VALUE" sorted by key, that send a
// command's traffic to the listeners p promises: HTTP_PROXY and the
// other HTTP URL variables to the HTTP port, ALL_PROXY and FTP_PROXY to
// the SOCKS5 port when p enables SOCKS5 (else to the HTTP port),
// NO_PROXY (loopback only), and the reference's markers.
func Env(p ir.Proxy) []string {
	httpPort, socksPort := p.Ports()
	vals := map[string]string{}
	for _, k := range httpURLKeys {
		vals[k] = HTTPURL(httpPort)
	}
	all := HTTPURL(httpPort)
	if p.SOCKS5 {
		all = SOCKSURL(socksPort)
	}
	for _, k := range allProxyKeys {
		vals[k] = all
	}
	for _, k := range noProxyKeys {
		vals[k] = NoProxy
	}
	local := "0"
	if p.AllowLocal {
		local = "1"
	}
	vals["CODEX_NETWORK_PROXY_ACTIVE"] = "1"
	vals["CODEX_NETWORK_ALLOW_LOCAL_BINDING"] = local
	vals["ELECTRON_GET_USE_PROXY"] = "true"
	vals["NODE_USE_ENV_PROXY"] = "1"
	out := make([]string, 0, len(vals))
	for _, k := range EnvKeys {
		out = append(out, k+"="+vals[k])
	}
	return out
}

// GitSSHCommand is a GIT_SSH_COMMAND that carries ssh through the SOCKS5
// listener with netcat's SOCKS5 client (nc -X 5, as the BSD netcat macOS
// ships has it), so that git over ssh is decided by the proxy like any
// other connection. The reference sets one on macOS.
func GitSSHCommand(socksPort int) string {
	return "ssh -o ProxyCommand='nc -X 5 -x " + LoopbackHost + ":" + strconv.Itoa(socksPort) + " %h %p'"
}

// WithEnv returns base with vars set: every base entry whose key equals
// a key of vars, ignoring case, is dropped (Windows keys ignore case, and
// a stale Http_Proxy must not survive anywhere), then vars are appended
// in their order. base is not modified.
func WithEnv(base, vars []string) []string {
	set := make(map[string]bool, len(vars))
	for _, kv := range vars {
		k, _, _ := strings.Cut(kv, "=")
		set[strings.ToUpper(k)] = true
	}
	out := make([]string, 0, len(base)+len(vars))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !set[strings.ToUpper(k)] {
			out = append(out, kv)
		}
	}
	return append(out, vars...)
}
