// Package turntest runs a TURN server (pion/turn) on loopback UDP for tests:
// relayed addresses on 127.0.0.1, TURN REST credentials checked against a
// shared secret as Prosody's mod_external_services and mod_turn_external
// compute them (see Credentials), and counts of what it did, so that a
// test can say that its media went through the relay.
package turntest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
)

// Realm is the realm the server gives in its 401 challenges. The TURN REST
// scheme does not use it for the password, only for the key of the
// long-term credential (RFC 8489 §9.2).
const Realm = "jmi.test"

// Options configure a server. The zero Options work, with a fixed secret.
type Options struct {
	// Secret is the shared secret of the TURN REST credentials (Prosody's
	// turn_external_secret); default "turntest-secret".
	Secret string
	// Log receives pion's log lines (warnings and errors), nil none.
	Log io.Writer
}

// Server is a running TURN server.
type Server struct {
	// Host and Port are where it listens for TURN over UDP: 127.0.0.1 and
	// a port the kernel chose.
	Host string
	Port int
	// Secret is the shared secret of the credentials it accepts.
	Secret string

	srv  *turn.Server
	conn *trackedConn

	mu           sync.Mutex
	allocations  int // created, ever
	authFailures int
	relayed      []string
	changed      chan struct{} // closed and replaced at every count's change
	wg           sync.WaitGroup
	closed       bool
}

// Start starts a server on a free UDP port of 127.0.0.1. The kernel picks
// the port as it binds (net.ListenPacket on port 0), so unlike the TCP
// servers of the tests no other process can take it in between.
func Start(opts Options) (*Server, error) {
	if opts.Secret == "" {
		opts.Secret = "turntest-secret"
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("turntest: listening: %w", err)
	}
	s := &Server{
		Host:    "127.0.0.1",
		Port:    pc.LocalAddr().(*net.UDPAddr).Port,
		Secret:  opts.Secret,
		changed: make(chan struct{}),
	}
	s.conn = s.track(pc)
	factory := logging.NewDefaultLoggerFactory()
	factory.DefaultLogLevel = logging.LogLevelDisabled
	if opts.Log != nil {
		factory.DefaultLogLevel = logging.LogLevelWarn
		factory.Writer = opts.Log
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: Realm,
		// Prosody's formula (Credentials) is the TURN REST one that
		// pion checks: username "EXPIRES:USER", password
		// base64(HMAC-SHA1(secret, username)), refused once expired.
		AuthHandler: s.countRefused(turn.LongTermTURNRESTAuthHandler(opts.Secret, factory.NewLogger("turn-auth"))),
		EventHandler: turn.EventHandler{
			OnAuth:              s.onAuth,
			OnAllocationCreated: s.onAllocation,
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            s.conn,
			RelayAddressGenerator: &relayGenerator{s: s, inner: &turn.RelayAddressGeneratorStatic{RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"}},
		}},
		LoggerFactory: factory,
	})
	if err != nil {
		s.conn.Close() // never read: its Close ends the wait
		return nil, fmt.Errorf("turntest: %w", err)
	}
	s.srv = srv
	return s, nil
}

// New starts a server for a test and closes it when the test ends; its
// warnings go to the test's log.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Log == nil {
		opts.Log = testWriter{t}
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the TURN server: %v", err)
		}
	})
	return s
}

// Addr returns "127.0.0.1:PORT".
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Allocations returns how many allocations the server has made since it
// started (each relayed candidate a client gathered is one).
func (s *Server) Allocations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allocations
}

// Relayed returns the relayed addresses it allocated, in order.
func (s *Server) Relayed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.relayed...)
}

// AuthFailures returns how many requests it refused for their credentials
// (a wrong password or an expired username; not the first, unauthenticated
// request of every allocation, which is answered with a challenge).
func (s *Server) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFailures
}

// Wait returns once ok holds of the server (checked at every change of its
// counts), or fails after timeout.
func (s *Server) Wait(timeout time.Duration, ok func(*Server) bool) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if ok(s) {
			return nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("turntest: not within %s: %d allocations, %d refused", timeout, s.Allocations(), s.AuthFailures())
		}
	}
}

