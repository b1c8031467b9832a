package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/jid"
)

// world is a private Prosody with Romeo and Juliet registered.
type world struct {
	srv *prosodytest.Server
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return &world{srv: prosodytest.NewWithUsers(t, prosodytest.Options{}, "romeo", "juliet")}
}

// device logs in user/resource, trusting everyone, and closes it at the end.
func (w *world) device(t testing.TB, user, resource string) *Client {
	t.Helper()
	return w.deviceWith(t, user, resource, call.Config{})
}

// deviceWith is device with an engine configuration.
func (w *world) deviceWith(t testing.TB, user, resource string, engine call.Config) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{
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
	return c
}

// waitEvent waits up to d for an event of c that matches, passing over the
// others.
func waitEvent(t testing.TB, c *Client, what string, match func(call.Event) bool, d time.Duration) call.Event {
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

// callID returns the id of a call just placed.
func callID(h *Call, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return h.ID(), nil
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

	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain), "audio"))
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
	if err := phone.CallByID(id).Answer(ctx); err != nil {
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
	// The hand-off to Jingle: Romeo sends session-initiate with sid = the
	// propose id to the device that proceeded; the phone accepts only that.
	sid, to, ok, err := romeo.CallByID(id).Jingle(ctx)
	if err != nil || !ok || sid != id || to.Resourcepart() != "phone" {
		t.Errorf("Jingle: %q %s %v %v", sid, to, ok, err)
	}
	for _, tc := range []struct {
		sid  string
		from *Client
		want bool
	}{{id, romeo, true}, {id, tablet, false}, {"other", romeo, false}} {
		if got, err := phone.MatchSessionInitiate(ctx, tc.sid, tc.from.Account()); err != nil || got != tc.want {
			t.Errorf("MatchSessionInitiate(%s, %s) = %v %v, want %v", tc.sid, tc.from.Account(), got, err, tc.want)
		}
	}
	if _, _, ok, _ := tablet.CallByID(id).Jingle(ctx); ok {
		t.Error("the tablet, which did not answer, offers a Jingle session")
	}
	if err := romeo.CallByID(id).HangUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "finished on the phone", is(call.EventFinished, id), 5*time.Second)
	waitEvent(t, tablet, "finished on the tablet", is(call.EventFinished, id), 5*time.Second)
	for _, c := range []*Client{romeo, phone, tablet} {
		info, ok, err := c.CallByID(id).Info(ctx)
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
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), 5*time.Second)
	waitEvent(t, tablet, "incoming", is(call.EventIncoming, id), 5*time.Second)
	if err := phone.CallByID(id).Decline(ctx, nil); err != nil {
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
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), 5*time.Second)
	waitEvent(t, tablet, "incoming", is(call.EventIncoming, id), 5*time.Second)
	if err := romeo.CallByID(id).Withdraw(ctx, nil); err != nil {
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
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	if err := romeo.CallByID(id).Withdraw(ctx, nil); err != nil {
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
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	phone := w.device(t, "juliet", "phone")
	waitEvent(t, phone, "incoming after catch-up", is(call.EventIncoming, id), 5*time.Second)
	if err := phone.CallByID(id).Answer(ctx); err != nil {
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
	if err := w.srv.Register(ctx, "tybalt", prosodytest.Password("tybalt")); err != nil {
		t.Fatal(err)
	}
	phone := w.device(t, "juliet", "phone")
	romeo := w.device(t, "romeo", "orchard")
	tybalt := w.device(t, "tybalt", "sword")
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain)))
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
	info, ok, err := phone.CallByID(id).Info(ctx)
	if err != nil || !ok || info.State != call.StateRinging {
		t.Errorf("call state %v after the forgery, want still ringing", info.State)
	}
}

// TestE2ECrossed is scenario 6: both press call at the same moment; exactly
// one call survives, the same on both sides.
func TestE2ECrossed(t *testing.T) {
	w := newWorld(t)
	phone := w.device(t, "juliet", "phone")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := make(chan string, 2)
	for _, c := range []struct {
		from *Client
		to   string
	}{{romeo, "juliet"}, {phone, "romeo"}} {
		go func() {
			id, err := callID(c.from.Call(ctx, jid.MustParse(c.to+"@"+w.srv.Domain)))
			if err != nil {
				t.Error(err)
			}
			ids <- id
		}()
	}
	oneSurvives(ctx, t, <-ids, <-ids, romeo, phone)
}

