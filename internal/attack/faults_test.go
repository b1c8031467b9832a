package attack

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/calllog"
	"github.com/jmi-xmpp/jmi/client"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/internal/rawxmpp"
	"mellium.im/xmpp/jid"
)

// The fault rows: the server dies or stops under a call, and every device
// must come back to the same story. Each row has its own Prosody (a killed
// server is not one to share), Romeo's orchard and Juliet's phone and
// tablet as jmi clients, each with its own call history and a log the row
// can wait on.

// faultWait bounds the waits that span a server restart: Prosody needs a
// second or two to start on a loaded machine, and the clients retry with
// back-off (up to 10 s between attempts).
const faultWait = 45 * time.Second

// logRecord is one record a device logged.
type logRecord struct {
	at    time.Time
	msg   string
	attrs map[string]slog.Value
}

// logRecorder is a slog.Handler that keeps every record, so that a row can
// wait for a device to log something (its stream ended, a reconnect
// failed), and writes it as text for a failing test.
type logRecorder struct {
	text slog.Handler

	mu      *sync.Mutex
	list    *[]logRecord
	changed *chan struct{}
}

func newLogRecorder(text *syncBuffer) *logRecorder {
	ch := make(chan struct{})
	return &logRecorder{
		text:    slog.NewTextHandler(text, &slog.HandlerOptions{Level: slog.LevelDebug}),
		mu:      &sync.Mutex{},
		list:    &[]logRecord{},
		changed: &ch,
	}
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(ctx context.Context, r slog.Record) error {
	rec := logRecord{at: r.Time, msg: r.Message, attrs: map[string]slog.Value{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value
		return true
	})
	h.mu.Lock()
	*h.list = append(*h.list, rec)
	close(*h.changed)
	*h.changed = make(chan struct{})
	h.mu.Unlock()
	return h.text.Handle(ctx, r)
}

func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.text = h.text.WithAttrs(as)
	return &c
}

func (h *logRecorder) WithGroup(name string) slog.Handler {
	c := *h
	c.text = h.text.WithGroup(name)
	return &c
}

// matching returns the records with message msg.
func (h *logRecorder) matching(msg string) []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRecord
	for _, r := range *h.list {
		if r.msg == msg {
			out = append(out, r)
		}
	}
	return out
}

// count is the number of records logged so far.
func (h *logRecorder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(*h.list)
}

// waitFor waits until n records with message msg were logged after the
// first `from` records, and returns those n.
func (h *logRecorder) waitFor(t testing.TB, who string, from int, msg string, n int, within time.Duration) []logRecord {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		var got []logRecord
		for _, r := range (*h.list)[from:] {
			if r.msg == msg {
				got = append(got, r)
			}
		}
		changed := *h.changed
		h.mu.Unlock()
		if len(got) >= n {
			return got[:n]
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("%s: %d %q logged within %s, want %d", who, len(got), msg, within, n)
		}
	}
}

// device is one jmi client of a fault world.
type device struct {
	name    string // "romeo/orchard"
	full    string
	c       *client.Client
	events  *eventLog
	history *calllog.Log
	logs    *logRecorder
	text    syncBuffer
	closed  bool
}

// faultWorld is a private Prosody with three jmi devices.
type faultWorld struct {
	srv                  *prosodytest.Server
	romeo, phone, tablet *device
}

func newFaultWorld(t *testing.T) *faultWorld {
	t.Helper()
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "juliet", "romeo")
	w := &faultWorld{srv: srv}
	w.romeo = w.dial(t, "romeo", "orchard", "juliet")
	w.phone = w.dial(t, "juliet", "phone", "romeo")
	w.tablet = w.dial(t, "juliet", "tablet", "romeo")
	return w
}

