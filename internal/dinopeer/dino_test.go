package dinopeer_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/client"
	"github.com/jmi-xmpp/jmi/internal/dinopeer"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"mellium.im/xmpp/jid"
)

// TestMain runs the tests in the private namespaces Dino needs.
func TestMain(m *testing.M) { os.Exit(dinopeer.Main(m)) }

// wait bounds every wait on Dino or jmi: generous for a loaded machine;
// each normally ends within milliseconds.
const wait = 20 * time.Second

// world is the private Prosody (localhost on 127.0.0.1:5222, as Dino finds
// it) with romeo and juliet, and Dino on juliet@localhost/dino.
type world struct {
	srv    *prosodytest.Server
	dino   *dinopeer.Dino
	romeo  *client.Client
	juliet jid.JID
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dinopeer.Require(t)
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{Port: 5222}, "romeo", "juliet")
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	start := time.Now()
	d, err := dinopeer.Start(ctx, dinopeer.Options{
		Account: "juliet@" + srv.Domain, Password: prosodytest.Password("juliet"),
		CAFile: srv.CAFile, Contacts: []string{"romeo@" + srv.Domain},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Dino online in %v", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Dino:\n%s", d.Output())
		}
		d.Close()
	})
	w := &world{srv: srv, dino: d, juliet: jid.MustParse("juliet@" + srv.Domain)}
	w.romeo = w.device(t, "romeo", "desk")
	return w
}

// device logs a jmi device in, trusting every caller, and closes it when
// the test ends.
func (w *world) device(t *testing.T, user, resource string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{
		JID:      jid.MustParse(fmt.Sprintf("%s@%s/%s", user, w.srv.Domain, resource)),
		Password: prosodytest.Password(user),
		Server:   w.srv.Addr,
		CAFile:   w.srv.CAFile,
		Trust:    func(jid.JID) bool { return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
	})
	select {
	case <-c.Ready():
	case <-ctx.Done():
		t.Fatalf("%s: catch-up did not end", c.Account())
	}
	return c
}

// waitEvent waits for an event of c that matches, passing over others.
func waitEvent(t *testing.T, c *client.Client, what string, match func(call.Event) bool) call.Event {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("%s: events closed while waiting for %s", c.Account(), what)
			}
			if match(ev) {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("%s: no %s within %v", c.Account(), what, wait)
		}
	}
}

func is(typ call.EventType, id string) func(call.Event) bool {
	return func(ev call.Event) bool { return ev.Type == typ && ev.ID == id }
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// ringing waits for Dino's call notification for the caller.
func ringing(t *testing.T, d *dinopeer.Dino, from int, caller string) dinopeer.Notice {
	t.Helper()
	n, _, err := d.WaitNotice(ctxFor(t), from, "call notification", func(n dinopeer.Notice) bool {
		return n.Kind == dinopeer.NoticeShown && n.HasAction("accept") && n.HasAction("reject")
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = caller
	return n
}

// jmiOf returns the JMI element of a message (directly in it, not in a
// carbon), or nil.
func jmiOf(s dinopeer.Stanza) *dinopeer.Element {
	if s.Name != "message" {
		return nil
	}
	return s.Child(jmi.NS, "")
}

func TestExplore(t *testing.T) {
	w := newWorld(t)
	d := w.dino
	ctx := ctxFor(t)
	notes, log := d.Notices(), d.Stanzas()
	h, err := w.romeo.Call(ctx, w.juliet, "audio")
	if err != nil {
		t.Fatal(err)
	}
	n := ringing(t, d, notes, "romeo")
	t.Logf("%v", n)
	if err := d.Click(n.ID, "accept"); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, w.romeo, "proceeded", is(call.EventProceeded, h.ID()))
	t.Logf("%+v", ev)
	for _, s := range d.StanzasSince(log) {
		if s.Name == "message" || s.Name == "iq" {
			t.Logf("%v", s)
		}
	}
	for _, n := range d.NoticesSince(notes) {
		t.Logf("%v", n)
	}
	_ = strings.Contains
}
