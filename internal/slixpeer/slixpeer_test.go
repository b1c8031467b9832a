package slixpeer_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/internal/slixpeer"
)

// next waits for the next line, with a deadline.
func next(t *testing.T, p *slixpeer.Peer) slixpeer.Line {
	t.Helper()
	select {
	case l, ok := <-p.Lines:
		if !ok {
			t.Fatal("peer exited")
		}
		return l
	case <-time.After(20 * time.Second):
		t.Fatal("no line from the peer within 20s")
	}
	return slixpeer.Line{}
}

// TestCallAnswer has one slixmpp peer call another that answers: the
// plugin's propose and proceed cross a real Prosody.
func TestCallAnswer(t *testing.T) {
	if !slixpeer.Available() {
		if os.Getenv(prosodytest.SkipEnv) == "1" {
			t.Skip(slixpeer.ErrNotInstalled)
		}
		t.Fatal(slixpeer.ErrNotInstalled)
	}
	s := prosodytest.New(t, prosodytest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	for _, u := range []string{"romeo", "juliet"} {
		if err := s.Register(ctx, u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	juliet, err := slixpeer.Start(ctx, slixpeer.Options{JID: "juliet@" + s.Domain + "/phone", Password: "pw",
		Server: s.Addr, CAFile: s.CAFile, Role: "answer", Events: 3, Timeout: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer juliet.Stop()
	if l := next(t, juliet); l.Ready == "" {
		t.Fatalf("juliet: %+v", l)
	}
	romeo, err := slixpeer.Start(ctx, slixpeer.Options{JID: "romeo@" + s.Domain + "/laptop", Password: "pw",
		Server: s.Addr, CAFile: s.CAFile, Role: "call", Args: []string{"juliet@" + s.Domain + "/phone"}, Events: 3, Timeout: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer romeo.Stop()
	if l := next(t, romeo); l.Ready == "" {
		t.Fatalf("romeo: %+v", l)
	}
	sent := next(t, romeo)
	if sent.Sent != "propose" {
		t.Fatalf("romeo: %+v", sent)
	}
	if got := next(t, juliet); got.Got != "propose" || got.ID != sent.ID {
		t.Fatalf("juliet: %+v", got)
	}
	if l := next(t, juliet); l.Sent != "proceed" {
		t.Fatalf("juliet: %+v", l)
	}
	if got := next(t, romeo); got.Got != "proceed" || got.ID != sent.ID {
		t.Fatalf("romeo: %+v", got)
	}
}