// oneSurvives checks the outcome of crossed calls a and b (§4.1): the lower
// id is answered on every device given, without anyone picking up, and the
// other has ended.
func oneSurvives(ctx context.Context, t *testing.T, a, b string, devices ...*Client) {
	t.Helper()
	survivor, loser := min(a, b), max(a, b)
	for _, c := range devices {
		waitEvent(t, c, "the surviving call answered", is(call.EventProceeded, survivor), 5*time.Second)
	}
	for _, c := range devices {
		if info, ok, err := c.CallByID(loser).Info(ctx); err != nil || !ok || info.State != call.StateEnded {
			t.Errorf("%s: the losing call is %v (%v), want ended", c.cfg.JID, info.State, err)
		}
		if info, _, _ := c.CallByID(survivor).Info(ctx); info.State != call.StateActive {
			t.Errorf("%s: the surviving call is %v, want active", c.cfg.JID, info.State)
		}
	}
}

// TestE2ECallBack is scenario 6 in the other order: Juliet calls Romeo back
// while his call rings on her phone. It is still a crossed call (§4.1):
// exactly one survives, the lower id, answered on both sides without anyone
// picking up.
func TestE2ECallBack(t *testing.T) {
	w := newWorld(t)
	phone := w.device(t, "juliet", "phone")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "Romeo's call ringing", is(call.EventIncoming, first), 5*time.Second)
	second, err := callID(phone.Call(ctx, jid.MustParse("romeo@"+w.srv.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	oneSurvives(ctx, t, first, second, romeo, phone)
}

// TestE2EMigration is scenario 7: Juliet, in a call on her phone, calls
// Romeo again from her tablet; the call moves, the old one is finished with
// <migrated/>.
func TestE2EMigration(t *testing.T) {
	w := newWorld(t)
	phone := w.device(t, "juliet", "phone")
	tablet := w.device(t, "juliet", "tablet")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	romeoJID := jid.MustParse("romeo@" + w.srv.Domain)
	old, err := callID(phone.Call(ctx, romeoJID))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, romeo, "incoming", is(call.EventIncoming, old), 5*time.Second)
	if err := romeo.CallByID(old).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "answered", is(call.EventProceeded, old), 5*time.Second)
	moved, err := callID(tablet.Call(ctx, romeoJID))
	if err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, phone, "old call finished", is(call.EventFinished, old), 5*time.Second)
	if ev.MigratedTo != moved {
		t.Errorf("finished with migrated_to %q, want %q", ev.MigratedTo, moved)
	}
	waitEvent(t, tablet, "new call answered", is(call.EventProceeded, moved), 5*time.Second)
	if info, _, _ := romeo.CallByID(moved).Info(ctx); info.State != call.StateActive || info.Device.Resourcepart() != "tablet" {
		t.Errorf("romeo: new call %v with %s, want active with the tablet", info.State, info.Device)
	}
}

// TestE2EUntrusted is scenario 8: a caller without a presence subscription
// gets nothing back; the call is recorded silently.
func TestE2EUntrusted(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Juliet's phone uses the default trust: the roster, which is empty.
	phone, err := Dial(ctx, Config{JID: jid.MustParse("juliet@" + w.srv.Domain + "/phone"), Password: prosodytest.Password("juliet"), Server: w.srv.Addr, CAFile: w.srv.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		phone.Close()
		for range phone.Events() {
		}
	})
	romeo := w.device(t, "romeo", "orchard")
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	// Withdrawing after a second gives the phone time to answer, if it
	// wrongly would; the phone records the call as missed.
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
wait:
	for {
		select {
		case ev := <-romeo.Events():
			if ev.Type == call.EventRinging || ev.Type == call.EventRejected || ev.Type == call.EventProceeded {
				t.Fatalf("an untrusted caller learned something: %+v", ev)
			}
		case ev := <-phone.Events():
			if ev.Type == call.EventIncoming {
				t.Fatalf("rang for an untrusted caller: %+v", ev)
			}
		case <-timer.C:
			break wait
		}
	}
	if err := romeo.CallByID(id).Withdraw(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "recorded as missed", is(call.EventMissed, id), 5*time.Second)
	if info, ok, _ := phone.CallByID(id).Info(ctx); !ok || info.Trusted {
		t.Errorf("phone: %+v, want an untrusted call remembered", info)
	}
}

