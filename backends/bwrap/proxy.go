package bwrap

import (
	"strings"

	"polc/ir"
	"polc/netproxy"
)

// Route is where the bridge listens for a proxy network p: its HTTP
// port, and its SOCKS5 port when p enables SOCKS5 (defaults applied).
func Route(p ir.Proxy) ProxyRoute {
	var r ProxyRoute
	r.HTTPPort, r.SOCKSPort = p.Ports()
	if !p.SOCKS5 {
		r.SOCKSPort = 0
	}
	return r
}

// proxyEnv is the environment that points the command's tools at polc's
// bridge (netproxy.Env: the proxy variables and the reference's
// markers), which listens at Route(p).
func proxyEnv(p ir.Proxy) map[string]string {
	env := map[string]string{}
	for _, kv := range netproxy.Env(p) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}