// dial logs in user/resource, trusting the account trusted, and waits
// for its first catch-up to end.
func (w *faultWorld) dial(t *testing.T, user, resource, trusted string) *device {
	t.Helper()
	d := &device{name: user + "/" + resource, full: user + "@" + w.srv.Domain + "/" + resource}
	d.logs = newLogRecorder(&d.text)
	history, err := calllog.Open(filepath.Join(t.TempDir(), calllog.FileName))
	if err != nil {
		t.Fatal(err)
	}
	d.history = history
	t.Cleanup(func() { history.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	trust := trusted + "@" + w.srv.Domain
	c, err := client.Dial(ctx, client.Config{
		JID:      jid.MustParse(d.full),
		Password: prosodytest.Password(user),
		Server:   w.srv.Addr,
		CAFile:   w.srv.CAFile,
		Trust:    func(p jid.JID) bool { return p.Bare().String() == trust },
		Recorder: history,
		Logger:   slog.New(d.logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	d.c = c
	d.events = newEventLog(c)
	t.Cleanup(func() {
		if !d.closed {
			c.Close()
		}
		<-d.events.done
		if t.Failed() {
			t.Logf("%s's log:\n%s", d.name, d.text.String())
		}
	})
	select {
	case <-c.Ready():
	case <-ctx.Done():
		t.Fatalf("%s: the first catch-up did not end", d.name)
	}
	return d
}

func (w *faultWorld) devices() []*device { return []*device{w.romeo, w.phone, w.tablet} }

// waitEvent waits for d's first event of type typ for call id from index
// from on.
func (d *device) waitEvent(t testing.TB, from int, typ call.EventType, id string, within time.Duration) call.Event {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		d.events.mu.Lock()
		for i := from; i < len(d.events.list); i++ {
			if ev := d.events.list[i]; ev.Type == typ && ev.ID == id {
				d.events.mu.Unlock()
				return ev
			}
		}
		changed := d.events.changed
		d.events.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("%s: no %s event for %s within %s", d.name, typ, id, within)
		}
	}
}

// countEvents is how many events of type typ for call id d had.
func (d *device) countEvents(typ call.EventType, id string) int {
	n := 0
	for _, ev := range d.events.since(0) {
		if ev.Type == typ && ev.ID == id {
			n++
		}
	}
	return n
}

// state is d's state of call id.
func (d *device) state(t testing.TB, id string) call.Info {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	info, ok, err := d.c.CallByID(id).Info(ctx)
	if err != nil || !ok {
		t.Fatalf("%s: call %s unknown (%v)", d.name, id, err)
	}
	return info
}

// historyRows returns d's history rows of call id.
func (d *device) historyRows(t testing.TB, id string) []calllog.Entry {
	t.Helper()
	entries, err := d.history.List(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var rows []calllog.Entry
	for _, e := range entries {
		if e.ID == id {
			rows = append(rows, e)
		}
	}
	return rows
}

// oneRow checks that d's history has exactly one row for id, with
// outcome want, and returns it.
func (d *device) oneRow(t testing.TB, id string, want calllog.Outcome) calllog.Entry {
	t.Helper()
	rows := d.historyRows(t, id)
	if len(rows) != 1 {
		t.Fatalf("%s: %d history rows for %s, want 1: %+v", d.name, len(rows), id, rows)
	}
	if rows[0].Outcome != want {
		t.Errorf("%s: history says %s (device %q, reason %q), want %s", d.name, rows[0].Outcome, rows[0].Device, rows[0].Reason, want)
	}
	return rows[0]
}

// lost waits until every device that is still open has logged that its
// stream ended, after the first from[i] records of device i: each knows
// the server is gone, so what it sends from now on is queued.
func (w *faultWorld) lost(t *testing.T, from []int) {
	t.Helper()
	for i, d := range w.devices() {
		if !d.closed {
			d.logs.waitFor(t, d.name, from[i], "stream ended; reconnecting", 1, faultWait)
		}
	}
}

// logMarks is where each device's log stands now.
func (w *faultWorld) logMarks() []int {
	var m []int
	for _, d := range w.devices() {
		m = append(m, d.logs.count())
	}
	return m
}

// online waits until every open device is back on the server: a raw
// watcher on each account, logged in after the restart, receives the
// available presence of each of the account's devices (Prosody hands a
// new resource the presence of the account's other available resources,
// and broadcasts the presence a device sends once it has logged in again).
func (w *faultWorld) online(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), faultWait)
	defer cancel()
	for _, user := range []string{"romeo", "juliet"} {
		watcher, err := rawxmpp.Dial(ctx, rawxmpp.Config{Addr: w.srv.Addr, Domain: w.srv.Domain, User: user, Password: prosodytest.Password(user), Resource: "watcher"})
		if err != nil {
			t.Fatalf("%s's watcher: %v", user, err)
		}
		if err := watcher.Send(`<presence/>`); err != nil {
			t.Fatal(err)
		}
		for _, d := range w.devices() {
			if d.closed || jid.MustParse(d.full).Localpart() != user {
				continue
			}
			full := d.full
			if _, err := watcher.Wait(ctx, func(st rawxmpp.Stanza) bool {
				return st.Name == "presence" && st.From() == full && st.Type() == ""
			}); err != nil {
				watcher.Close()
				t.Fatalf("%s did not come back online after the restart: %v", d.name, err)
			}
		}
		watcher.Close()
	}
}

// answeredCall has Romeo call Juliet, both her devices ring, the phone
// answers, and every device has seen it; it returns the call's id.
func (w *faultWorld) answeredCall(t *testing.T) string {
	t.Helper()
	id := w.ringingCall(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := w.phone.c.CallByID(id).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := w.romeo.waitEvent(t, 0, call.EventProceeded, id, wait); ev.Device.String() != w.phone.full {
		t.Errorf("romeo: answered by %s, want the phone", ev.Device)
	}
	if ev := w.tablet.waitEvent(t, 0, call.EventProceeded, id, wait); !ev.Elsewhere {
		t.Errorf("tablet: %+v, want answered elsewhere", ev)
	}
	return id
}

// ringingCall has Romeo call Juliet and returns once both her devices
// ring and Romeo heard both ringing.
func (w *faultWorld) ringingCall(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	h, err := w.romeo.c.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain), "audio")
	if err != nil {
		t.Fatal(err)
	}
	id := h.ID()
	w.phone.waitEvent(t, 0, call.EventIncoming, id, wait)
	w.tablet.waitEvent(t, 0, call.EventIncoming, id, wait)
	heard := map[string]bool{}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for !heard[w.phone.full] || !heard[w.tablet.full] {
		w.romeo.events.mu.Lock()
		for _, ev := range w.romeo.events.list {
			if ev.Type == call.EventRinging && ev.ID == id {
				heard[ev.Device.String()] = true
			}
		}
		changed := w.romeo.events.changed
		w.romeo.events.mu.Unlock()
		if heard[w.phone.full] && heard[w.tablet.full] {
			break
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("romeo heard only %v ringing", heard)
		}
	}
	return id
}

// restart starts the server again.
func (w *faultWorld) restart(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), faultWait)
	defer cancel()
	if err := w.srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
}

