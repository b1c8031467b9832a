package client

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/ping"
)

// world is a private server with accounts for the scenario's people; in a
// federated world, Juliet's account is on srv and everyone else's on
// remote, another server reached over s2s.
type world struct {
	srv    testServer
	remote testServer        // nil: everyone on srv
	users  map[string]string // who ("romeo") → localpart of their account
	// rosterTrust: the devices trust the callers in their roster (the
	// default of Config.Trust), not everyone.
	rosterTrust bool
}

// server is the server of who's account.
func (w *world) server(who string) testServer {
	if w.remote != nil && who != "juliet" {
		return w.remote
	}
	return w.srv
}

// newWorld is a world on a private Prosody, with Romeo and Juliet.
func newWorld(t testing.TB) *world {
	t.Helper()
	return newWorldOn(t, newProsody(t))
}

// newWorldOn is a world on srv, with fresh accounts for Romeo and Juliet.
func newWorldOn(t testing.TB, srv testServer) *world {
	t.Helper()
	w := &world{srv: srv, users: map[string]string{}}
	w.addUsers(t, "romeo", "juliet")
	return w
}

// addUsers gives more people a fresh account.
func (w *world) addUsers(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		w.users[name] = w.server(name).Users(t, name)[0]
	}
}

// domain is the domain of every account.
func (w *world) domain() string { return w.srv.Domain() }

// bare is the bare JID of a person's account.
func (w *world) bare(who string) jid.JID {
	local, ok := w.users[who]
	if !ok {
		panic("e2e: no account for " + who)
	}
	return jid.MustParse(local + "@" + w.server(who).Domain())
}

// config is the client configuration for who's device resource, trusting
// everyone (or, in a world with rosterTrust, the roster).
func (w *world) config(who, resource string) Config {
	srv := w.server(who)
	cfg := Config{
		JID:      jid.MustParse(w.bare(who).String() + "/" + resource),
		Password: srv.Password(w.users[who]),
		Server:   srv.Addr(),
		TLS:      srv.TLS(),
		CAFile:   srv.CAFile(),
		Trust:    func(jid.JID) bool { return true },
		Logger:   e2eLogger(),
	}
	if w.rosterTrust {
		cfg.Trust = nil
	}
	return cfg
}

// e2eLogger logs what the clients do to standard error when JMI_E2E_LOG=1.
func e2eLogger() *slog.Logger {
	if os.Getenv("JMI_E2E_LOG") != "1" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// device logs in who/resource, trusting everyone, and closes it at the end.
func (w *world) device(t testing.TB, who, resource string) *Client {
	t.Helper()
	return w.deviceWith(t, who, resource, call.Config{})
}

// deviceWith is device with an engine configuration.
func (w *world) deviceWith(t testing.TB, who, resource string, engine call.Config) *Client {
	t.Helper()
	cfg := w.config(who, resource)
	cfg.Engine = engine
	return w.login(t, cfg)
}

// login dials with cfg and closes the client at the end of the test.
func (w *world) login(t testing.TB, cfg Config) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, cfg)
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

// settle returns once the servers have handled everything the clients
// sent so far: a ping of each to every server of the world comes back after
// what the client wrote before it (to the other server of a federated world
// on the same s2s connection as the messages). A scenario in which Juliet
// is offline when Romeo calls needs it before she logs in: ejabberd,
// loaded, routes (and archives) a message well after the client wrote it,
// and she would log in first.
func (w *world) settle(t testing.TB, clients ...*Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	domains := []string{w.srv.Domain()}
	if w.remote != nil {
		domains = append(domains, w.remote.Domain())
	}
	for _, c := range clients {
		if err := c.run(ctx, func() {}); err != nil {
			t.Fatal(err)
		}
		for _, d := range domains {
			if err := ping.Send(ctx, c.sess(), jid.MustParse(d)); err != nil {
				t.Fatalf("%s: ping %s: %v", c.cfg.JID, d, err)
			}
		}
	}
}

