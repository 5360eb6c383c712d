package ir

// PortsCollide reports whether the HTTP and SOCKS5 listeners would need
// the same port (defaults applied): no launcher can serve both there.
func (p Proxy) PortsCollide() bool {
	httpPort, socksPort := p.Ports()
	return p.SOCKS5 && httpPort == socksPort
}