// onAuth counts the requests whose message integrity failed: a password
// made with another secret. pion tells OnAuth of those only.
func (s *Server) onAuth(_, _ net.Addr, _, _, _, _ string, verdict bool) {
	if !verdict {
		s.refused()
	}
}

// countRefused counts the usernames h refuses (an expired or malformed
// one), which pion does not tell OnAuth of.
func (s *Server) countRefused(h turn.AuthHandler) turn.AuthHandler {
	return func(ra *turn.RequestAttributes) (string, []byte, bool) {
		user, key, ok := h(ra)
		if !ok {
			s.refused()
		}
		return user, key, ok
	}
}

func (s *Server) refused() {
	s.mu.Lock()
	s.authFailures++
	s.notify()
	s.mu.Unlock()
}

func (s *Server) onAllocation(_, _ net.Addr, _, _, _ string, relayAddr net.Addr, _ int) {
	s.mu.Lock()
	s.allocations++
	s.relayed = append(s.relayed, relayAddr.String())
	s.notify()
	s.mu.Unlock()
}

// notify wakes the waiters; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Close stops the server and returns once its goroutines have: pion's
// Server.Close only closes the sockets, so the server's read loop and the
// read loop of every allocation are tracked through their sockets (each
// returns when its socket's read fails).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.srv.Close()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		return errors.Join(err, errors.New("turntest: the server's goroutines did not end within 10 s"))
	}
	return err
}

// Credentials returns the TURN REST credentials Prosody 0.12's
// mod_external_services gives for a service with a secret (its
// behave_turn_rest_credentials): username "EXPIRES" or "EXPIRES:USER", the
// expiry in Unix seconds, and password base64(HMAC-SHA1(secret, username)).
func Credentials(secret, user string, expires time.Time) (username, password string) {
	username = strconv.FormatInt(expires.Unix(), 10)
	if user != "" {
		username += ":" + user
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// relayGenerator makes the relayed sockets on 127.0.0.1 and tracks them.
type relayGenerator struct {
	s     *Server
	inner *turn.RelayAddressGeneratorStatic
}

func (g *relayGenerator) Validate() error { return g.inner.Validate() }

func (g *relayGenerator) AllocatePacketConn(c turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	pc, addr, err := g.inner.AllocatePacketConn(c)
	if err != nil {
		return nil, nil, err
	}
	return g.s.track(pc), addr, nil
}

func (g *relayGenerator) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errors.New("turntest: TURN over TCP is not served")
}

func (g *relayGenerator) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errors.New("turntest: TURN over TCP is not served")
}

// track wraps pc so that Close can wait for the goroutine that reads it.
func (s *Server) track(pc net.PacketConn) *trackedConn {
	s.wg.Add(1)
	return &trackedConn{PacketConn: pc, done: s.wg.Done}
}

// trackedConn is a socket whose reader is waited for: it is done once it
// is closed and no read is under way (a read that fails because the
// socket was closed ends its goroutine's loop in pion; a socket closed
// before anything read it, as pion does when an allocation fails half-way,
// is done at its Close).
type trackedConn struct {
	net.PacketConn
	mu      sync.Mutex
	reading int
	closed  bool
	once    sync.Once
	done    func()
}

func (c *trackedConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	c.reading++
	c.mu.Unlock()
	n, addr, err := c.PacketConn.ReadFrom(p)
	c.mu.Lock()
	c.reading--
	if err != nil && errors.Is(err, net.ErrClosed) {
		c.closed = true
	}
	finished := c.closed && c.reading == 0
	c.mu.Unlock()
	if finished {
		c.once.Do(c.done)
	}
	return n, addr, err
}

func (c *trackedConn) Close() error {
	err := c.PacketConn.Close()
	c.mu.Lock()
	c.closed = true
	finished := c.reading == 0
	c.mu.Unlock()
	if finished {
		c.once.Do(c.done)
	}
	return err
}

// testWriter writes pion's log lines to a test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("turn: %s", p)
	return len(p), nil
}