// hangUpReachesPeer: Romeo hangs up; the phone, the other side of the
// call, finishes it; both histories say answered, with a duration.
func (w *faultWorld) hangUpReachesPeer(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	from := w.phone.events.len()
	if err := w.romeo.c.CallByID(id).HangUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	w.romeo.waitEvent(t, 0, call.EventFinished, id, wait)
	if ev := w.phone.waitEvent(t, from, call.EventFinished, id, faultWait); ev.Failed {
		t.Errorf("phone: the call ended failed (%s), want finished by Romeo", ev.Reason)
	}
	w.answeredRows(t, id)
}

// answeredRows: one row each; Romeo's and the phone's say answered on the
// phone with a duration (the call was up across the restart, seconds
// long), the tablet's answered elsewhere.
func (w *faultWorld) answeredRows(t *testing.T, id string) {
	t.Helper()
	for _, d := range []*device{w.romeo, w.phone} {
		e := d.oneRow(t, id, calllog.Answered)
		if e.Duration() <= 0 {
			t.Errorf("%s: answered %v, ended %v: no duration", d.name, e.Answered, e.End)
		}
		if e.Device != w.phone.full {
			t.Errorf("%s: answered by %q, want the phone", d.name, e.Device)
		}
	}
	w.tablet.oneRow(t, id, calllog.AnsweredElsewhere)
}

