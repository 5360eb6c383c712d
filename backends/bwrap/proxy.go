package bwrap

import (
	"strconv"
	"strings"
)

// ProxyEnv is the environment that points the command's tools at polc's
// bridge: the usual proxy variables, in both cases.
func ProxyEnv(r ProxyRoute) map[string]string {
	httpURL := "http://127.0.0.1:" + strconv.Itoa(r.HTTPPort)
	all := httpURL
	if r.SOCKSPort != 0 {
		all = "socks5h://127.0.0.1:" + strconv.Itoa(r.SOCKSPort)
	}
	env := map[string]string{}
	for _, kv := range [][2]string{
		{"HTTP_PROXY", httpURL}, {"HTTPS_PROXY", httpURL}, {"ALL_PROXY", all},
		{"NO_PROXY", "localhost,127.0.0.1,::1"},
		{"npm_config_proxy", httpURL}, {"npm_config_https_proxy", httpURL},
	} {
		env[kv[0]] = kv[1]
		if kv[0][0] != 'n' {
			env[strings.ToLower(kv[0])] = kv[1]
		}
	}
	return env
}