// TestE2EWireCompat is scenario 11: messages shaped like other clients'
// (INTEROP.md), sent raw through the server, are understood.
func TestE2EWireCompat(t *testing.T) {
	w := newWorld(t)
	d := w.srv.Domain
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	phone := w.device(t, "juliet", "phone")
	dino := w.device(t, "juliet", "dino")
	slix := w.device(t, "romeo", "slix")
	romeo := w.device(t, "romeo", "orchard")

	// slixmpp: no type, no <store/>; Conversations-style 22-character id.
	const sid = "p8A2Zc-vQ1mGx_T3kL9wYQ"
	if err := slix.sendRaw(ctx, `<message to='juliet@`+d+`'><propose xmlns='urn:xmpp:jingle-message:0' id='`+sid+`'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>`); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming from slixmpp", is(call.EventIncoming, sid), 5*time.Second)
	// Dino answers: <accept/> to its own bare JID, no type, no <store/>.
	if err := dino.sendRaw(ctx, `<message to='juliet@`+d+`'><accept xmlns='urn:xmpp:jingle-message:0' id='`+sid+`'/></message>`); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, phone, "answered on Dino", is(call.EventProceeded, sid), 5*time.Second); !ev.Elsewhere {
		t.Errorf("phone: %+v, want answered elsewhere", ev)
	}

	// Dino ends that call (it never sends finish itself; a Monal-like
	// client would): the phone learns it by carbon.
	if err := dino.sendRaw(ctx, `<message to='romeo@`+d+`/slix' type='chat'><finish xmlns='urn:xmpp:jingle-message:0' id='`+sid+`'><reason xmlns='urn:xmpp:jingle:1'><success/></reason></finish></message>`); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "finished elsewhere", is(call.EventFinished, sid), 5*time.Second)

	// Conversations answers Romeo's call with an OMEMO <device/> in proceed.
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+d)))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), 5*time.Second)
	conv := `<message to='romeo@` + d + `/orchard' type='chat' id='jm-proceed-` + id + `'><proceed xmlns='urn:xmpp:jingle-message:0' id='` + id + `'>` +
		`<device xmlns='http://gultsch.de/xmpp/drafts/omemo/dlts-srtp-verification' id='1872345598'/></proceed><store xmlns='urn:xmpp:hints'/></message>`
	if err := dino.sendRaw(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, romeo, "answered by the Conversations-shaped proceed", is(call.EventProceeded, id), 5*time.Second); ev.Device.Resourcepart() != "dino" {
		t.Errorf("romeo: answered by %s", ev.Device)
	}
	waitEvent(t, phone, "answered elsewhere", is(call.EventProceeded, id), 5*time.Second)
}

// TestE2EServerRestart is scenario 10: Prosody stops and starts while
// Juliet's devices ring; after reconnect and catch-up every device agrees
// with what happened: the phone answered while the server was down, and
// that answer goes out once the phone is back.
func TestE2EServerRestart(t *testing.T) {
	w := newWorld(t)
	phone := w.device(t, "juliet", "phone")
	tablet := w.device(t, "juliet", "tablet")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), 5*time.Second)
	waitEvent(t, tablet, "incoming", is(call.EventIncoming, id), 5*time.Second)
	if err := w.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	// Juliet answers on the phone while the server is down.
	if err := phone.CallByID(id).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, romeo, "proceeded after the restart", is(call.EventProceeded, id), 20*time.Second); ev.Device.Resourcepart() != "phone" {
		t.Errorf("answered by %s", ev.Device)
	}
	if ev := waitEvent(t, tablet, "answered elsewhere after the restart", is(call.EventProceeded, id), 20*time.Second); !ev.Elsewhere {
		t.Errorf("tablet: %+v", ev)
	}
}

// TestE2EStateFile: a device that restarts reads the archive on from where
// it stopped, so an old missed call is not reported twice.
func TestE2EStateFile(t *testing.T) {
	w := newWorld(t)
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	if err := romeo.CallByID(id).Withdraw(ctx, nil); err != nil {
		t.Fatal(err)
	}
	stateFile := t.TempDir() + "/phone.json"
	login := func() *Client {
		c, err := Dial(ctx, Config{JID: jid.MustParse("juliet@" + w.srv.Domain + "/phone"), Password: prosodytest.Password("juliet"),
			Server: w.srv.Addr, CAFile: w.srv.CAFile, StateFile: stateFile, Trust: func(jid.JID) bool { return true }})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := login()
	waitEvent(t, first, "missed", is(call.EventMissed, id), 5*time.Second)
	select {
	case <-first.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("the first catch-up did not end")
	}
	first.Close()
	for range first.Events() {
	}
	st, err := loadState(stateFile)
	if err != nil || st.LastArchiveID == "" {
		t.Fatalf("state after the first login: %+v %v", st, err)
	}
	id2, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	second := login()
	defer func() {
		second.Close()
		for range second.Events() {
		}
	}()
	waitEvent(t, second, "the new call", func(ev call.Event) bool {
		if ev.ID == id {
			t.Errorf("the old call came back after a restart: %+v", ev)
		}
		return ev.ID == id2 && ev.Type == call.EventIncoming
	}, 5*time.Second)
}

// TestE2EDisco: the device advertises urn:xmpp:jingle-message:0.
func TestE2EDisco(t *testing.T) {
	w := newWorld(t)
	phone := w.device(t, "juliet", "phone")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := disco.GetInfo(ctx, "", phone.Account(), romeo.sess())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range info.Features {
		found = found || f.Var == jmi.NS
	}
	if !found {
		t.Errorf("features %v lack %s", info.Features, jmi.NS)
	}
}
