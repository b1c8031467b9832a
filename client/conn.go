package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/jmi-xmpp/jmi/internal/xmppfix"
	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/dial"
	"mellium.im/xmpp/jid"
)

// TLSMode says how the connection to the server is secured.
type TLSMode uint8

// The TLS modes. The zero TLSMode is StartTLS.
const (
	// StartTLS upgrades a plain connection with STARTTLS (RFC 6120 §5).
	StartTLS TLSMode = iota
	// DirectTLS speaks TLS from the first byte (XEP-0368).
	DirectTLS
	// Plaintext uses no encryption. It is allowed only to a loopback address
	// (a private test server); anything else is refused.
	Plaintext
)

// String returns "starttls", "direct" or "none", the names the jmi command
// uses for --tls.
func (m TLSMode) String() string {
	switch m {
	case StartTLS:
		return "starttls"
	case DirectTLS:
		return "direct"
	case Plaintext:
		return "none"
	}
	return "unknown"
}

// ParseTLSMode reads "starttls", "direct" or "none".
func ParseTLSMode(s string) (TLSMode, error) {
	switch s {
	case "", "starttls":
		return StartTLS, nil
	case "direct", "tls":
		return DirectTLS, nil
	case "none", "plain", "plaintext":
		return Plaintext, nil
	}
	return 0, fmt.Errorf("client: unknown TLS mode %q (want starttls, direct or none)", s)
}

// ErrPlaintextNotLoopback is returned when Plaintext is asked for a server
// that is not on a loopback address: passwords never cross a network in the
// clear.
var ErrPlaintextNotLoopback = errors.New("client: plaintext is allowed only to a loopback address")

// dialSession connects, secures, authenticates and binds the resource of
// addr, returning a session ready for stanzas (no presence sent yet).
func dialSession(ctx context.Context, addr jid.JID, password, server string, mode TLSMode, caFile string) (*xmpp.Session, error) {
	return dialSessionWith(ctx, addr, password, server, mode, caFile, dialTuning{})
}

// dialTuning holds what tests change in a login.
type dialTuning struct {
	// maxTLS caps the TLS version (0: the default, TLS 1.3).
	maxTLS uint16
	// chosen is told the SASL mechanism picked.
	chosen func(xmppfix.Choice)
}

func dialSessionWith(ctx context.Context, addr jid.JID, password, server string, mode TLSMode, caFile string, tune dialTuning) (*xmpp.Session, error) {
	tlsCfg, err := tlsConfig(addr.Domainpart(), caFile)
	if err != nil {
		return nil, err
	}
	tlsCfg.MaxVersion = tune.maxTLS
	var conn net.Conn
	switch {
	case server != "":
		if mode == Plaintext && !isLoopback(ctx, server) {
			return nil, ErrPlaintextNotLoopback
		}
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", server)
		if err == nil && mode == DirectTLS {
			tc := tls.Client(conn, tlsCfg)
			if err = tc.HandshakeContext(ctx); err != nil {
				conn.Close()
			}
			conn = tc
		}
	case mode == Plaintext:
		return nil, fmt.Errorf("%w: name the server with host:port", ErrPlaintextNotLoopback)
	default:
		d := dial.Dialer{NoLookup: false, NoTLS: mode != DirectTLS, TLSConfig: tlsCfg}
		conn, err = d.Dial(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("client: connecting to %s: %w", serverName(addr, server), err)
	}
	mechs := []sasl.Mechanism{sasl.ScramSha256Plus, sasl.ScramSha1Plus, sasl.ScramSha256, sasl.ScramSha1}
	features := []xmpp.StreamFeature{}
	var state xmpp.SessionState
	switch mode {
	case StartTLS:
		features = append(features, xmpp.StartTLS(tlsCfg))
	case DirectTLS:
		state = xmpp.Secure
	case Plaintext:
		// mellium refuses SASL on a stream it does not think is secure; the
		// loopback check above is what makes this acceptable.
		state = xmpp.Secure
		mechs = []sasl.Mechanism{sasl.ScramSha256, sasl.ScramSha1}
	}
	// SCRAM with channel binding where both sides are known to support the
	// same binding, else SCRAM without it; never PLAIN (xmppfix.Choose).
	features = append(features, xmppfix.ChannelBindings(), xmppfix.SASL("", password, tune.chosen, mechs...), xmppfix.BindResource())
	// Negotiate with a context that is never cancelled, and enforce ctx by
	// closing the connection: mellium v0.22.0 leaves a goroutine that sets
	// the connection's deadline in the past if the context it was given is
	// cancelled later, which would break the session after Dial returned.
	negotiated := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			conn.Close()
		case <-negotiated:
		}
	}()
	s, err := xmpp.NewSession(context.Background(), addr.Domain(), addr, conn, state, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: features}
	}))
	close(negotiated)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("client: logging in as %s: %w", addr, err)
	}
	return s, nil
}

func serverName(addr jid.JID, server string) string {
	if server != "" {
		return server
	}
	return addr.Domainpart()
}

// tlsConfig verifies the server as domain against the system roots, or
// against caFile alone when it is given.
func tlsConfig(domain, caFile string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: domain, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("client: reading the CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("client: no certificate in the CA file %s", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// isLoopback reports whether every address host:port resolves to is a
// loopback address.
func isLoopback(ctx context.Context, hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return false
		}
	}
	return true
}
