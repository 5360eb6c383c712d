package ir

// Listeners returns the loopback ports a proxy network's listeners use,
// sorted, each once: the HTTP port, and the SOCKS5 port when SOCKS5 is
// enabled. They are the only ports a backend lets the sandboxed command
// reach, and a launcher must listen on every one.
func (p Proxy) Listeners() []int {
	httpPort, socksPort := p.Ports()
	switch {
	case !p.SOCKS5 || socksPort == httpPort:
		return []int{httpPort}
	case socksPort < httpPort:
		return []int{socksPort, httpPort}
	}
	return []int{httpPort, socksPort}
}

// PortsCollide reports whether the HTTP and SOCKS5 listeners would need
// the same port: no launcher can serve both there.
func (p Proxy) PortsCollide() bool {
	httpPort, socksPort := p.Ports()
	return p.SOCKS5 && httpPort == socksPort
}
