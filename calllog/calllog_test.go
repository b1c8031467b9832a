package calllog

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func ev(typ call.EventType, dir call.Direction, sec int, mods ...func(*call.Event)) call.Event {
	e := call.Event{Type: typ, ID: "s1", Direction: dir, Peer: jid.MustParse("romeo@example.net"),
		Media: []string{"audio"}, At: t0.Add(time.Duration(sec) * time.Second)}
	for _, m := range mods {
		m(&e)
	}
	return e
}

func dev(d string) func(*call.Event) {
	return func(e *call.Event) { e.Device = jid.MustParse(d) }
}
func elsewhere(e *call.Event) { e.Elsewhere = true }
func tieBreak(e *call.Event)  { e.TieBreak = true }
func bounced(e *call.Event)   { e.Failed = true }

func TestApply(t *testing.T) {
	in, out := call.Incoming, call.Outgoing
	tests := []struct {
		name   string
		events []call.Event
		want   Outcome
		dur    time.Duration
		device string
	}{
		{"ringing", []call.Event{ev(call.EventIncoming, in, 0)}, Ringing, 0, ""},
		{"answered here", []call.Event{ev(call.EventIncoming, in, 0), ev(call.EventProceeded, in, 5, dev("juliet@example.com/phone")), ev(call.EventFinished, in, 65)}, Answered, time.Minute, "juliet@example.com/phone"},
		{"active", []call.Event{ev(call.EventIncoming, in, 0), ev(call.EventProceeded, in, 5)}, Active, 0, ""},
		{"answered elsewhere", []call.Event{ev(call.EventIncoming, in, 0), ev(call.EventProceeded, in, 5, elsewhere, dev("juliet@example.com/tablet"))}, AnsweredElsewhere, 0, "juliet@example.com/tablet"},
		{"declined", []call.Event{ev(call.EventProposed, out, 0), ev(call.EventRinging, out, 1), ev(call.EventRejected, out, 3)}, Declined, 0, ""},
		{"missed", []call.Event{ev(call.EventIncoming, in, 0), ev(call.EventMissed, in, 30)}, Missed, 0, ""},
		{"untrusted never rang", []call.Event{ev(call.EventMissed, in, 0)}, Missed, 0, ""},
		{"withdrawn", []call.Event{ev(call.EventProposed, out, 0), ev(call.EventRetracted, out, 9)}, Withdrawn, 0, ""},
		{"propose bounced", []call.Event{ev(call.EventProposed, out, 0), ev(call.EventFinished, out, 1, bounced)}, Failed, 0, ""},
		{"answer bounced", []call.Event{ev(call.EventIncoming, in, 0), ev(call.EventProceeded, in, 5, dev("juliet@example.com/phone")), ev(call.EventFinished, in, 6, bounced)}, Failed, 0, ""},
		{"finish without answer", []call.Event{ev(call.EventProposed, out, 0), ev(call.EventFinished, out, 2)}, Failed, 0, ""},
		{"no going back to ringing", []call.Event{ev(call.EventIncoming, in, 0), ev(call.EventMissed, in, 30), ev(call.EventRinging, in, 31)}, Missed, 0, ""},
		{"proceed after finish", []call.Event{ev(call.EventFinished, in, 65), ev(call.EventIncoming, in, 0), ev(call.EventProceeded, in, 5)}, Answered, time.Minute, ""},
		{"twice", []call.Event{ev(call.EventIncoming, in, 0), ev(call.EventProceeded, in, 5), ev(call.EventProceeded, in, 5), ev(call.EventFinished, in, 65), ev(call.EventFinished, in, 65)}, Answered, time.Minute, ""},
		{"ignored is no call", []call.Event{ev(call.EventIgnored, in, 0)}, "", 0, ""},
		{"crossed, ours withdrawn", []call.Event{ev(call.EventProposed, out, 0), ev(call.EventRetracted, out, 1, tieBreak)}, Crossed, 0, ""},
		{"crossed, theirs declined", []call.Event{ev(call.EventIncoming, in, 0), ev(call.EventRejected, in, 1, tieBreak)}, Crossed, 0, ""},
		{"tie-break beats an answer", []call.Event{ev(call.EventProposed, out, 0), ev(call.EventProceeded, out, 1, dev("juliet@example.com/phone")), ev(call.EventFinished, out, 2), ev(call.EventRejected, out, 3, tieBreak)}, Crossed, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Entry
			for _, x := range tt.events {
				Apply(&e, x)
			}
			if e.Outcome != tt.want || e.Duration() != tt.dur || e.Device != tt.device {
				t.Errorf("got %q %v %q, want %q %v %q", e.Outcome, e.Duration(), e.Device, tt.want, tt.dur, tt.device)
			}
			if tt.want != "" && !e.Start.Equal(t0) {
				t.Errorf("start %v, want %v", e.Start, t0)
			}
		})
	}
}

