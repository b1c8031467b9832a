package client

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/internal/rawxmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/ping"
)

// The attacks of this file go through a private Prosody, from a raw client
// (internal/rawxmpp) that says what mellium never would: a resource PRECIS
// refuses, forged roster pushes, Jingle for sessions that do not exist.

// unparsable is a resource Prosody binds and mellium's jid.Parse refuses.
const unparsable = "\u1100"

// raw logs in user/resource with the raw client until the test ends,
// registering the account first when it does not exist.
func (w *world) raw(t *testing.T, user, resource string) *rawxmpp.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.prosody().Register(ctx, user, prosodytest.Password(user)); err != nil {
		t.Fatal(err)
	}
	c, err := rawxmpp.Dial(ctx, rawxmpp.Config{Addr: w.srv.Addr(), Domain: w.srv.Domain(), User: user, Password: prosodytest.Password(user), Resource: resource})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// logBuffer collects a client's log lines, for tests that check what was
// refused was also said.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// dialWith logs in user/resource with cfg (JID, password, server and CA
// filled in) until the test ends.
func (w *world) dialWith(t testing.TB, user, resource string, cfg Config) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg.JID = jid.MustParse(user + "@" + w.srv.Domain() + "/" + resource)
	cfg.Password, cfg.Server, cfg.CAFile = prosodytest.Password(user), w.srv.Addr(), w.srv.CAFile()
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

func iqIs(typ string, contains ...string) func(rawxmpp.Stanza) error {
	return func(s rawxmpp.Stanza) error {
		if s.Type() != typ {
			return errors.New("type " + s.Type() + ", want " + typ)
		}
		for _, c := range contains {
			if !strings.Contains(s.Raw, c) {
				return errors.New("lacks " + c)
			}
		}
		return nil
	}
}