// rangOnce: each of Juliet's devices rang once for id, whatever the
// reconnects and catch-ups replayed, and Romeo placed it once.
func (w *faultWorld) rangOnce(t *testing.T, id string) {
	t.Helper()
	for _, d := range []*device{w.phone, w.tablet} {
		if n := d.countEvents(call.EventIncoming, id); n != 1 {
			t.Errorf("%s rang %d times for %s, want once", d.name, n, id)
		}
	}
	if n := w.romeo.countEvents(call.EventProposed, id); n != 1 {
		t.Errorf("romeo: %d proposed events for %s, want 1", n, id)
	}
	for _, d := range w.devices() {
		if n := d.countEvents(call.EventProceeded, id); n > 1 {
			t.Errorf("%s: %d proceeded events for %s, want at most 1", d.name, n, id)
		}
	}
}

// TestServerKilledMidRing: Prosody is SIGKILLed while Juliet's devices
// ring; no stream is closed, each device finds its connection reset. The
// call rings on after the restart: the server is back within seconds, far
// inside the callee's ring window (60 s from the propose) and the caller's
// ring timeout (45 s), so no device has a reason to end it, and the
// catch-up that follows each reconnect reads the propose from the archive
// again without ringing twice. The phone answers after the restart; Romeo
// and the tablet learn it; Romeo's hang-up reaches the phone.
func TestServerKilledMidRing(t *testing.T) {
	w := newFaultWorld(t)
	id := w.ringingCall(t)
	marks := w.logMarks()
	if err := w.srv.Kill(); err != nil {
		t.Fatal(err)
	}
	w.lost(t, marks)
	for _, d := range w.devices() {
		if info := d.state(t, id); info.State == call.StateEnded {
			t.Errorf("%s ended the call when the server died: %+v", d.name, info)
		}
	}
	w.restart(t)
	w.online(t)
	for _, d := range []*device{w.phone, w.tablet} {
		if info := d.state(t, id); info.State != call.StateRinging {
			t.Errorf("%s: the call is %v after the restart, want still ringing", d.name, info.State)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := w.phone.c.CallByID(id).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := w.romeo.waitEvent(t, 0, call.EventProceeded, id, faultWait); ev.Device.String() != w.phone.full {
		t.Errorf("romeo: answered by %s, want the phone", ev.Device)
	}
	if ev := w.tablet.waitEvent(t, 0, call.EventProceeded, id, faultWait); !ev.Elsewhere {
		t.Errorf("tablet: %+v, want answered elsewhere", ev)
	}
	w.hangUpReachesPeer(t, id)
	w.rangOnce(t, id)
}

// TestServerDownMidCall: Prosody goes away while the call is up, SIGKILLed
// (connections reset) or stopped (it closes every stream first), and comes
// back. A call answered is between the devices, not on the server: it is
// still up on the phone and at Romeo after the restart, and Romeo's
// hang-up then reaches the phone. (The graceful stop mid-ring is the
// client's end-to-end scenario restart-mid-call.)
func TestServerDownMidCall(t *testing.T) {
	for _, tc := range []struct {
		name string
		down func(*prosodytest.Server) error
	}{
		{"killed", (*prosodytest.Server).Kill},
		{"stopped", (*prosodytest.Server).Stop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newFaultWorld(t)
			id := w.answeredCall(t)
			marks := w.logMarks()
			if err := tc.down(w.srv); err != nil {
				t.Fatal(err)
			}
			w.lost(t, marks)
			w.restart(t)
			w.online(t)
			for _, d := range []*device{w.romeo, w.phone} {
				if info := d.state(t, id); info.State != call.StateActive || info.Elsewhere {
					t.Errorf("%s: the call is %v (elsewhere %v) after the restart, want up here", d.name, info.State, info.Elsewhere)
				}
			}
			if info := w.tablet.state(t, id); info.State != call.StateActive || !info.Elsewhere {
				t.Errorf("tablet: the call is %v (elsewhere %v), want answered elsewhere", info.State, info.Elsewhere)
			}
			w.hangUpReachesPeer(t, id)
			w.rangOnce(t, id)
		})
	}
}

// TestServerStoppedForGood: Prosody stops and stays down. Each device keeps
// trying with a back-off that doubles from 100 ms (no busy loop), a device
// closed meanwhile closes at once, and a hang-up given meanwhile is queued
// and reaches the peer once the server is back.
func TestServerStoppedForGood(t *testing.T) {
	w := newFaultWorld(t)
	id := w.answeredCall(t)
	marks := w.logMarks()
	began := time.Now()
	if err := w.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	w.lost(t, marks)

	// Five failed attempts: waits of 100, 200, 400, 800 and 1600 ms.
	const attempts = 5
	fails := w.romeo.logs.waitFor(t, "romeo", marks[0], "reconnect failed", attempts, faultWait)
	want := 100 * time.Millisecond
	for i, f := range fails {
		if got := f.attrs["retry_in"].Duration(); got != want {
			t.Errorf("attempt %d: retry_in %s, want %s", i+1, got, want)
		}
		if i > 0 {
			if gap := f.at.Sub(fails[i-1].at); gap < want {
				t.Errorf("attempt %d came %s after the one before, want at least its back-off %s", i+1, gap, want)
			}
		}
		want *= 2
	}
	// Over the whole time down, the attempts stay few: a busy loop would
	// have made thousands.
	elapsed := time.Since(began)
	n := len(w.romeo.logs.matching("reconnect failed"))
	if limit := 2 + int(elapsed/(100*time.Millisecond)); n > limit || n > 12 {
		t.Errorf("%d reconnect attempts in %s", n, elapsed)
	}
	t.Logf("romeo: %d failed reconnects in %s down", n, elapsed.Round(time.Millisecond))

	// The tablet is closed while it backs off: Close returns at once.
	closed := make(chan error, 1)
	closing := time.Now()
	go func() { closed <- w.tablet.c.Close() }()
	select {
	case <-closed:
		t.Logf("tablet: Close took %s while the server was down", time.Since(closing).Round(time.Microsecond))
	case <-time.After(5 * time.Second):
		t.Fatal("tablet: Close did not return within 5 s while reconnecting")
	}
	w.tablet.closed = true
	<-w.tablet.events.done

	// The phone hangs up while the server is down: queued, not lost.
	queuedFrom := w.phone.logs.count()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	romeoFrom := w.romeo.events.len()
	if err := w.phone.c.CallByID(id).HangUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	w.phone.waitEvent(t, 0, call.EventFinished, id, wait)
	if q := w.phone.logs.waitFor(t, "phone", queuedFrom, "queued while offline", 1, wait); q[0].attrs["kind"].String() != "finish" {
		t.Errorf("phone queued a %s, want the finish", q[0].attrs["kind"])
	}
	if evs := w.romeo.events.since(romeoFrom); len(evs) != 0 {
		t.Errorf("romeo learned %v while the server was down", evs)
	}

	w.restart(t)
	w.online(t)
	if ev := w.romeo.waitEvent(t, romeoFrom, call.EventFinished, id, faultWait); ev.Failed || ev.Device.String() != w.phone.full {
		t.Errorf("romeo: %+v, want finished by the phone", ev)
	}
	for _, d := range []*device{w.romeo, w.phone} {
		e := d.oneRow(t, id, calllog.Answered)
		if e.Duration() <= 0 {
			t.Errorf("%s: answered %v, ended %v: no duration", d.name, e.Answered, e.End)
		}
	}
	w.rangOnce(t, id)
}