func TestRecordList(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i, x := range []call.Event{ev(call.EventIncoming, call.Incoming, 0), ev(call.EventMissed, call.Incoming, 30), ev(call.EventRinging, call.Incoming, 31)} {
		if err := l.Record(x); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	later := ev(call.EventProposed, call.Outgoing, 100)
	later.ID = "s2"
	if err := l.Record(later); err != nil {
		t.Fatal(err)
	}
	got, err := l.List(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "s2" || got[1].Outcome != Missed || got[1].Peer != "romeo@example.net" {
		t.Fatalf("got %+v", got)
	}
}

func TestConcurrentRecord(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				x := ev(call.EventIncoming, call.Incoming, i)
				x.ID = fmt.Sprintf("c%d", i)
				if err := l.Record(x); err != nil {
					errs <- err
				}
				x.Type, x.At = call.EventMissed, x.At.Add(time.Minute)
				if err := l.Record(x); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := l.List(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("%d entries, want 10", len(got))
	}
	for _, e := range got {
		if e.Outcome != Missed {
			t.Errorf("%s: %s", e.ID, e.Outcome)
		}
	}
}

func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(db, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO calls VALUES ('old', ?, 'incoming', 'romeo@example.net', 'audio', 'missed', '', 0, 0)`, t0.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var v int
	if err := l.db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != len(migrations) {
		t.Fatalf("version %d, %v", v, err)
	}
	got, err := l.List(context.Background(), 5)
	if err != nil || len(got) != 1 || got[0].Outcome != Missed {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestDefaultDir(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"JMI_DATA_DIR": "/d", "XDG_DATA_HOME": "/x", "HOME": "/h"}, "/d"},
		{map[string]string{"XDG_DATA_HOME": "/x", "HOME": "/h"}, "/x/jmi"},
		{map[string]string{"HOME": "/h"}, "/h/.local/share/jmi"},
	}
	for _, tt := range tests {
		got, err := DefaultDir(func(k string) string { return tt.env[k] })
		if err != nil || got != tt.want {
			t.Errorf("%v: %q %v, want %q", tt.env, got, err, tt.want)
		}
	}
	if _, err := DefaultDir(func(string) string { return "" }); err == nil {
		t.Error("no environment: no error")
	}
}

func BenchmarkRecord(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	x := ev(call.EventIncoming, call.Incoming, 0)
	for i := 0; b.Loop(); i++ {
		x.ID = fmt.Sprint(i)
		if err := l.Record(x); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOrderIndependent records each call's events in seeded random orders,
// some twice, and wants the same entry as in order.
func TestOrderIndependent(t *testing.T) {
	seed := time.Now().UnixNano()
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	in, out := call.Incoming, call.Outgoing
	calls := [][]call.Event{
		{ev(call.EventIncoming, in, 0), ev(call.EventProceeded, in, 5, dev("juliet@example.com/phone")), ev(call.EventFinished, in, 65)},
		{ev(call.EventIncoming, in, 0), ev(call.EventProceeded, in, 5, elsewhere, dev("juliet@example.com/tablet"))},
		{ev(call.EventProposed, out, 0), ev(call.EventRinging, out, 1), ev(call.EventRejected, out, 3)},
		{ev(call.EventIncoming, in, 0), ev(call.EventRinging, in, 1), ev(call.EventMissed, in, 30)},
		{ev(call.EventProposed, out, 0), ev(call.EventRinging, out, 1), ev(call.EventRetracted, out, 9)},
		{ev(call.EventProposed, out, 0), ev(call.EventProceeded, out, 1, dev("juliet@example.com/phone")), ev(call.EventRejected, out, 3, tieBreak)},
	}
	for i, evs := range calls {
		var want Entry
		for _, x := range evs {
			Apply(&want, x)
		}
		for n := 0; n < 50; n++ {
			shuffled := append([]call.Event(nil), evs...)
			shuffled = append(shuffled, evs[r.IntN(len(evs))])
			r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
			var got Entry
			for _, x := range shuffled {
				Apply(&got, x)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("seed %d, call %d, order %v:\ngot  %+v\nwant %+v", seed, i, shuffled, got, want)
			}
		}
	}
}

// TestRecordFloodSummary: a flood of proposes from a stranger, over the
// engine's limits, leaves the calls the engine kept and one row for all
// that it dropped, not one row each; recording that summary again changes
// nothing.
func TestRecordFloodSummary(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := call.New(call.Config{Account: jid.MustParse("juliet@capulet.example/phone"), MaxUntrustedPerPeer: 4})
	tybalt := jid.MustParse("tybalt@capulet.example/x")
	var summaries []call.Event
	record := func(effs []call.Effect) {
		t.Helper()
		for _, e := range effs {
			n, ok := e.(call.Notify)
			if !ok {
				continue
			}
			if n.Event.Type == call.EventIgnored && n.Event.Count > 0 {
				summaries = append(summaries, n.Event)
			}
			if err := l.Record(n.Event); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 100 {
		effs, err := m.Handle(t0, call.Signal{From: tybalt, To: jid.MustParse("juliet@capulet.example"), Via: call.ViaLive,
			Element: &jmi.Propose{ID: fmt.Sprint("flood-", i), Descriptions: []jmi.Description{jmi.RTP("audio")}}})
		if err != nil {
			t.Fatal(err)
		}
		record(effs)
	}
	effs, _ := m.Handle(t0.Add(2*time.Minute), call.Tick{})
	record(effs)
	if len(summaries) != 1 || summaries[0].Count != 96 {
		t.Fatalf("summaries %+v, want one counting the 96 dropped", summaries)
	}
	if err := l.Record(summaries[0]); err != nil {
		t.Fatal(err)
	}
	got, err := l.List(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var dropped []Entry
	for _, e := range got {
		if e.Outcome == Dropped {
			dropped = append(dropped, e)
		}
	}
	if len(got) != 5 || len(dropped) != 1 {
		t.Fatalf("%d rows, %d of them dropped, want the 4 calls kept and 1 summary: %+v", len(got), len(dropped), got)
	}
	if d := dropped[0]; d.Dropped != 96 || d.Peer != "tybalt@capulet.example" || d.Reason == "" {
		t.Errorf("summary row %+v, want 96 dropped from tybalt with the reason", d)
	}
}
