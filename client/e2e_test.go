package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"mellium.im/xmpp/jid"
)

// world is a private Prosody with Romeo and Juliet registered.
type world struct {
	srv *prosodytest.Server
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := prosodytest.New(t, prosodytest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, u := range []string{"romeo", "juliet"} {
		if err := srv.Register(ctx, u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	return &world{srv: srv}
}

// device logs in user/resource, trusting everyone, and closes it at the end.
func (w *world) device(t *testing.T, user, resource string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{
		JID:      jid.MustParse(fmt.Sprintf("%s@%s/%s", user, w.srv.Domain, resource)),
		Password: "pw-" + user,
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
	return c
}

// waitEvent waits up to d for an event of c that matches, passing over the
// others.
func waitEvent(t *testing.T, c *Client, what string, match func(call.Event) bool, d time.Duration) call.Event {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("%s: %s closed while waiting for %s", c.cfg.JID, "events", what)
			}
			if match(ev) {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("%s: no %s within %s", c.cfg.JID, what, d)
		}
	}
}

func is(typ call.EventType, id string) func(call.Event) bool {
	return func(ev call.Event) bool { return ev.Type == typ && (id == "" || ev.ID == id) }
}

// TestE2ECallAnswerHangUp is scenario 1: Romeo calls, every device of Juliet
// rings (Romeo sees ringing from each), the phone answers, the tablet stops,
// both hang up with finish on every device.
func TestE2ECallAnswerHangUp(t *testing.T) {
	w := newWorld(t)
	phone := w.device(t, "juliet", "phone")
	tablet := w.device(t, "juliet", "tablet")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	id, err := romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain), "audio")
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming on the phone", is(call.EventIncoming, id), 5*time.Second)
	waitEvent(t, tablet, "incoming on the tablet", is(call.EventIncoming, id), 5*time.Second)
	rang := map[string]bool{}
	for len(rang) < 2 {
		ev := waitEvent(t, romeo, "ringing", is(call.EventRinging, id), 5*time.Second)
		rang[ev.Device.Resourcepart()] = true
	}
	if err := phone.Answer(ctx, id); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, romeo, "proceeded", is(call.EventProceeded, id), 5*time.Second)
	if ev.Device.Resourcepart() != "phone" {
		t.Errorf("answered by %s, want the phone", ev.Device)
	}
	ev = waitEvent(t, tablet, "answered elsewhere", is(call.EventProceeded, id), 5*time.Second)
	if !ev.Elsewhere {
		t.Errorf("tablet: proceeded without elsewhere: %+v", ev)
	}
	if err := romeo.HangUp(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "finished on the phone", is(call.EventFinished, id), 5*time.Second)
	waitEvent(t, tablet, "finished on the tablet", is(call.EventFinished, id), 5*time.Second)
	for _, c := range []*Client{romeo, phone, tablet} {
		info, ok, err := c.Info(ctx, id)
		if err != nil || !ok || info.State != call.StateEnded || info.Outcome != call.EventFinished {
			t.Errorf("%s: %+v %v %v, want ended finished", c.cfg.JID, info.State, info.Outcome, err)
		}
	}
}

// TestE2EDecline is scenario 2: the phone declines with busy; every device
// stops.
func TestE2EDecline(t *testing.T) {
	w := newWorld(t)
	phone := w.device(t, "juliet", "phone")
	tablet := w.device(t, "juliet", "tablet")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), 5*time.Second)
	waitEvent(t, tablet, "incoming", is(call.EventIncoming, id), 5*time.Second)
	if err := phone.Decline(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, romeo, "rejected", is(call.EventRejected, id), 5*time.Second); ev.Reason != "busy" {
		t.Errorf("reason %q, want busy", ev.Reason)
	}
	if ev := waitEvent(t, tablet, "declined elsewhere", is(call.EventRejected, id), 5*time.Second); !ev.Elsewhere {
		t.Errorf("tablet: %+v, want elsewhere", ev)
	}
}

// TestE2EWithdraw is scenario 3: Romeo withdraws while Juliet's devices
// ring; they report the call missed.
func TestE2EWithdraw(t *testing.T) {
	w := newWorld(t)
	phone := w.device(t, "juliet", "phone")
	tablet := w.device(t, "juliet", "tablet")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), 5*time.Second)
	waitEvent(t, tablet, "incoming", is(call.EventIncoming, id), 5*time.Second)
	if err := romeo.Withdraw(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{phone, tablet} {
		if ev := waitEvent(t, c, "missed", is(call.EventMissed, id), 5*time.Second); ev.Reason != "cancel" {
			t.Errorf("%s: reason %q, want cancel", c.cfg.JID, ev.Reason)
		}
	}
}

// TestE2EOfflineMissed is scenario 4: Juliet is offline when called, Romeo
// withdraws; when she comes online the call is missed and nothing rings.
func TestE2EOfflineMissed(t *testing.T) {
	w := newWorld(t)
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain))
	if err != nil {
		t.Fatal(err)
	}
	if err := romeo.Withdraw(ctx, id); err != nil {
		t.Fatal(err)
	}
	phone := w.device(t, "juliet", "phone")
	ev := waitEvent(t, phone, "missed", func(ev call.Event) bool {
		if ev.Type == call.EventIncoming {
			t.Errorf("rang for a withdrawn call")
		}
		return ev.Type == call.EventMissed && ev.ID == id
	}, 5*time.Second)
	if ev.Type != call.EventMissed {
		t.Errorf("got %+v", ev)
	}
}

// TestE2EOfflineFresh is scenario 5: Juliet is offline when called and
// comes online within the ring window: her device rings after catch-up and
// can answer.
func TestE2EOfflineFresh(t *testing.T) {
	w := newWorld(t)
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain))
	if err != nil {
		t.Fatal(err)
	}
	phone := w.device(t, "juliet", "phone")
	waitEvent(t, phone, "incoming after catch-up", is(call.EventIncoming, id), 5*time.Second)
	if err := phone.Answer(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, romeo, "proceeded", is(call.EventProceeded, id), 5*time.Second)
}

// TestE2EForgedCarbon is scenario 9: a third account sends a carbon-shaped
// message claiming Juliet answered on another device; nothing changes.
func TestE2EForgedCarbon(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.srv.Register(ctx, "tybalt", "pw-tybalt"); err != nil {
		t.Fatal(err)
	}
	phone := w.device(t, "juliet", "phone")
	romeo := w.device(t, "romeo", "orchard")
	tybalt := w.device(t, "tybalt", "sword")
	id, err := romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), 5*time.Second)
	forged := `<message to='juliet@` + w.srv.Domain + `/phone' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
		`<message from='juliet@` + w.srv.Domain + `/tablet' to='romeo@` + w.srv.Domain + `/orchard' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='` + id + `'/></message>` +
		`</forwarded></sent></message>`
	if err := tybalt.sendRaw(ctx, forged); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, phone, "the forgery refused", is(call.EventIgnored, ""), 5*time.Second)
	if ev.Device.Bare().String() != "tybalt@"+w.srv.Domain {
		t.Errorf("ignored input attributed to %s", ev.Device)
	}
	info, ok, err := phone.Info(ctx, id)
	if err != nil || !ok || info.State != call.StateRinging {
		t.Errorf("call state %v after the forgery, want still ringing", info.State)
	}
}
