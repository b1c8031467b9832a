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

// wait bounds every wait on Dino or jmi: generous, for the two cores
// loaded by other jobs (then Dino took up to 40 s to start, and more than
// 20 s to answer its first call); each normally ends within milliseconds.
const wait = 60 * time.Second

// startWait bounds a start of Dino: about 2 s on an idle machine.
const startWait = 2 * wait

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
	ctx, cancel := context.WithTimeout(context.Background(), startWait)
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
	return w.deviceWith(t, user, resource, call.Config{})
}

// deviceWith is device with an engine configuration.
func (w *world) deviceWith(t *testing.T, user, resource string, engine call.Config) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{
		JID:      jid.MustParse(fmt.Sprintf("%s@%s/%s", user, w.srv.Domain, resource)),
		Password: prosodytest.Password(user),
		Server:   w.srv.Addr,
		CAFile:   w.srv.CAFile,
		Trust:    func(jid.JID) bool { return true },
		Engine:   engine,
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

func ctxFor(t *testing.T) context.Context { return ctxWithin(t, wait) }

func ctxWithin(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// collect reads events of c until one matches, and returns all it read
// (the match last), passing over nothing: the caller checks what came
// before.
func collect(t *testing.T, c *client.Client, what string, match func(call.Event) bool) []call.Event {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	var got []call.Event
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("%s: events closed while waiting for %s", c.Account(), what)
			}
			got = append(got, ev)
			if match(ev) {
				return got
			}
		case <-deadline.C:
			t.Fatalf("%s: no %s within %v (got %+v)", c.Account(), what, wait, got)
		}
	}
}

// ringing waits for Dino's call notification: summary the caller's bare
// JID, body "Incoming call", actions accept and reject.
func ringing(t *testing.T, d *dinopeer.Dino, from int, caller string) dinopeer.Notice {
	t.Helper()
	n, _, err := d.WaitNotice(ctxFor(t), from, "call notification", func(n dinopeer.Notice) bool {
		return n.Kind == dinopeer.NoticeShown && n.HasAction("accept") && n.HasAction("reject")
	})
	if err != nil {
		t.Fatal(err)
	}
	if n.Summary != caller || n.Body != "Incoming call" {
		t.Errorf("call notification %q %q, want %q %q", n.Summary, n.Body, caller, "Incoming call")
	}
	return n
}

// stopsRinging waits for Dino to close the notification.
func stopsRinging(t *testing.T, d *dinopeer.Dino, from int, n dinopeer.Notice) {
	t.Helper()
	_, _, err := d.WaitNotice(ctxFor(t), from, fmt.Sprintf("close of notification %d", n.ID), func(c dinopeer.Notice) bool {
		return c.Kind == dinopeer.NoticeClosed && c.ID == n.ID
	})
	if err != nil {
		t.Fatal(err)
	}
}

// jmiOf returns the JMI element of a message (directly in it, not in a
// carbon), or nil.
func jmiOf(s dinopeer.Stanza) *dinopeer.Element {
	if s.Name != "message" {
		return nil
	}
	return s.Child(jmi.NS, "")
}

// isJMI matches a message Dino sent (in false) or received (in true)
// with the JMI element kind for the call id, addressed to to ("" any).
func isJMI(in bool, kind, id, to string) func(dinopeer.Stanza) bool {
	return func(s dinopeer.Stanza) bool {
		e := jmiOf(s)
		return s.In == in && e != nil && e.Name == kind && e.Attr("id") == id && (to == "" || s.Attr("to") == to)
	}
}

// sent waits for Dino to send the JMI element kind of the call to to, and
// returns the message and the cursor after it.
func sent(t *testing.T, d *dinopeer.Dino, from int, kind, id, to string) (dinopeer.Stanza, int) {
	t.Helper()
	s, next, err := d.WaitStanza(ctxFor(t), from, fmt.Sprintf("%s of %s sent to %s", kind, id, to), isJMI(false, kind, id, to))
	if err != nil {
		t.Fatal(err)
	}
	return s, next
}

