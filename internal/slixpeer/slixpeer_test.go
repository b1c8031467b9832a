package slixpeer_test

import (
	"context"
	"strings"
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

// TestRoles runs each callee role against a slixmpp caller and checks what
// each side sends and gets, in order.
func TestRoles(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	callee := "juliet@" + s.Domain + "/phone"
	tests := []struct {
		name                   string
		calleeRole, callerRole string
		callerArgs             []string
		caller, callee         []string
	}{
		{"answer", "answer", "call", []string{callee}, []string{"sent propose", "got proceed"}, []string{"got propose", "sent proceed"}},
		{"reject", "reject", "call", []string{callee}, []string{"sent propose", "got reject"}, []string{"got propose", "sent reject"}},
		{"retract", "listen", "call-retract", []string{callee, "0.3"}, []string{"sent propose", "sent retract"}, []string{"got propose", "got retract"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := slixpeer.Start(ctx, slixpeer.Options{JID: callee, Password: prosodytest.Password("juliet"), Server: s.Addr, CAFile: s.CAFile, Role: tt.calleeRole, Timeout: 20})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Stop()
			waitReady(t, j)
			r, err := slixpeer.Start(ctx, slixpeer.Options{JID: "romeo@" + s.Domain + "/laptop", Password: prosodytest.Password("romeo"),
				Server: s.Addr, CAFile: s.CAFile, Role: tt.callerRole, Args: tt.callerArgs, Timeout: 20})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Stop()
			waitReady(t, r)
			expect(t, "caller", r, tt.caller)
			expect(t, "callee", j, tt.callee)
		})
	}
}

// newServer starts a private Prosody with the accounts romeo and juliet
// (passwords from prosodytest.Password), for a test that needs slixmpp.
func newServer(t *testing.T) *prosodytest.Server {
	t.Helper()
	slixpeer.Require(t)
	return prosodytest.NewWithUsers(t, prosodytest.Options{}, "romeo", "juliet")
}

func waitReady(t *testing.T, p *slixpeer.Peer) {
	t.Helper()
	if l := next(t, p); l.Ready == "" {
		t.Fatalf("first line %+v, want ready", l)
	}
}

// expect reads lines and checks they are want, in order, all of one session.
func expect(t *testing.T, who string, p *slixpeer.Peer, want []string) {
	t.Helper()
	var id string
	for _, w := range want {
		l := next(t, p)
		got := "got " + l.Got
		if l.Sent != "" {
			got = "sent " + l.Sent
		}
		if got != w || (id != "" && l.ID != id) {
			t.Fatalf("%s: %+v, want %s of session %q", who, l, w, id)
		}
		id = l.ID
	}
}

// TestWatch: a watch peer reports another device of its account coming
// online and going offline, and with its priority of -1 a propose to the
// account's bare JID reaches the other device and not the watcher.
func TestWatch(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := func(o slixpeer.Options) *slixpeer.Peer {
		t.Helper()
		user, _, _ := strings.Cut(o.JID, "@")
		o.Password, o.Server, o.CAFile, o.Timeout = prosodytest.Password(user), s.Addr, s.CAFile, 20
		p, err := slixpeer.Start(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		return p
	}
	juliet := "juliet@" + s.Domain
	watch := start(slixpeer.Options{JID: juliet + "/watch", Role: "watch"})
	waitReady(t, watch)
	// The phone ends after its ready line and the propose it gets.
	phone := start(slixpeer.Options{JID: juliet + "/phone", Role: "listen", Events: 2})
	waitReady(t, phone)
	if l := next(t, watch); l.Online != juliet+"/phone" {
		t.Fatalf("watch: %+v, want online %s/phone", l, juliet)
	}
	romeo := start(slixpeer.Options{JID: "romeo@" + s.Domain + "/laptop", Role: "call", Args: []string{juliet}, Events: 2})
	waitReady(t, romeo)
	expect(t, "caller", romeo, []string{"sent propose"})
	expect(t, "phone", phone, []string{"got propose"})
	// The phone leaves; the watcher saw nothing between.
	if l := next(t, watch); l.Offline != juliet+"/phone" {
		t.Fatalf("watch: %+v, want offline %s/phone", l, juliet)
	}
}
