package attack

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/calllog"
	"github.com/jmi-xmpp/jmi/client"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/internal/rawxmpp"
	"mellium.im/xmpp/jid"
)

// badResource is a resource Prosody binds and mellium's PRECIS refuses
// (U+1100 is an old Hangul jamo, disallowed by RFC 8264): a from that
// jid.Parse cannot read.
const badResource = "evil\u1100"

// wait bounds every wait of the suite.
const wait = 15 * time.Second

// world is a private Prosody with the victim, Juliet's phone (a jmi
// client that trusts Romeo), and raw clients around it: Romeo (the trusted
// contact, on his orchard device), Mallory (a stranger bound with a
// resource mellium cannot parse) and Tybalt (a stranger with a well-formed
// address).
type world struct {
	t       *testing.T // the test the world lives for
	cur     *testing.T // the row being played
	srv     *prosodytest.Server
	victim  *client.Client
	events  *eventLog
	history *calllog.Log

	mu    sync.Mutex
	conns map[string]*rawxmpp.Conn // by name: romeo, mallory, tybalt

	markers atomic.Int64
	log     syncBuffer // the victim's log, shown when a test fails
}

// syncBuffer is a strings.Builder safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// account of each raw client: user and resource.
var rawAccounts = map[string][2]string{
	"romeo":   {"romeo", "orchard"},
	"mallory": {"mallory", badResource},
	"tybalt":  {"tybalt", "sword"},
	// Benvolio's JID sorts before Juliet's: a propose of hers that comes
	// back with his from would win a same-id tie-break (§4.1).
	"benvolio": {"benvolio", "street"},
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "juliet", "romeo", "mallory", "tybalt", "benvolio")
	w := &world{t: t, cur: t, srv: srv, conns: map[string]*rawxmpp.Conn{}}
	for name := range rawAccounts {
		w.conn(name)
	}
	history, err := calllog.Open(filepath.Join(t.TempDir(), calllog.FileName))
	if err != nil {
		t.Fatal(err)
	}
	w.history = history
	t.Cleanup(func() { history.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	romeo := w.bare("romeo")
	victim, err := client.Dial(ctx, client.Config{
		JID:      jid.MustParse("juliet@" + srv.Domain + "/phone"),
		Password: prosodytest.Password("juliet"),
		Server:   srv.Addr,
		CAFile:   srv.CAFile,
		Trust:    func(p jid.JID) bool { return p.Bare().String() == romeo },
		Recorder: history,
		Logger:   slog.New(slog.NewTextHandler(&w.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.victim = victim
	w.events = newEventLog(victim)
	t.Cleanup(func() {
		victim.Close()
		<-w.events.done
		if t.Failed() {
			t.Logf("the victim's log:\n%s", w.log.String())
		}
	})
	select {
	case <-victim.Ready():
	case <-ctx.Done():
		t.Fatal("the victim's catch-up did not end")
	}
	return w
}

// conn returns the raw client name, logged in and available (it sent
// presence); one whose stream the server closed (after an oversized
// stanza, say) logs in again.
func (w *world) conn(name string) *rawxmpp.Conn {
	w.cur.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.conns[name]; c != nil {
		select {
		case <-c.Done():
		default:
			return c
		}
	}
	acct := rawAccounts[name]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rawxmpp.Dial(ctx, rawxmpp.Config{Addr: w.srv.Addr, Domain: w.srv.Domain, User: acct[0], Password: prosodytest.Password(acct[0]), Resource: acct[1]})
	if err != nil {
		w.cur.Fatalf("%s: %v", name, err)
	}
	if err := c.Send(`<presence/>`); err != nil {
		w.cur.Fatal(err)
	}
	w.t.Cleanup(func() { c.Close() })
	w.conns[name] = c
	return c
}

func (w *world) bare(name string) string { return rawAccounts[name][0] + "@" + w.srv.Domain }
func (w *world) full(name string) string { return w.bare(name) + "/" + rawAccounts[name][1] }

// The victim's addresses.
func (w *world) julietBare() string { return "juliet@" + w.srv.Domain }
func (w *world) julietFull() string { return w.julietBare() + "/phone" }

// eventLog keeps every event of the victim.
type eventLog struct {
	mu      sync.Mutex
	list    []call.Event
	changed chan struct{}
	done    chan struct{}
}

func newEventLog(c *client.Client) *eventLog {
	l := &eventLog{changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ev := range c.Events() {
			l.mu.Lock()
			l.list = append(l.list, ev)
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *eventLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.list)
}

func (l *eventLog) since(i int) []call.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]call.Event(nil), l.list[i:]...)
}

// waitFor returns the first event from index i on that matches, waiting
// up to wait.
func (l *eventLog) waitFor(t testing.TB, i int, what string, match func(call.Event) bool) call.Event {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for ; i < len(l.list); i++ {
			if match(l.list[i]) {
				ev := l.list[i]
				l.mu.Unlock()
				return ev
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("the victim: no %s within %s", what, wait)
		}
	}
}

// sent is one raw stanza an attacker (or Romeo) sends.
type sent struct {
	by  string // a raw client's name
	raw string
}

// scene is what prepare set up.
type scene struct {
	// id is the id of the real call prepare set up, if any.
	id string
	// msgID is the id of the message of that call that prepare saw on the
	// wire, if any.
	msgID string
}

// outcome is what one attack caused.
type outcome struct {
	scene
	// events are the victim's events from the first stanza sent to the
	// last marker, the markers left out.
	events []call.Event
	// got holds, by raw client's name, what reached it during the attack,
	// the suite's own probes left out.
	got map[string][]rawxmpp.Stanza
}

// attack is one row of the suite.
type attack struct {
	name string
	// prepare, if set, sets up the scene (a real call from Romeo that
	// rings, say).
	prepare func(t *testing.T, w *world) scene
	// send returns the stanzas of the attack, given the scene.
	send func(w *world, sc scene) []sent
	// check says what the victim must (not) have done.
	check func(t *testing.T, w *world, r outcome)
	// closes says the server ends the senders' streams for what they
	// sent (a stanza over its size limit): their markers then come from a
	// new login.
	closes bool
}

// run plays an attack: the stanzas, then one marker per sender, which the
// victim reports as ignored input once it has handled everything the
// sender sent before; then a barrier that proves everything the victim sent
// because of the attack has reached the raw clients.
func (w *world) run(t *testing.T, a attack) outcome {
	t.Helper()
	var r outcome
	if a.prepare != nil {
		r.scene = a.prepare(t, w)
	}
	type mark struct {
		c *rawxmpp.Conn
		n int
	}
	marks := map[string]mark{}
	for name := range rawAccounts {
		c := w.conn(name)
		marks[name] = mark{c, c.Len()}
	}
	first := w.events.len()
	senders := map[string]bool{}
	for _, s := range a.send(w, r.scene) {
		senders[s.by] = true
		if err := w.conn(s.by).Send(s.raw); err != nil {
			t.Fatalf("%s sending: %v", s.by, err)
		}
	}
	if a.closes {
		for by := range senders {
			w.mu.Lock()
			c := w.conns[by]
			w.mu.Unlock()
			select {
			case <-c.Done():
			case <-time.After(wait):
				t.Fatalf("the server did not close %s's stream", by)
			}
		}
	}
	markerIDs := map[string]bool{}
	for by := range senders {
		id := fmt.Sprintf("marker-%d", w.markers.Add(1))
		markerIDs[id] = true
		// A ringing for no call: refused whoever sends it, after what came
		// before it from the same sender.
		if err := w.conn(by).Send(`<message to='` + w.julietFull() + `' type='chat'><ringing xmlns='urn:xmpp:jingle-message:0' id='` + id + `'/></message>`); err != nil {
			t.Fatalf("%s sending the marker: %v", by, err)
		}
	}
	for id := range markerIDs {
		w.events.waitFor(t, first, "marker "+id, func(ev call.Event) bool { return ev.Type == call.EventIgnored && ev.ID == id })
	}
	w.barrier(t)
	for _, ev := range w.events.since(first) {
		if !markerIDs[ev.ID] {
			r.events = append(r.events, ev)
		}
	}
	r.got = map[string][]rawxmpp.Stanza{}
	for name := range rawAccounts {
		c, from := w.conn(name), 0
		if m := marks[name]; m.c == c {
			from = m.n
		} else {
			// Logged in again during the attack: what reached the old
			// stream is in m.c.
			for _, st := range m.c.Since(m.n) {
				if fromVictim(m.c, st) {
					r.got[name] = append(r.got[name], st)
				}
			}
		}
		for _, st := range c.Since(from) {
			if fromVictim(c, st) {
				r.got[name] = append(r.got[name], st)
			}
		}
	}
	return r
}

// fromVictim leaves out what the suite and the server say to a raw client
// c: the answers to the suite's probes, stream errors, and the echo of its
// own presence.
func fromVictim(c *rawxmpp.Conn, st rawxmpp.Stanza) bool {
	return !strings.HasPrefix(st.ID(), "probe-") && st.Name != "error" && st.From() != c.JID()
}

// barrier returns once everything the victim has sent so far has reached
// every raw client: Romeo asks the victim's disco#info, whose answer goes
// out on the victim's stream after what its loop already wrote, and then
// each raw client pings the server, whose answer comes on its stream after
// what was routed to it before.
func (w *world) barrier(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	n := w.markers.Add(1)
	id := fmt.Sprintf("probe-disco-%d", n)
	if _, err := w.conn("romeo").IQ(ctx, id, `<iq type='get' id='`+id+`' to='`+w.julietFull()+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`); err != nil {
		t.Fatalf("the victim did not answer disco#info: %v", err)
	}
	for name := range rawAccounts {
		id := fmt.Sprintf("probe-ping-%d", n)
		if _, err := w.conn(name).IQ(ctx, id, `<iq type='get' id='`+id+`'><ping xmlns='urn:xmpp:ping'/></iq>`); err != nil {
			t.Fatalf("%s: ping: %v", name, err)
		}
	}
}

// ringingCall has Romeo propose a real call to Juliet, and returns its id
// once the victim rings and Romeo heard it.
func ringingCall(t *testing.T, w *world) scene {
	t.Helper()
	id := "real-" + fmt.Sprint(w.markers.Add(1))
	romeo := w.conn("romeo")
	from, first := romeo.Len(), w.events.len()
	if err := romeo.Send(proposeXML(w.julietBare(), id, "audio")); err != nil {
		t.Fatal(err)
	}
	w.events.waitFor(t, first, "incoming "+id, func(ev call.Event) bool { return ev.Type == call.EventIncoming && ev.ID == id })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := romeo.WaitAfter(ctx, from, rawxmpp.Contains("<ringing")); err != nil {
		t.Fatalf("romeo: no ringing: %v", err)
	}
	return scene{id: id}
}

// victimCalls has the victim call the raw client callee and returns the
// call's id and the message id of the propose once it reached the callee.
func victimCalls(t *testing.T, w *world, callee string) scene {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := w.conn(callee)
	from, first := c.Len(), w.events.len()
	h, err := w.victim.Call(ctx, jid.MustParse(w.bare(callee)))
	if err != nil {
		t.Fatal(err)
	}
	w.events.waitFor(t, first, "proposed", func(ev call.Event) bool { return ev.Type == call.EventProposed && ev.ID == h.ID() })
	st, err := c.WaitAfter(ctx, from, rawxmpp.Contains("id='"+h.ID()+"'"))
	if err != nil {
		// The server may write the attribute with double quotes.
		if st, err = c.WaitAfter(ctx, from, rawxmpp.Contains(`id="`+h.ID()+`"`)); err != nil {
			t.Fatalf("%s: no propose: %v", callee, err)
		}
	}
	// Placing the call also sends the callee directed presence, after the
	// propose (the callee shares none with the victim, and may answer only
	// a device it can see): wait for it too, or it would count as
	// something the attack made reach the attacker.
	if _, err := c.WaitAfter(ctx, from, rawxmpp.Contains("<presence")); err != nil {
		t.Fatalf("%s: no directed presence with the propose: %v", callee, err)
	}
	return scene{id: h.ID(), msgID: st.ID()}
}

// callState is the victim's state of call id.
func callState(t *testing.T, w *world, id string) call.Info {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	info, _, err := w.victim.CallByID(id).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// historyOf returns the victim's history entry of id.
func historyOf(t *testing.T, w *world, id string) calllog.Entry {
	t.Helper()
	entries, err := w.history.List(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no history entry for %s", id)
	return calllog.Entry{}
}

// failedWith checks that the victim ended call id as failed with the
// stanza error condition cond, in its events and its history.
func failedWith(t *testing.T, w *world, from int, id, cond string) {
	t.Helper()
	ev := w.events.waitFor(t, from, "the end of "+id, func(ev call.Event) bool {
		switch ev.Type {
		case call.EventFinished, call.EventRejected, call.EventRetracted, call.EventMissed:
			return ev.ID == id
		}
		return false
	})
	if ev.Type != call.EventFinished || !ev.Failed || ev.Reason != cond {
		t.Errorf("the victim: %s (failed %v, reason %q), want finished failed with %s", ev.Type, ev.Failed, ev.Reason, cond)
	}
	if info := callState(t, w, id); info.State != call.StateEnded {
		t.Errorf("call %s is %v, want ended", id, info.State)
	}
	if e := historyOf(t, w, id); e.Outcome != calllog.Failed || e.Reason != cond {
		t.Errorf("history: %s (%q), want failed (%s)", e.Outcome, e.Reason, cond)
	}
}

func proposeXML(to, id, media string) string {
	return `<message to='` + to + `' type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='` + id + `'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='` + media + `'/></propose><store xmlns='urn:xmpp:hints'/></message>`
}

// Checks shared by the rows.

// onlyIgnored: the victim did nothing but refuse input.
func onlyIgnored(t *testing.T, r outcome) {
	t.Helper()
	for _, ev := range r.events {
		if ev.Type != call.EventIgnored {
			t.Errorf("the victim: %s event for %q (device %s, reason %q), want only refusals", ev.Type, ev.ID, ev.Device, ev.Reason)
		}
	}
}

// nothingReached: none of the raw clients got anything from the victim.
func nothingReached(t *testing.T, r outcome, names ...string) {
	t.Helper()
	if len(names) == 0 {
		for name := range rawAccounts {
			names = append(names, name)
		}
	}
	for _, name := range names {
		for _, st := range r.got[name] {
			t.Errorf("%s received: %s", name, st.Raw)
		}
	}
}

// stillRinging: the real call of prepare rings on as before.
func stillRinging(t *testing.T, w *world, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	info, ok, err := w.victim.CallByID(id).Info(ctx)
	if err != nil || !ok || info.State != call.StateRinging {
		t.Errorf("the real call %s is %v (known %v, %v), want still ringing", id, info.State, ok, err)
	}
}

// notInHistory: the victim's call history has no entry for id.
func notInHistory(t *testing.T, w *world, id string) {
	t.Helper()
	entries, err := w.history.List(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.ID == id {
			t.Errorf("the history has an entry for %s: %+v", id, e)
		}
	}
}

// unknownCall: the victim does not know the call id.
func unknownCall(t *testing.T, w *world, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if info, ok, err := w.victim.CallByID(id).Info(ctx); err != nil || ok {
		t.Errorf("the victim knows call %s: %+v (%v)", id, info, err)
	}
}

// runTable plays every row against one world, in order.
func runTable(t *testing.T, table []attack) {
	w := newWorld(t)
	for _, a := range table {
		t.Run(a.name, func(t *testing.T) {
			w.cur = t
			defer func() { w.cur = w.t }()
			r := w.run(t, a)
			a.check(t, w, r)
			if t.Failed() {
				for _, ev := range r.events {
					t.Logf("victim event: %s id=%q device=%s reason=%q elsewhere=%v", ev.Type, ev.ID, ev.Device, ev.Reason, ev.Elsewhere)
				}
			}
		})
	}
}