// scenarios are the end-to-end scenarios; TestE2E runs each on every
// server kind, with a fresh world (Prosody: a server of its own; ejabberd:
// the shared server, fresh accounts).
var scenarios = []struct {
	name string
	run  func(*testing.T, *world)
}{
	{"answer-on-one-device", e2eCallAnswerHangUp},
	{"decline", e2eDecline},
	{"withdraw", e2eWithdraw},
	{"missed-in-catch-up", e2eOfflineMissed},
	{"ringing-at-login", e2eOfflineFresh},
	{"forged-carbon", e2eForgedCarbon},
	{"crossed", e2eCrossed},
	{"call-back-while-ringing", e2eCallBack},
	{"migration", e2eMigration},
	{"untrusted-caller", e2eUntrusted},
	{"other-clients-shapes", e2eWireCompat},
	{"catch-up-of-a-call-without-store", e2eCatchUpWithoutStore},
	{"stale-call-in-catch-up", e2eStaleInCatchUp},
	{"restart-mid-call", e2eServerRestart},
	{"state-file", e2eStateFile},
	{"disco", e2eDisco},
}

// TestE2E runs every scenario through every server: TestE2E/prosody/...
// and TestE2E/ejabberd/....
func TestE2E(t *testing.T) {
	for _, k := range serverKinds {
		t.Run(k.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) { sc.run(t, newWorldOn(t, k.start(t))) })
			}
		})
	}
}

// How long a scenario waits for an event, and for one after the server
// restarted. Deadlines, not delays: a passing run waits milliseconds. They
// are long because the machines that run the tests are sometimes loaded
// far beyond their cores; there ejabberd took 12 s to restart and 5 s per
// login after it.
const (
	eventWait   = 15 * time.Second
	restartWait = 60 * time.Second
)

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

// e2eCallAnswerHangUp is scenario 1: Romeo calls, every device of Juliet
// rings (Romeo sees ringing from each), the phone answers, the tablet stops,
// both hang up with finish on every device.
func e2eCallAnswerHangUp(t *testing.T, w *world) {
	phone := w.device(t, "juliet", "phone")
	tablet := w.device(t, "juliet", "tablet")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()

	id, err := callID(romeo.Call(ctx, w.bare("juliet"), "audio"))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming on the phone", is(call.EventIncoming, id), eventWait)
	waitEvent(t, tablet, "incoming on the tablet", is(call.EventIncoming, id), eventWait)
	rang := map[string]bool{}
	for len(rang) < 2 {
		ev := waitEvent(t, romeo, "ringing", is(call.EventRinging, id), eventWait)
		rang[ev.Device.Resourcepart()] = true
	}
	if err := phone.CallByID(id).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, romeo, "proceeded", is(call.EventProceeded, id), eventWait)
	if ev.Device.Resourcepart() != "phone" {
		t.Errorf("answered by %s, want the phone", ev.Device)
	}
	ev = waitEvent(t, tablet, "answered elsewhere", is(call.EventProceeded, id), eventWait)
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
	waitEvent(t, phone, "finished on the phone", is(call.EventFinished, id), eventWait)
	waitEvent(t, tablet, "finished on the tablet", is(call.EventFinished, id), eventWait)
	for _, c := range []*Client{romeo, phone, tablet} {
		info, ok, err := c.CallByID(id).Info(ctx)
		if err != nil || !ok || info.State != call.StateEnded || info.Outcome != call.EventFinished {
			t.Errorf("%s: %+v %v %v, want ended finished", c.cfg.JID, info.State, info.Outcome, err)
		}
	}
}

// e2eDecline is scenario 2: the phone declines with busy; every device
// stops.
func e2eDecline(t *testing.T, w *world) {
	phone := w.device(t, "juliet", "phone")
	tablet := w.device(t, "juliet", "tablet")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	id, err := callID(romeo.Call(ctx, w.bare("juliet")))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), eventWait)
	waitEvent(t, tablet, "incoming", is(call.EventIncoming, id), eventWait)
	if err := phone.CallByID(id).Decline(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, romeo, "rejected", is(call.EventRejected, id), eventWait); ev.Reason != "busy" {
		t.Errorf("reason %q, want busy", ev.Reason)
	}
	if ev := waitEvent(t, tablet, "declined elsewhere", is(call.EventRejected, id), eventWait); !ev.Elsewhere {
		t.Errorf("tablet: %+v, want elsewhere", ev)
	}
}

