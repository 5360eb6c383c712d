package bwrap

import (
	"strings"

	"polc/ir"
	"polc/netproxy"
)

// proxyEnv is the environment that points the command's tools at polc's
// bridge (netproxy.Env: the proxy variables and the reference's
// markers), for the route's ports.
func proxyEnv(p ir.Proxy, r ProxyRoute) map[string]string {
	p.HTTPPort, p.SOCKSPort = r.HTTPPort, r.SOCKSPort
	env := map[string]string{}
	for _, kv := range netproxy.Env(p) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}
