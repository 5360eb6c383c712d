package netproxy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"polc/ir"
)

// SOCKS5 (RFC 1928): no authentication, CONNECT only. The client may
// send a name (socks5h) or an address; either way the request is decided
// before any lookup, and the proxy resolves and checks the name itself.

const (
	socksVersion      = 5
	socksNoAuth       = 0x00
	socksNoAcceptable = 0xff
	socksConnect      = 1

	atypIPv4   = 1
	atypDomain = 3
	atypIPv6   = 4

	repSucceeded          = 0
	repGeneralFailure     = 1
	repNotAllowed         = 2
	repHostUnreachable    = 4
	repConnectionRefused  = 5
	repCommandUnsupported = 7
	repAddressUnsupported = 8
)

// ServeSOCKS5 serves SOCKS5 on l until Close; it returns nil after
// Close. It refuses to start unless the policy enables SOCKS5.
func (p *Proxy) ServeSOCKS5(l net.Listener) error {
	if !p.cfg.Decider.Policy().SOCKS5 {
		return errors.New("netproxy: the policy does not enable SOCKS5")
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return net.ErrClosed
	}
	p.listeners[l] = true
	p.addSelf(l)
	p.mu.Unlock()
	for {
		c, err := l.Accept()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if !p.begin(c) {
			c.Close()
			return nil
		}
		go func() {
			defer p.end(c)
			defer c.Close()
			if up := p.socksHandshake(c); up != nil {
				p.tunnel(c, nil, up)
			}
		}()
	}
}

// socksHandshake reads the greeting and the request, decides, connects,
// and replies; it returns the upstream connection when the tunnel may
// start, nil when the client was answered and must be closed.
func (p *Proxy) socksHandshake(c net.Conn) net.Conn {
	c.SetDeadline(time.Now().Add(p.cfg.HandshakeTimeout))
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != socksVersion {
		return nil
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return nil
	}
	method := byte(socksNoAcceptable)
	for _, m := range methods {
		if m == socksNoAuth {
			method = socksNoAuth
		}
	}
	if _, err := c.Write([]byte{socksVersion, method}); err != nil || method != socksNoAuth {
		return nil
	}

	var req [4]byte
	if _, err := io.ReadFull(c, req[:]); err != nil || req[0] != socksVersion {
		return nil
	}
	var host string
	switch req[3] {
	case atypIPv4:
		var b [4]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return nil
		}
		host = netip.AddrFrom4(b).String()
	case atypIPv6:
		var b [16]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return nil
		}
		host = netip.AddrFrom16(b).String()
	case atypDomain:
		var n [1]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return nil
		}
		b := make([]byte, n[0])
		if _, err := io.ReadFull(c, b); err != nil {
			return nil
		}
		host = string(b)
	default:
		socksReply(c, repAddressUnsupported, nil)
		return nil
	}
	var pb [2]byte
	if _, err := io.ReadFull(c, pb[:]); err != nil {
		return nil
	}
	port := int(binary.BigEndian.Uint16(pb[:]))
	if req[1] != socksConnect {
		// BIND and UDP ASSOCIATE are not served.
		socksReply(c, repCommandUnsupported, nil)
		return nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.HandshakeTimeout)
	defer cancel()
	dec, t, err := p.check(ctx, "socks5", c.RemoteAddr().String(), host, port, ir.MethodSOCKS5)
	switch {
	case err != nil:
		socksReply(c, repHostUnreachable, nil)
		return nil
	case !dec.Allowed:
		socksReply(c, repNotAllowed, nil)
		return nil
	}
	up, err := p.connect(ctx, t)
	if err != nil {
		code := byte(repHostUnreachable)
		if errors.Is(err, syscall.ECONNREFUSED) {
			code = repConnectionRefused
		}
		socksReply(c, code, nil)
		return nil
	}
	if err := socksReply(c, repSucceeded, up.LocalAddr()); err != nil {
		up.Close()
		return nil
	}
	c.SetDeadline(time.Time{})
	return up
}

// socksReply writes a reply with the bound address (zero when unknown).
func socksReply(c net.Conn, code byte, bound net.Addr) error {
	ap := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	if ta, ok := bound.(*net.TCPAddr); ok {
		ap = ta.AddrPort()
	}
	a := ap.Addr().Unmap()
	b := []byte{socksVersion, code, 0}
	if a.Is4() {
		v := a.As4()
		b = append(append(b, atypIPv4), v[:]...)
	} else {
		v := a.As16()
		b = append(append(b, atypIPv6), v[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, ap.Port())
	if _, err := c.Write(b); err != nil {
		return fmt.Errorf("socks5 reply: %w", err)
	}
	return nil
}