// e2eWithdraw is scenario 3: Romeo withdraws while Juliet's devices
// ring; they report the call missed.
func e2eWithdraw(t *testing.T, w *world) {
	phone := w.device(t, "juliet", "phone")
	tablet := w.device(t, "juliet", "tablet")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	id, err := callID(romeo.Call(ctx, w.bare("juliet")))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), eventWait)
	waitEvent(t, tablet, "incoming", is(call.EventIncoming, id), eventWait)
	if err := romeo.CallByID(id).Withdraw(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{phone, tablet} {
		if ev := waitEvent(t, c, "missed", is(call.EventMissed, id), eventWait); ev.Reason != "cancel" {
			t.Errorf("%s: reason %q, want cancel", c.cfg.JID, ev.Reason)
		}
	}
}

// e2eOfflineMissed is scenario 4: Juliet is offline when called, Romeo
// withdraws; when she comes online the call is missed and nothing rings.
func e2eOfflineMissed(t *testing.T, w *world) {
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	id, err := callID(romeo.Call(ctx, w.bare("juliet")))
	if err != nil {
		t.Fatal(err)
	}
	if err := romeo.CallByID(id).Withdraw(ctx, nil); err != nil {
		t.Fatal(err)
	}
	w.settle(t, romeo)
	phone := w.device(t, "juliet", "phone")
	ev := waitEvent(t, phone, "missed", func(ev call.Event) bool {
		if ev.Type == call.EventIncoming {
			t.Errorf("rang for a withdrawn call")
		}
		return ev.Type == call.EventMissed && ev.ID == id
	}, eventWait)
	if ev.Type != call.EventMissed {
		t.Errorf("got %+v", ev)
	}
}

// e2eOfflineFresh is scenario 5: Juliet is offline when called and
// comes online within the ring window: her device rings after catch-up and
// can answer.
func e2eOfflineFresh(t *testing.T, w *world) {
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	id, err := callID(romeo.Call(ctx, w.bare("juliet")))
	if err != nil {
		t.Fatal(err)
	}
	w.settle(t, romeo)
	phone := w.device(t, "juliet", "phone")
	waitEvent(t, phone, "incoming after catch-up", is(call.EventIncoming, id), eventWait)
	if err := phone.CallByID(id).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, romeo, "proceeded", is(call.EventProceeded, id), eventWait)
}

