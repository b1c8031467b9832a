package ejabberdtest_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/ejabberdtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	ejabberdtest.CloseShared()
	os.Exit(code)
}

// TestStartRegisterRestart starts a server, registers two accounts with a
// mutual roster, checks that it speaks XMPP with STARTTLS on its port, and
// that accounts and roster are back after a restart.
func TestStartRegisterRestart(t *testing.T) {
	s := ejabberdtest.New(t, ejabberdtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	users, err := s.Users(ctx, "romeo", "juliet")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Befriend(ctx, users[0], users[1]); err != nil {
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
	roster, err := s.Roster(ctx, users[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := roster[users[1]+"@"+s.Domain]; got != "both" {
		t.Errorf("after the restart %s has %s with subscription %q (roster %v), want both", users[0], users[1], got, roster)
	}
	if err := s.Register(ctx, users[1], "again"); err == nil {
		t.Error("registered an existing account again")
	}
}

// TestSharedFreshUsers: two tests of one binary share the server and never
// get the same account.
func TestSharedFreshUsers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a := ejabberdtest.Shared(t)
	b := ejabberdtest.Shared(t)
	if a != b {
		t.Fatal("Shared started a second server")
	}
	first, err := a.Users(ctx, "juliet")
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.Users(ctx, "juliet")
	if err != nil {
		t.Fatal(err)
	}
	if first[0] == second[0] {
		t.Errorf("the same account %s twice", first[0])
	}
	greet(t, a)
}

// greet opens a stream and expects a stream header with STARTTLS offered.
func greet(t *testing.T, s *ejabberdtest.Server) {
	t.Helper()
	// Long deadlines: a loaded machine once kept ejabberd from answering
	// within 5 s.
	c, err := net.DialTimeout("tcp", s.Addr, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
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