// TestE2EEveryIQAnswered: IQs from a resource mellium cannot parse, of
// every kind, each get an answer addressed to that resource, and none ends
// the stream (RFC 6120 §8.2.3). mellium's default answer parsed the from
// and, failing, ended the stream: a reconnect per IQ.
func TestE2EEveryIQAnswered(t *testing.T) {
	w := newWorld(t)
	phone := w.device(t, "juliet", "phone")
	mallory := w.raw(t, "mallory", unparsable)
	to := "juliet@" + w.srv.Domain() + "/phone"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cases := []struct {
		name, id, iq string
		want         func(rawxmpp.Stanza) error
	}{
		{"version-get", "v1", `<iq type='get' id='v1' to='` + to + `'><query xmlns='jabber:iq:version'/></iq>`,
			iqIs("error", "<service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas")},
		{"unknown-set", "s1", `<iq type='set' id='s1' to='` + to + `'><frob xmlns='urn:example:frob'/></iq>`,
			iqIs("error", "<service-unavailable")},
		{"disco-info", "d1", `<iq type='get' id='d1' to='` + to + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			iqIs("result", "urn:xmpp:jingle-message:0")},
		{"ping", "p1", `<iq type='get' id='p1' to='` + to + `'><ping xmlns='urn:xmpp:ping'/></iq>`, iqIs("result")},
		{"forged-roster-push", "r1", `<iq type='set' id='r1' to='` + to + `'><query xmlns='jabber:iq:roster'><item jid='mallory@` + w.srv.Domain() + `' subscription='both'/></query></iq>`,
			iqIs("error", "<service-unavailable")},
		{"jingle-unknown-session", "j1", `<iq type='set' id='j1' to='` + to + `'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='nope'/></iq>`,
			iqIs("error", "<item-not-found", "<unknown-session", "urn:xmpp:jingle:errors:1")},
		{"jingle-malformed", "j2", `<iq type='set' id='j2' to='` + to + `'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate'/></iq>`,
			iqIs("error", "<bad-request")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wait, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			got, err := mallory.IQ(wait, tc.id, tc.iq)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if err := tc.want(got); err != nil {
				t.Errorf("%v: %s", err, got.Raw)
			}
			if got.To() != mallory.JID() {
				t.Errorf("answer to %q, want %q", got.To(), mallory.JID())
			}
		})
	}
	// Answers nobody asked for get no answer, and end nothing.
	before := mallory.Len()
	for _, s := range []string{`<iq type='result' id='stray' to='` + to + `'/>`, `<iq type='error' id='stray2' to='` + to + `'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`} {
		if err := mallory.Send(s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mallory.IQ(ctx, "last", `<iq type='get' id='last' to='`+to+`'><ping xmlns='urn:xmpp:ping'/></iq>`); err != nil {
		t.Fatal(err)
	}
	for _, s := range mallory.Since(before) {
		if s.ID() == "stray" || s.ID() == "stray2" {
			t.Errorf("answered an answer: %s", s.Raw)
		}
	}
	if n := phone.logins.Load(); n != 1 {
		t.Errorf("the phone logged in %d times, want once: an IQ ended its stream", n)
	}
}

// settle returns once every stanza the device c sent in answer to what
// peer sent before has reached peer and been handled by peer's loop: a
// ping from peer is answered after c's Serve read what came before it, a
// round trip of c's loop then carries out what that caused, and a second
// ping, answered after those sends, is followed by a round trip of peer's
// loop.
func settle(t *testing.T, ctx context.Context, peer, c *Client) {
	t.Helper()
	for _, step := range []func() error{
		func() error { return ping.Send(ctx, peer.sess(), c.Account()) },
		func() error { return c.run(ctx, func() {}) },
		func() error { return ping.Send(ctx, peer.sess(), c.Account()) },
		func() error { return peer.run(ctx, func() {}) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
}

// rangOrMissed places a call from romeo to juliet, lets it settle, and
// withdraws it; it reports whether the phone rang and whether romeo heard
// it ring.
func rangOrMissed(t *testing.T, ctx context.Context, romeo, phone *Client, juliet jid.JID) (rang, heard bool) {
	t.Helper()
	h, err := romeo.Call(ctx, juliet)
	if err != nil {
		t.Fatal(err)
	}
	settle(t, ctx, romeo, phone)
	if err := h.Withdraw(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, romeo, "withdrawn", func(ev call.Event) bool {
		heard = heard || (ev.Type == call.EventRinging && ev.ID == h.ID())
		return ev.Type == call.EventRetracted && ev.ID == h.ID()
	}, 5*time.Second)
	waitEvent(t, phone, "missed", func(ev call.Event) bool {
		rang = rang || (ev.Type == call.EventIncoming && ev.ID == h.ID())
		return ev.Type == call.EventMissed && ev.ID == h.ID()
	}, 5*time.Second)
	return rang, heard
}

// hasAttr says a raw stanza carries name='value' (either quote).
func hasAttr(name, value string) func(rawxmpp.Stanza) bool {
	return func(s rawxmpp.Stanza) bool {
		return strings.Contains(s.Raw, name+"='"+value+"'") || strings.Contains(s.Raw, name+`="`+value+`"`)
	}
}

// TestE2ERosterPush: trust follows the roster while the client runs (RFC
// 6121 §2.1.6, XEP-0353 §6). Romeo, approved from Juliet's other device,
// rings; removed, he no longer rings nor hears ringing. A stranger's
// forged push, which would make him trusted, is refused and logged.
func TestE2ERosterPush(t *testing.T) {
	w := newWorld(t)
	d := w.srv.Domain()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var logs logBuffer
	// The phone trusts as the roster says (no Config.Trust).
	phone := w.dialWith(t, "juliet", "phone", Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	desk := w.raw(t, "juliet", "desk") // Juliet's other device
	if _, err := desk.IQ(ctx, "roster", `<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>`); err != nil {
		t.Fatal(err) // now it gets the roster pushes too
	}
	romeo := w.device(t, "romeo", "orchard")
	juliet := jid.MustParse("juliet@" + d)

	// A stranger pushes himself into Juliet's roster: refused.
	tybalt := w.raw(t, "tybalt", "sword")
	got, err := tybalt.IQ(ctx, "push", `<iq type='set' id='push' to='juliet@`+d+`/phone'><query xmlns='jabber:iq:roster'><item jid='tybalt@`+d+`' subscription='both'/></query></iq>`)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type() != "error" {
		t.Errorf("a forged roster push was accepted: %s", got.Raw)
	}
	if !strings.Contains(logs.String(), "refused a roster push not from our own account") {
		t.Errorf("the refusal was not logged:\n%s", logs.String())
	}
	if phone.rosterTrust(jid.MustParse("tybalt@" + d)) {
		t.Error("the forged push made tybalt trusted")
	}
	// Tybalt's call does not ring, and he hears nothing.
	mark := tybalt.Len()
	if err := tybalt.Send(`<message to='juliet@` + d + `' type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='tybalt-1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><store xmlns='urn:xmpp:hints'/></message>`); err != nil {
		t.Fatal(err)
	}
	if err := tybalt.Send(`<message to='juliet@` + d + `' type='chat'><retract xmlns='urn:xmpp:jingle-message:0' id='tybalt-1'/><store xmlns='urn:xmpp:hints'/></message>`); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "tybalt's call missed", func(ev call.Event) bool {
		if ev.Type == call.EventIncoming && ev.ID == "tybalt-1" {
			t.Error("tybalt's call rang after his forged push")
		}
		return ev.Type == call.EventMissed && ev.ID == "tybalt-1"
	}, 5*time.Second)
	if _, err := tybalt.IQ(ctx, "after", `<iq type='get' id='after' to='juliet@`+d+`/phone'><ping xmlns='urn:xmpp:ping'/></iq>`); err != nil {
		t.Fatal(err)
	}
	for _, s := range tybalt.Since(mark) {
		if strings.Contains(s.Raw, "<ringing") {
			t.Errorf("tybalt heard ringing: %s", s.Raw)
		}
	}

	// Juliet approves Romeo's subscription on her desk: the server pushes
	// the item to every device, and Romeo now rings.
	if err := romeo.sendRaw(ctx, `<presence type='subscribe' to='juliet@`+d+`'/>`); err != nil {
		t.Fatal(err)
	}
	mark = desk.Len()
	if err := desk.Send(`<presence type='subscribed' to='romeo@` + d + `'/>`); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.WaitAfter(ctx, mark, hasAttr("subscription", "from")); err != nil {
		t.Fatal(err)
	}
	if rang, heard := rangOrMissed(t, ctx, romeo, phone, juliet); !rang || !heard {
		t.Errorf("approved Romeo: rang %v, heard ringing %v; want both", rang, heard)
	}

	// Juliet removes Romeo on her desk: he rings no more.
	mark = desk.Len()
	if _, err := desk.IQ(ctx, "remove", `<iq type='set' id='remove'><query xmlns='jabber:iq:roster'><item jid='romeo@`+d+`' subscription='remove'/></query></iq>`); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.WaitAfter(ctx, mark, hasAttr("subscription", "remove")); err != nil {
		t.Fatal(err)
	}
	if rang, heard := rangOrMissed(t, ctx, romeo, phone, juliet); rang || heard {
		t.Errorf("removed Romeo: rang %v, heard ringing %v; want neither", rang, heard)
	}
}

// dinoInitiate is Dino 0.4.2's session-initiate as Prosody relayed it
// (MEDIA.md), with the session id sid.
func dinoInitiate(iqID, from, to, sid string) string {
	return `<iq from='` + from + `' to='` + to + `' type='set' id='` + iqID + `'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='` + sid + `' initiator='` + from + `'>` +
		`<content senders='both' name='audio' creator='initiator'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>` +
		`<payload-type clockrate='48000' channels='2' id='111' name='opus'><parameter value='1' name='useinbandfec'/></payload-type>` +
		`<payload-type id='112' clockrate='32000' name='speex'/><payload-type id='113' clockrate='16000' name='speex'/><payload-type id='114' clockrate='8000' name='speex'/>` +
		`<payload-type id='0' clockrate='8000' name='PCMU'/><payload-type id='8' clockrate='8000' name='PCMA'/>` +
		`<encryption><crypto key-params='inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz' crypto-suite='AES_CM_128_HMAC_SHA1_80' tag='1'/></encryption><rtcp-mux/></description>` +
		`<transport pwd='asd88fgpdd777uzjYhagZg' ufrag='218L' xmlns='urn:xmpp:jingle:transports:ice-udp:1'>` +
		`<fingerprint setup='actpass' hash='sha-256' xmlns='urn:xmpp:jingle:apps:dtls:0'>FD:72:1B:0C:9E:43:5A:22:B1:07:6F:8D:31:AA:CE:54:12:9B:E0:77:4D:38:C6:F1:02:5E:AB:93:61:DC:28:85</fingerprint>` +
		`</transport></content></jingle></iq>`
}

// dinoTerminate is Dino 0.4.2's hang-up (MEDIA.md).
func dinoTerminate(iqID, to, sid string) string {
	return `<iq to='` + to + `' type='set' id='` + iqID + `'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='` + sid + `'><reason><cancel/></reason></jingle></iq>`
}

// TestE2EJingleDino: Dino 0.4.2 hangs up only with Jingle and never sends
// <finish/>. A call it placed and jmi answered ends on both sides: its
// session-initiate is acknowledged and terminated with
// <unsupported-applications/> and jmi finishes the call; its
// session-terminate ends the call as a finish would. Jingle for any other
// session, or from another device, is <unknown-session/>.
func TestE2EJingleDino(t *testing.T) {
	w := newWorld(t)
	d := w.srv.Domain()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	phone := w.device(t, "juliet", "phone")
	dino := w.raw(t, "romeo", "dino")
	tybalt := w.raw(t, "tybalt", "sword")
	phoneJID := "juliet@" + d + "/phone"

	// answered has Dino call Juliet and the phone answer; it returns once
	// Dino has the proceed.
	answered := func(id string) {
		t.Helper()
		mark := dino.Len()
		if err := dino.Send(`<message to='juliet@` + d + `' type='chat' id='m-` + id + `'><propose xmlns='urn:xmpp:jingle-message:0' id='` + id + `'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>`); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, phone, "Dino's call ringing", is(call.EventIncoming, id), 5*time.Second)
		if err := phone.CallByID(id).Answer(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := dino.WaitAfter(ctx, mark, func(s rawxmpp.Stanza) bool { return strings.Contains(s.Raw, "<proceed") && strings.Contains(s.Raw, id) }); err != nil {
			t.Fatal(err)
		}
	}
	unknownSession := iqIs("error", "<item-not-found", "<unknown-session xmlns='urn:xmpp:jingle:errors:1'")

	// Dino, the caller, starts Jingle after the proceed (XEP-0353 §3.6).
	first := "dino-call-1"
	answered(first)
	// Before: a session-initiate from another account, and one from Dino
	// for a session that does not exist.
	if got, err := tybalt.IQ(ctx, "x1", dinoInitiate("x1", tybalt.JID(), phoneJID, first)); err != nil || unknownSession(got) != nil {
		t.Errorf("session-initiate from a stranger: %v %s", err, got.Raw)
	}
	if got, err := dino.IQ(ctx, "x2", dinoInitiate("x2", dino.JID(), phoneJID, "no-such-call")); err != nil || unknownSession(got) != nil {
		t.Errorf("session-initiate for no call: %v %s", err, got.Raw)
	}
	mark := dino.Len()
	got, err := dino.IQ(ctx, "si1", dinoInitiate("si1", dino.JID(), phoneJID, first))
	if err != nil {
		t.Fatal(err)
	}
	if got.Type() != "result" {
		t.Errorf("session-initiate answered %s", got.Raw)
	}
	terminate, err := dino.WaitAfter(ctx, mark, func(s rawxmpp.Stanza) bool {
		return s.Name == "iq" && s.Type() == "set" && strings.Contains(s.Raw, "session-terminate")
	})
	if err != nil {
		t.Fatal(err)
	}
	if !hasAttr("sid", first)(terminate) || !strings.Contains(terminate.Raw, "<unsupported-applications") {
		t.Errorf("terminate: %s", terminate.Raw)
	}
	if terminate.Index < got.Index {
		t.Errorf("the session-terminate (%d) went out before the answer to the session-initiate (%d)", terminate.Index, got.Index)
	}
	if _, err := dino.WaitAfter(ctx, mark, func(s rawxmpp.Stanza) bool {
		return strings.Contains(s.Raw, "<finish") && strings.Contains(s.Raw, first)
	}); err != nil {
		t.Errorf("no JMI finish after the terminate: %v", err)
	}
	ev := waitEvent(t, phone, "the call finished", is(call.EventFinished, first), 5*time.Second)
	if ev.Device.String() != phoneJID || ev.Reason != "unsupported-applications" {
		t.Errorf("finished by %s with %q, want by the phone with unsupported-applications", ev.Device, ev.Reason)
	}
	// The session is over: a second session-initiate is unknown.
	if got, err := dino.IQ(ctx, "si1b", dinoInitiate("si1b", dino.JID(), phoneJID, first)); err != nil || unknownSession(got) != nil {
		t.Errorf("session-initiate for an ended call: %v %s", err, got.Raw)
	}

	// Dino hangs up a call answered here with session-terminate.
	second := "dino-call-2"
	answered(second)
	if got, err := tybalt.IQ(ctx, "x3", dinoTerminate("x3", phoneJID, second)); err != nil || unknownSession(got) != nil {
		t.Errorf("session-terminate from a stranger: %v %s", err, got.Raw)
	}
	if info, _, _ := phone.CallByID(second).Info(ctx); info.State != call.StateActive {
		t.Errorf("a stranger's session-terminate ended the call: %v", info.State)
	}
	mark = dino.Len()
	if got, err := dino.IQ(ctx, "st2", dinoTerminate("st2", phoneJID, second)); err != nil || got.Type() != "result" {
		t.Fatalf("session-terminate answered %v %s", err, got.Raw)
	}
	ev = waitEvent(t, phone, "the call finished by Dino", is(call.EventFinished, second), 5*time.Second)
	if ev.Device.String() != dino.JID() || ev.Reason != "cancel" {
		t.Errorf("finished by %s with %q, want by Dino with cancel", ev.Device, ev.Reason)
	}
	if _, err := dino.WaitAfter(ctx, mark, func(s rawxmpp.Stanza) bool {
		return strings.Contains(s.Raw, "<finish") && strings.Contains(s.Raw, second)
	}); err != nil {
		t.Errorf("no JMI finish in answer to the hang-up: %v", err)
	}
}

// TestE2ERosterAfterReconnect: a contact removed while the device was
// offline is not trusted once it is back: the roster fetched after the
// reconnect replaces the one the device had, instead of adding to it.
func TestE2ERosterAfterReconnect(t *testing.T) {
	w := newWorld(t)
	d := w.srv.Domain()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	phone := w.dialWith(t, "juliet", "phone", Config{})
	desk := w.raw(t, "juliet", "desk")
	if _, err := desk.IQ(ctx, "roster", `<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>`); err != nil {
		t.Fatal(err)
	}
	romeo := w.device(t, "romeo", "orchard")
	if err := romeo.sendRaw(ctx, `<presence type='subscribe' to='juliet@`+d+`'/>`); err != nil {
		t.Fatal(err)
	}
	mark := desk.Len()
	if err := desk.Send(`<presence type='subscribed' to='romeo@` + d + `'/>`); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.WaitAfter(ctx, mark, hasAttr("subscription", "from")); err != nil {
		t.Fatal(err)
	}
	romeoJID := jid.MustParse("romeo@" + d)
	// The phone answers a ping after the push that came before it.
	if _, err := desk.IQ(ctx, "ping", `<iq type='get' id='ping' to='juliet@`+d+`/phone'><ping xmlns='urn:xmpp:ping'/></iq>`); err != nil {
		t.Fatal(err)
	}
	if !phone.rosterTrust(romeoJID) {
		t.Fatal("approved Romeo is not trusted")
	}

	// While the server is down, Juliet's roster loses Romeo (her roster
	// store is emptied: what a removal from another client, while this
	// device was offline, leaves behind).
	if err := w.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(w.prosody().Dir, "data", d, "roster", "juliet.dat")); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// The phone is back once another device of Juliet's sees its presence,
	// which it sends after it fetched the roster.
	desk2 := w.raw(t, "juliet", "desk2")
	if err := desk2.Send(`<presence/>`); err != nil {
		t.Fatal(err)
	}
	if _, err := desk2.Wait(ctx, func(s rawxmpp.Stanza) bool {
		return s.Name == "presence" && s.From() == "juliet@"+d+"/phone" && s.Type() == ""
	}); err != nil {
		t.Fatal(err)
	}
	if n := phone.logins.Load(); n != 2 {
		t.Errorf("the phone logged in %d times, want twice", n)
	}
	if phone.rosterTrust(romeoJID) {
		t.Error("Romeo, removed from the roster while the phone was offline, is still trusted after it came back")
	}
}
