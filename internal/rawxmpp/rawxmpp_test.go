package rawxmpp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/internal/rawxmpp"
	"mellium.im/xmpp/jid"
)

func dial(t *testing.T, srv *prosodytest.Server, user, resource string) *rawxmpp.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rawxmpp.Dial(ctx, rawxmpp.Config{Addr: srv.Addr, Domain: srv.Domain, User: user, Password: prosodytest.Password(user), Resource: resource})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestUnparsableResource: Prosody binds a resource that mellium's PRECIS
// refuses, and stanzas flow both ways, raw.
func TestUnparsableResource(t *testing.T) {
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "mallory", "juliet")
	mallory := dial(t, srv, "mallory", "evil\u1100")
	juliet := dial(t, srv, "juliet", "phone")
	if want := "mallory@" + srv.Domain + "/evil\u1100"; mallory.JID() != want {
		t.Fatalf("bound %q, want %q", mallory.JID(), want)
	}
	if _, err := jid.Parse(mallory.JID()); err == nil {
		t.Fatalf("mellium parses %q: the resource no longer tests what it should", mallory.JID())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := juliet.Len()
	if err := mallory.Send(`<message to='` + juliet.JID() + `' type='chat' id='m1'><body>a &lt;b&gt;</body></message>`); err != nil {
		t.Fatal(err)
	}
	st, err := juliet.WaitAfter(ctx, before, func(s rawxmpp.Stanza) bool { return s.Name == "message" && s.ID() == "m1" })
	if err != nil {
		t.Fatal(err)
	}
	if st.From() != mallory.JID() || !strings.Contains(st.Raw, "a &lt;b&gt;") || !strings.HasPrefix(st.Raw, "<message") || !strings.HasSuffix(st.Raw, "</message>") {
		t.Errorf("received %+v", st)
	}
	// An IQ round trip to the server.
	res, err := mallory.IQ(ctx, "p1", `<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if err != nil || res.Type() != "result" {
		t.Errorf("ping: %+v %v", res, err)
	}
	if got := len(juliet.Since(before)); got != 1 {
		t.Errorf("juliet received %d stanzas, want 1: %+v", got, juliet.Since(before))
	}
}

// TestWaitDeadline: Wait gives up at the context's deadline.
func TestWaitDeadline(t *testing.T) {
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "mallory")
	c := dial(t, srv, "mallory", "")
	if !strings.HasPrefix(c.JID(), "mallory@"+srv.Domain+"/") {
		t.Errorf("bound %q", c.JID())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Wait(ctx, rawxmpp.Contains("never")); err == nil {
		t.Error("Wait returned without a match")
	}
}

// TestBadPassword: a refused login is an error that names it.
func TestBadPassword(t *testing.T) {
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "mallory")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := rawxmpp.Dial(ctx, rawxmpp.Config{Addr: srv.Addr, Domain: srv.Domain, User: "mallory", Password: "wrong"})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("got %v", err)
	}
}