// e2eForgedCarbon is scenario 9: a third account sends a carbon-shaped
// message claiming Juliet answered on another device; nothing changes.
func e2eForgedCarbon(t *testing.T, w *world) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	w.addUsers(t, "tybalt")
	phone := w.device(t, "juliet", "phone")
	romeo := w.device(t, "romeo", "orchard")
	tybalt := w.device(t, "tybalt", "sword")
	id, err := callID(romeo.Call(ctx, w.bare("juliet")))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), eventWait)
	juliet, romeoBare := w.bare("juliet").String(), w.bare("romeo").String()
	forged := `<message to='` + juliet + `/phone' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
		`<message from='` + juliet + `/tablet' to='` + romeoBare + `/orchard' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='` + id + `'/></message>` +
		`</forwarded></sent></message>`
	if err := tybalt.sendRaw(ctx, forged); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, phone, "the forgery refused", is(call.EventIgnored, ""), eventWait)
	if !ev.Device.Bare().Equal(w.bare("tybalt")) {
		t.Errorf("ignored input attributed to %s", ev.Device)
	}
	info, ok, err := phone.CallByID(id).Info(ctx)
	if err != nil || !ok || info.State != call.StateRinging {
		t.Errorf("call state %v after the forgery, want still ringing", info.State)
	}
}

// e2eCrossed is scenario 6: both press call at the same moment; exactly
// one call survives, the same on both sides.
func e2eCrossed(t *testing.T, w *world) {
	phone := w.device(t, "juliet", "phone")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	// Both caught up first. During its catch-up a device holds back a live
	// propose but handles a reject of its own call at once; on ejabberd the
	// winner's propose and then its tie-break reject arrived just then, and
	// the loser, its call ended, rang for the winning call (open defect).
	ready(t, romeo, phone)
	ids := make(chan string, 2)
	for _, c := range []struct {
		from *Client
		to   string
	}{{romeo, "juliet"}, {phone, "romeo"}} {
		go func() {
			id, err := callID(c.from.Call(ctx, w.bare(c.to)))
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
		waitEvent(t, c, "the surviving call answered", is(call.EventProceeded, survivor), eventWait)
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

// e2eCallBack is scenario 6 in the other order: Juliet calls Romeo back
// while his call rings on her phone. It is still a crossed call (§4.1):
// exactly one survives, the lower id, answered on both sides without anyone
// picking up.
func e2eCallBack(t *testing.T, w *world) {
	phone := w.device(t, "juliet", "phone")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	ready(t, romeo, phone) // as in e2eCrossed
	first, err := callID(romeo.Call(ctx, w.bare("juliet")))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "Romeo's call ringing", is(call.EventIncoming, first), eventWait)
	second, err := callID(phone.Call(ctx, w.bare("romeo")))
	if err != nil {
		t.Fatal(err)
	}
	oneSurvives(ctx, t, first, second, romeo, phone)
}

// e2eMigration is scenario 7: Juliet, in a call on her phone, calls
// Romeo again from her tablet; the call moves, the old one is finished with
// <migrated/>.
func e2eMigration(t *testing.T, w *world) {
	phone := w.device(t, "juliet", "phone")
	tablet := w.device(t, "juliet", "tablet")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	romeoJID := w.bare("romeo")
	old, err := callID(phone.Call(ctx, romeoJID))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, romeo, "incoming", is(call.EventIncoming, old), eventWait)
	if err := romeo.CallByID(old).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "answered", is(call.EventProceeded, old), eventWait)
	moved, err := callID(tablet.Call(ctx, romeoJID))
	if err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, phone, "old call finished", is(call.EventFinished, old), eventWait)
	if ev.MigratedTo != moved {
		t.Errorf("finished with migrated_to %q, want %q", ev.MigratedTo, moved)
	}
	waitEvent(t, tablet, "new call answered", is(call.EventProceeded, moved), eventWait)
	if info, _, _ := romeo.CallByID(moved).Info(ctx); info.State != call.StateActive || info.Device.Resourcepart() != "tablet" {
		t.Errorf("romeo: new call %v with %s, want active with the tablet", info.State, info.Device)
	}
}

// e2eUntrusted is scenario 8: a caller without a presence subscription
// gets nothing back; the call is recorded silently.
func e2eUntrusted(t *testing.T, w *world) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	// Juliet's phone uses the default trust: the roster, in which Paris is
	// not (Romeo may be, in a world with rosterTrust).
	w.addUsers(t, "paris")
	cfg := w.config("juliet", "phone")
	cfg.Trust = nil
	phone := w.login(t, cfg)
	romeo := w.device(t, "paris", "orchard")
	id, err := callID(romeo.Call(ctx, w.bare("juliet")))
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
	waitEvent(t, phone, "recorded as missed", is(call.EventMissed, id), eventWait)
	if info, ok, _ := phone.CallByID(id).Info(ctx); !ok || info.Trusted {
		t.Errorf("phone: %+v, want an untrusted call remembered", info)
	}
}

// e2eWireCompat is scenario 11: messages shaped like other clients'
// (INTEROP.md), sent raw through the server, are understood.
func e2eWireCompat(t *testing.T, w *world) {
	juliet, romeoBare := w.bare("juliet").String(), w.bare("romeo").String()
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	phone := w.device(t, "juliet", "phone")
	dino := w.device(t, "juliet", "dino")
	slix := w.device(t, "romeo", "slix")
	romeo := w.device(t, "romeo", "orchard")

	// slixmpp: no type, no <store/>; Conversations-style 22-character id.
	const sid = "p8A2Zc-vQ1mGx_T3kL9wYQ"
	if err := slix.sendRaw(ctx, `<message to='`+juliet+`'><propose xmlns='urn:xmpp:jingle-message:0' id='`+sid+`'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>`); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming from slixmpp", is(call.EventIncoming, sid), eventWait)
	// Dino answers: <accept/> to its own bare JID, no type, no <store/>.
	if err := dino.sendRaw(ctx, `<message to='`+juliet+`'><accept xmlns='urn:xmpp:jingle-message:0' id='`+sid+`'/></message>`); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, phone, "answered on Dino", is(call.EventProceeded, sid), eventWait); !ev.Elsewhere {
		t.Errorf("phone: %+v, want answered elsewhere", ev)
	}

	// Dino ends that call (it never sends finish itself; a Monal-like
	// client would): the phone learns it by carbon.
	if err := dino.sendRaw(ctx, `<message to='`+romeoBare+`/slix' type='chat'><finish xmlns='urn:xmpp:jingle-message:0' id='`+sid+`'><reason xmlns='urn:xmpp:jingle:1'><success/></reason></finish></message>`); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "finished elsewhere", is(call.EventFinished, sid), eventWait)

	// Conversations answers Romeo's call with an OMEMO <device/> in proceed.
	id, err := callID(romeo.Call(ctx, w.bare("juliet")))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), eventWait)
	conv := `<message to='` + romeoBare + `/orchard' type='chat' id='jm-proceed-` + id + `'><proceed xmlns='urn:xmpp:jingle-message:0' id='` + id + `'>` +
		`<device xmlns='http://gultsch.de/xmpp/drafts/omemo/dlts-srtp-verification' id='1872345598'/></proceed><store xmlns='urn:xmpp:hints'/></message>`
	if err := dino.sendRaw(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, romeo, "answered by the Conversations-shaped proceed", is(call.EventProceeded, id), eventWait); ev.Device.Resourcepart() != "dino" {
		t.Errorf("romeo: answered by %s", ev.Device)
	}
	waitEvent(t, phone, "answered elsewhere", is(call.EventProceeded, id), eventWait)
}

// e2eCatchUpWithoutStore: a call from a client that sends JMI without
// <store/> and without type (slixmpp; Dino, Movim and Tigase omit <store/>
// too) rings on Juliet's phone and is withdrawn while her tablet is
// offline. What the tablet's catch-up finds depends on the server: Prosody
// archives every message with JMI in it, so the tablet knows the call
// ended; ejabberd 23.01 archives a message only with <store/> or a body, and
// keeps nothing offline for an account with a device online, so the tablet
// never learns of the call.
func e2eCatchUpWithoutStore(t *testing.T, w *world) {
	tabletKnows := map[string]bool{"prosody": true, "ejabberd": false}
	juliet := w.bare("juliet").String()
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	phone := w.device(t, "juliet", "phone")
	slix := w.device(t, "romeo", "slix")
	sid := jmi.NewID()
	if err := slix.sendRaw(ctx, `<message to='`+juliet+`'><propose xmlns='urn:xmpp:jingle-message:0' id='`+sid+`'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>`); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming from slixmpp", is(call.EventIncoming, sid), eventWait)
	if err := slix.sendRaw(ctx, `<message to='`+juliet+`'><retract xmlns='urn:xmpp:jingle-message:0' id='`+sid+`'/></message>`); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "missed", is(call.EventMissed, sid), eventWait)
	w.settle(t, slix)
	tablet := w.device(t, "juliet", "tablet")
	select {
	case <-tablet.Ready():
	case <-time.After(eventWait):
		t.Fatal("the tablet's catch-up did not end")
	}
	info, known, err := tablet.CallByID(sid).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if known != tabletKnows[w.srv.Kind()] {
		t.Fatalf("after the catch-up the tablet knows the call: %v (%+v), want %v on %s", known, info, tabletKnows[w.srv.Kind()], w.srv.Kind())
	}
	if known && info.State != call.StateEnded {
		t.Errorf("tablet: the call is %v, want ended", info.State)
	}
}

// e2eStaleInCatchUp: a call that nobody ended (the caller vanished) rang on
// Juliet's phone until its ring window passed, while her tablet was offline.
// The tablet finds it in its archive catch-up, where only the archive's
// <delay/> says how old it is: it must record it missed ("stale"), not ring.
// ejabberd 23.01 puts that <delay/> after the forwarded message, and jmi
// once read a stamp only before it, so the tablet took the call as new and rang.
func e2eStaleInCatchUp(t *testing.T, w *world) {
	juliet := w.bare("juliet").String()
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	engine := call.Config{RingWindow: 2 * time.Second}
	phone := w.deviceWith(t, "juliet", "phone", engine)
	caller := w.device(t, "romeo", "vanishing")
	sid := jmi.NewID()
	// A propose as jmi writes it (type chat, <store/>), and never a retract.
	if err := caller.sendRaw(ctx, `<message to='`+juliet+`' type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='`+sid+`'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><store xmlns='urn:xmpp:hints'/></message>`); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, sid), eventWait)
	waitEvent(t, phone, "missed when the ring window passed", is(call.EventMissed, sid), eventWait)
	w.settle(t, caller, phone)
	tablet := w.deviceWith(t, "juliet", "tablet", engine)
	ev := waitEvent(t, tablet, "the stale call in the catch-up", func(ev call.Event) bool {
		return ev.ID == sid && (ev.Type == call.EventIncoming || ev.Type == call.EventMissed)
	}, eventWait)
	if ev.Type != call.EventMissed || ev.Reason != "stale" {
		t.Errorf("tablet: %+v, want missed (stale)", ev)
	}
}

// e2eServerRestart is scenario 10: the server stops and starts while
// Juliet's devices ring; after reconnect and catch-up every device agrees
// with what happened: the phone answered while the server was down, and
// that answer goes out once the phone is back.
func e2eServerRestart(t *testing.T, w *world) {
	// The phone must know the server is gone before it answers: an answer
	// written to a connection that the server has closed, before the
	// client has read the close, is lost with it (mellium has no stream
	// management, XEP-0198), and nothing could send it again. On a loaded
	// machine that window was wide enough to lose the answer.
	cfg := w.config("juliet", "phone")
	dropped := make(chan struct{}, 1)
	cfg.Logger = slog.New(&streamEndHandler{Handler: loggerHandler(cfg.Logger), ended: dropped})
	phone := w.login(t, cfg)
	tablet := w.device(t, "juliet", "tablet")
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 2*restartWait)
	defer cancel()
	id, err := callID(romeo.Call(ctx, w.bare("juliet")))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "incoming", is(call.EventIncoming, id), eventWait)
	waitEvent(t, tablet, "incoming", is(call.EventIncoming, id), eventWait)
	if err := w.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dropped:
	case <-ctx.Done():
		t.Fatal("the phone never noticed that the server stopped")
	}
	// Juliet answers on the phone while the server is down.
	if err := phone.CallByID(id).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, romeo, "proceeded after the restart", is(call.EventProceeded, id), restartWait); ev.Device.Resourcepart() != "phone" {
		t.Errorf("answered by %s", ev.Device)
	}
	if ev := waitEvent(t, tablet, "answered elsewhere after the restart", is(call.EventProceeded, id), restartWait); !ev.Elsewhere {
		t.Errorf("tablet: %+v", ev)
	}
}

// e2eStateFile: a device that restarts reads the archive on from where
// it stopped, so an old missed call is not reported twice.
func e2eStateFile(t *testing.T, w *world) {
	romeo := w.device(t, "romeo", "orchard")
	ctx, cancel := context.WithTimeout(context.Background(), 2*eventWait)
	defer cancel()
	id, err := callID(romeo.Call(ctx, w.bare("juliet")))
	if err != nil {
		t.Fatal(err)
	}
	if err := romeo.CallByID(id).Withdraw(ctx, nil); err != nil {
		t.Fatal(err)
	}
	w.settle(t, romeo)
	stateFile := t.TempDir() + "/phone.json"
	login := func() *Client {
		cfg := w.config("juliet", "phone")
		cfg.StateFile = stateFile
		c, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := login()
	waitEvent(t, first, "missed", is(call.EventMissed, id), eventWait)
	select {
	case <-first.Ready():
	case <-time.After(eventWait):
		t.Fatal("the first catch-up did not end")
	}
	first.Close()
	for range first.Events() {
	}
	st, err := loadState(stateFile)
	if err != nil || st.LastArchiveID == "" {
		t.Fatalf("state after the first login: %+v %v", st, err)
	}
	id2, err := callID(romeo.Call(ctx, w.bare("juliet")))
	if err != nil {
		t.Fatal(err)
	}
	w.settle(t, romeo)
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
	}, eventWait)
}

// e2eDisco: the device advertises urn:xmpp:jingle-message:0.
func e2eDisco(t *testing.T, w *world) {
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

// streamEndHandler passes records on and signals ended when the client
// logs that its stream ended (and it reconnects).
type streamEndHandler struct {
	slog.Handler
	ended chan struct{}
}

func (h *streamEndHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *streamEndHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "stream ended") {
		select {
		case h.ended <- struct{}{}:
		default:
		}
	}
	if h.Handler.Enabled(ctx, r.Level) {
		return h.Handler.Handle(ctx, r)
	}
	return nil
}

func (h *streamEndHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &streamEndHandler{Handler: h.Handler.WithAttrs(as), ended: h.ended}
}

func (h *streamEndHandler) WithGroup(name string) slog.Handler {
	return &streamEndHandler{Handler: h.Handler.WithGroup(name), ended: h.ended}
}

// loggerHandler is l's handler, or one that discards when l is nil.
func loggerHandler(l *slog.Logger) slog.Handler {
	if l == nil {
		return slog.DiscardHandler
	}
	return l.Handler()
}
