package prosodytest_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/prosodytest"
)

// TestStartRegisterRestart starts a server, registers an account, checks that
// it speaks XMPP on its port, and that it comes back after a restart.
func TestStartRegisterRestart(t *testing.T) {
	s := prosodytest.New(t, prosodytest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Register(ctx, "juliet", "secret"); err != nil {
		t.Fatal(err)
	}
	greet(t, s)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	greet(t, s)
}

// greet opens a stream and expects a stream header with STARTTLS offered.
func greet(t *testing.T, s *prosodytest.Server) {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Write([]byte(`<?xml version='1.0'?><stream:stream to='` + s.Domain + `' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`))
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	var got strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(got.String(), "</stream:features>") {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("reading features: %v (got %q)", err, got.String())
		}
		got.Write(buf[:n])
	}
	if !strings.Contains(got.String(), "starttls") {
		t.Errorf("features without starttls: %s", got.String())
	}
}

// TestFixedPort: Options.Port makes the server listen there, and a port
// already taken gives ErrPortInUse instead of a server without c2s.
func TestFixedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if s, err := prosodytest.Start(ctx, prosodytest.Options{Port: port}); !errors.Is(err, prosodytest.ErrPortInUse) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Start on a taken port: %v, want ErrPortInUse", err)
	}
	l.Close()
	s := prosodytest.New(t, prosodytest.Options{Port: port})
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(port)); s.Addr != want {
		t.Errorf("Addr %s, want %s", s.Addr, want)
	}
	greet(t, s)
}