// received waits for Dino to receive the JMI element kind of the call,
// directly or in a carbon, and returns the cursor after it.
func received(t *testing.T, d *dinopeer.Dino, from int, kind, id string) int {
	t.Helper()
	_, next, err := d.WaitStanza(ctxFor(t), from, fmt.Sprintf("%s of %s received", kind, id), func(s dinopeer.Stanza) bool {
		e := s.Find(jmi.NS, kind)
		return s.In && s.Name == "message" && e != nil && e.Attr("id") == id
	})
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// sentForCall lists the messages Dino sent in the stanzas between the
// cursors that carry JMI or Jingle for the call.
func sentForCall(d *dinopeer.Dino, from, to int, id string) []string {
	var out []string
	for i, s := range d.StanzasSince(from) {
		if from+i >= to {
			break
		}
		if s.In {
			continue
		}
		if e := jmiOf(s); e != nil && e.Attr("id") == id {
			out = append(out, s.String())
		}
		if j := s.Find("urn:xmpp:jingle:1", "jingle"); j != nil && j.Attr("sid") == id {
			out = append(out, s.String())
		}
	}
	return out
}

// TestDino runs one Dino (Juliet's device) for every case, each a call
// from Romeo's jmi device, first with Dino as Juliet's only device, then
// beside a jmi device (her phone) on the same account. Dino is observed
// through its notifications (ringing: Notify; stopped: CloseNotification)
// and its stanza log; it is driven as a user clicking the notification's
// buttons. A case that leaves Dino in a call it never leaves (it waits
// for Jingle after answering) restarts it.
func TestDino(t *testing.T) {
	w := newWorld(t)
	d := w.dino
	romeoFull := w.romeo.Account().String()
	dinoFull := d.JID
	juliet := w.juliet.String()

	// call places a call from Romeo to Juliet's account and waits until
	// Dino rings; it returns the call, the notification, and the cursors
	// of the notifications and stanzas from before the call.
	call_ := func(t *testing.T) (h *client.Call, n dinopeer.Notice, notes, log int) {
		t.Helper()
		notes, log = d.Notices(), d.Stanzas()
		h, err := w.romeo.Call(ctxFor(t), w.juliet, "audio")
		if err != nil {
			t.Fatal(err)
		}
		received(t, d, log, "propose", h.ID())
		return h, ringing(t, d, notes, "romeo@"+w.srv.Domain), notes, log
	}

	t.Run("Dino answers", func(t *testing.T) {
		h, n, notes, log := call_(t)
		if err := d.Click(n.ID, "accept"); err != nil {
			t.Fatal(err)
		}
		// Dino's side first: a failure then lists what Dino sent.
		proceed, after := sent(t, d, log, "proceed", h.ID(), romeoFull)
		evs := collect(t, w.romeo, "proceeded", is(call.EventProceeded, h.ID()))
		if got := evs[len(evs)-1].Device.String(); got != dinoFull {
			t.Errorf("answered by %s, want %s", got, dinoFull)
		}
		// Dino sends nothing while it rings: no ringing reached Romeo.
		for _, ev := range evs {
			if ev.Type == call.EventRinging && ev.ID == h.ID() {
				t.Errorf("Romeo heard Dino ringing: %+v (Dino 0.4.2 sends no <ringing/>)", ev)
			}
		}
		if proceed.Find("http://gultsch.de/xmpp/drafts/omemo/dlts-srtp-verification", "device") == nil {
			t.Logf("Dino's proceed has no OMEMO <device/> now: %v", proceed)
		}
		if early := sentForCall(d, log, after-1, h.ID()); len(early) > 0 {
			// Whatever Dino sent before its proceed, it sent while ringing;
			// only the accept to its own account may come first.
			for _, s := range early {
				if !strings.Contains(s, "<accept") {
					t.Errorf("Dino sent while ringing: %s", s)
				}
			}
		}
		sent(t, d, log, "accept", h.ID(), juliet)
		stopsRinging(t, d, notes, n)

		// Romeo hangs up with <finish/>: Dino 0.4.2 ignores it, waiting for
		// Jingle, and sends nothing for the call (checked once it quit).
		if err := h.HangUp(ctxFor(t), nil); err != nil {
			t.Fatal(err)
		}
		gotFinish := received(t, d, log, "finish", h.ID())
		if err := d.Restart(ctxWithin(t, startWait)); err != nil {
			t.Fatal(err)
		}
		if late := sentForCall(d, gotFinish, d.Stanzas(), h.ID()); len(late) > 0 {
			t.Logf("Dino answered the finish (new behaviour, update INTEROP): %q", late)
		}
	})

	t.Run("Dino declines", func(t *testing.T) {
		h, n, notes, log := call_(t)
		if err := d.Click(n.ID, "reject"); err != nil {
			t.Fatal(err)
		}
		// The reject goes to Romeo's device and to Juliet's own account.
		sent(t, d, log, "reject", h.ID(), romeoFull)
		sent(t, d, log, "reject", h.ID(), juliet)
		ev := waitEvent(t, w.romeo, "rejected", is(call.EventRejected, h.ID()))
		if ev.Device.String() != dinoFull {
			t.Errorf("declined by %s, want %s", ev.Device, dinoFull)
		}
		stopsRinging(t, d, notes, n)
	})

	t.Run("jmi withdraws", func(t *testing.T) {
		h, n, notes, log := call_(t)
		if err := h.Withdraw(ctxFor(t), nil); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, w.romeo, "retracted", is(call.EventRetracted, h.ID()))
		received(t, d, log, "retract", h.ID())
		stopsRinging(t, d, notes, n)
	})

	// Dino calls. It offers a call only to a device that advertises
	// Jingle audio, which jmi does not yet (see MEDIA.md's successor in
	// the README): a bare session on Romeo's account advertises it for
	// the account and answers nothing, so that Dino shows its call button
	// and proposes to Romeo's bare JID, which reaches his jmi device.
	standin := startAdvertiser(t, w.srv.Addr, "romeo", w.srv.Domain, prosodytest.Password("romeo"), "standin", dinoFull)
	romeoBare := "romeo@" + w.srv.Domain
	dinoCalls := func(t *testing.T) (id string, log int) {
		t.Helper()
		if err := d.OpenConversation(ctxFor(t), 0); err != nil {
			t.Fatal(err)
		}
		log = d.Stanzas()
		propose, err := d.StartAudioCall(ctxWithin(t, startWait), log)
		if err != nil {
			t.Fatal(err)
		}
		id = propose.Child(jmi.NS, "propose").Attr("id")
		if propose.Attr("to") != romeoBare || propose.Attr("type") != "chat" {
			t.Errorf("Dino's propose: %v, want type chat to %s", propose, romeoBare)
		}
		if media := propose.Find("urn:xmpp:jingle:apps:rtp:1", "description").Attr("media"); media != "audio" {
			t.Errorf("Dino's propose for media %q: %v", media, propose)
		}
		ev := waitEvent(t, w.romeo, "incoming call from Dino", is(call.EventIncoming, id))
		if ev.Peer.String() != juliet {
			t.Errorf("incoming from %s, want %s", ev.Peer, juliet)
		}
		return id, log
	}
	// restart ends Dino's call (and its call window) and tells the new
	// Dino again what Romeo's account can do.
	restart := func(t *testing.T) {
		t.Helper()
		if err := d.Restart(ctxWithin(t, startWait)); err != nil {
			t.Fatal(err)
		}
		standin.announce(t)
	}

	t.Run("Dino calls, jmi declines", func(t *testing.T) {
		id, log := dinoCalls(t)
		if err := w.romeo.CallByID(id).Decline(ctxFor(t), nil); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, w.romeo, "rejected", is(call.EventRejected, id))
		received(t, d, log, "reject", id)
		restart(t)
	})

	t.Run("Dino calls, jmi answers", func(t *testing.T) {
		id, log := dinoCalls(t)
		if err := w.romeo.CallByID(id).Answer(ctxFor(t)); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, w.romeo, "proceeded", is(call.EventProceeded, id))
		afterProceed := received(t, d, log, "proceed", id)
		// Dino asks the device that proceeded what it can do before it
		// starts Jingle: when its presence came, on the node of its
		// XEP-0115 capabilities (jmi sends them), or after the proceed
		// when the presence had none. jmi's device lists no Jingle, so
		// Dino sends no session-initiate (nor anything else for the call:
		// checked once it quit). When jmi advertises Jingle media, Dino
		// will go on with a session-initiate (sid the propose's id) to
		// that device, and this case must check it instead.
		_, _, err := d.WaitStanza(ctxFor(t), 0, "disco#info query to "+romeoFull, func(s dinopeer.Stanza) bool {
			return !s.In && s.Name == "iq" && s.Attr("type") == "get" && s.Attr("to") == romeoFull &&
				s.Child("http://jabber.org/protocol/disco#info", "query") != nil
		})
		if err != nil {
			t.Fatal(err)
		}
		restart(t)
		if got := sentForCall(d, afterProceed, d.Stanzas(), id); len(got) > 0 {
			t.Errorf("Dino, answered by a device without Jingle, sent %q", got)
		}
		// Dino never ends the call on the wire: jmi hangs up, so that its
		// devices (and the phone's catch-up later) see the call over.
		if err := w.romeo.CallByID(id).HangUp(ctxFor(t), nil); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, w.romeo, "finished", is(call.EventFinished, id))
	})

	// From here Juliet has a jmi device too.
	phone := w.device(t, "juliet", "phone")
	phoneRings := func(t *testing.T, h *client.Call) {
		t.Helper()
		waitEvent(t, phone, "incoming on the phone", is(call.EventIncoming, h.ID()))
	}

	t.Run("answered on jmi, Dino stops ringing", func(t *testing.T) {
		h, n, notes, log := call_(t)
		phoneRings(t, h)
		if err := phone.CallByID(h.ID()).Answer(ctxFor(t)); err != nil {
			t.Fatal(err)
		}
		ev := waitEvent(t, w.romeo, "proceeded", is(call.EventProceeded, h.ID()))
		if ev.Device.String() != phone.Account().String() {
			t.Errorf("answered by %s, want the phone", ev.Device)
		}
		stopsRinging(t, d, notes, n)
		if got := sentForCall(d, log, d.Stanzas(), h.ID()); len(got) > 0 {
			t.Errorf("Dino, answered elsewhere, sent %q", got)
		}
		if err := h.HangUp(ctxFor(t), nil); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, phone, "finished on the phone", is(call.EventFinished, h.ID()))
	})

	// Without the legacy <accept/> to its own account, the jmi device's
	// proceed reaches Dino only as a carbon (sent to Romeo's device).
	t.Run("answered on jmi without the accept", func(t *testing.T) {
		tablet := w.deviceWith(t, "juliet", "tablet", call.Config{NoLegacyAccept: true})
		h, n, notes, log := call_(t)
		phoneRings(t, h)
		waitEvent(t, tablet, "incoming on the tablet", is(call.EventIncoming, h.ID()))
		if err := tablet.CallByID(h.ID()).Answer(ctxFor(t)); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, w.romeo, "proceeded", is(call.EventProceeded, h.ID()))
		received(t, d, log, "proceed", h.ID())
		stopsRinging(t, d, notes, n)
		if err := h.HangUp(ctxFor(t), nil); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, phone, "finished on the phone", is(call.EventFinished, h.ID()))
	})

	t.Run("declined on jmi, Dino stops ringing", func(t *testing.T) {
		h, n, notes, _ := call_(t)
		phoneRings(t, h)
		if err := phone.CallByID(h.ID()).Decline(ctxFor(t), nil); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, w.romeo, "rejected", is(call.EventRejected, h.ID()))
		stopsRinging(t, d, notes, n)
	})

	t.Run("declined in Dino, jmi stops ringing", func(t *testing.T) {
		h, n, _, log := call_(t)
		phoneRings(t, h)
		if err := d.Click(n.ID, "reject"); err != nil {
			t.Fatal(err)
		}
		sent(t, d, log, "reject", h.ID(), juliet)
		ev := waitEvent(t, phone, "rejected on the phone", is(call.EventRejected, h.ID()))
		if !ev.Elsewhere {
			t.Errorf("the phone: %+v, want rejected elsewhere", ev)
		}
		waitEvent(t, w.romeo, "rejected", is(call.EventRejected, h.ID()))
	})

	t.Run("answered in Dino, jmi stops ringing", func(t *testing.T) {
		h, n, _, log := call_(t)
		phoneRings(t, h)
		if err := d.Click(n.ID, "accept"); err != nil {
			t.Fatal(err)
		}
		sent(t, d, log, "accept", h.ID(), juliet)
		ev := waitEvent(t, phone, "answered elsewhere on the phone", is(call.EventProceeded, h.ID()))
		if !ev.Elsewhere || ev.Device.String() != dinoFull {
			t.Errorf("the phone: %+v, want proceeded elsewhere by %s", ev, dinoFull)
		}
		ev = waitEvent(t, w.romeo, "proceeded", is(call.EventProceeded, h.ID()))
		if ev.Device.String() != dinoFull {
			t.Errorf("answered by %s, want %s", ev.Device, dinoFull)
		}
		if err := h.HangUp(ctxFor(t), nil); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, phone, "finished on the phone", is(call.EventFinished, h.ID()))
		if err := d.Restart(ctxWithin(t, startWait)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("withdrawn, both stop ringing", func(t *testing.T) {
		h, n, notes, _ := call_(t)
		phoneRings(t, h)
		if err := h.Withdraw(ctxFor(t), nil); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, phone, "missed on the phone", is(call.EventMissed, h.ID()))
		stopsRinging(t, d, notes, n)
	})
}
