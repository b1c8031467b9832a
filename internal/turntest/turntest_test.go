package turntest

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/pion/turn/v5"
)

// TestCredentials checks the formula against a value computed outside Go
// (printf '1764640800:juliet' | openssl dgst -sha1 -hmac s3cret -binary |
// base64), and the username without a user, as Prosody writes it.
func TestCredentials(t *testing.T) {
	expires := time.Unix(1764640800, 0)
	u, p := Credentials("s3cret", "juliet", expires)
	if u != "1764640800:juliet" || p != "EBDYbFfOZuF+G8wPit8HUYppcRc=" {
		t.Errorf("Credentials = %q, %q", u, p)
	}
	if u, _ := Credentials("s3cret", "", expires); u != "1764640800" {
		t.Errorf("username without a user = %q, want the expiry alone", u)
	}
}

// allocate asks srv for an allocation with username and password through
// pion's TURN client, and returns the relayed address or the error.
func allocate(t *testing.T, srv *Server, username, password string) (net.Addr, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: srv.Addr(), TURNServerAddr: srv.Addr(),
		Username: username, Password: password, Realm: Realm, Conn: conn,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		return nil, err
	}
	defer relay.Close()
	return relay.LocalAddr(), nil
}

// TestServer: credentials made with the server's secret get an
// allocation on 127.0.0.1, counted; another secret, or an expired
// username, is refused and counted; after Close no goroutine of the
// server is left.
func TestServer(t *testing.T) {
	before := runtime.NumGoroutine()
	srv, err := Start(Options{Secret: "s3cret", Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	u, p := Credentials("s3cret", "juliet", time.Now().Add(time.Hour))
	addr, err := allocate(t, srv, u, p)
	if err != nil {
		t.Fatalf("allocation with the right credentials: %v", err)
	}
	if ua, ok := addr.(*net.UDPAddr); !ok || !ua.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("relayed address %v, want one on 127.0.0.1", addr)
	}
	if srv.Allocations() != 1 || len(srv.Relayed()) != 1 {
		t.Errorf("%d allocations %v, want 1", srv.Allocations(), srv.Relayed())
	}

	u, p = Credentials("another", "juliet", time.Now().Add(time.Hour))
	if _, err := allocate(t, srv, u, p); err == nil {
		t.Error("allocation with another secret's credentials: no error")
	}
	u, p = Credentials("s3cret", "juliet", time.Now().Add(-time.Minute))
	if _, err := allocate(t, srv, u, p); err == nil {
		t.Error("allocation with expired credentials: no error")
	}
	if err := srv.Wait(5*time.Second, func(s *Server) bool { return s.AuthFailures() >= 2 }); err != nil {
		t.Error(err)
	}
	if srv.Allocations() != 1 {
		t.Errorf("%d allocations after the refusals, want 1", srv.Allocations())
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// pion's client may still have a retransmission timer running for a
	// moment; the server's own goroutines have returned when Close did.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.After(5 * time.Second); runtime.NumGoroutine() > before; {
		select {
		case <-tick.C:
			continue
		case <-deadline:
		}
		break
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
