package client

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/ping"
)

// BenchmarkExchange is the whole exchange propose → ringing → proceed
// through the private Prosody, from Romeo's Call to his proceeded event:
// three message hops (propose to the bare JID, ringing and proceed to full
// JIDs) plus the engine at both ends, and what goes with them (directed
// presence both ways, the legacy accept).
func BenchmarkExchange(b *testing.B) { benchExchange(b, call.Config{}) }

// BenchmarkExchangeNoLegacyAccept is BenchmarkExchange without the legacy
// <accept/> to the callee's own account: what that one extra message, which
// the server handles before it writes the proceed out, costs.
func BenchmarkExchangeNoLegacyAccept(b *testing.B) {
	benchExchange(b, call.Config{NoLegacyAccept: true})
}

func benchExchange(b *testing.B, engine call.Config) {
	w := newWorld(b)
	phone := w.deviceWith(b, "juliet", "phone", engine)
	romeo := w.deviceWith(b, "romeo", "orchard", engine)
	ready(b, phone, romeo)
	ctx := context.Background()
	juliet := jid.MustParse("juliet@" + w.domain())
	finished := make(chan struct{}, 1)
	go func() {
		for ev := range phone.Events() {
			switch ev.Type {
			case call.EventIncoming:
				phone.CallByID(ev.ID).Answer(ctx)
			case call.EventFinished:
				finished <- struct{}{}
			}
		}
	}()
	b.ResetTimer()
	for b.Loop() {
		id, err := callID(romeo.Call(ctx, juliet))
		if err != nil {
			b.Fatal(err)
		}
		waitEvent(b, romeo, "proceeded", is(call.EventProceeded, id), 10*time.Second)
		b.StopTimer()
		// The hang-up is not measured, and must not be measured by the next
		// call either: wait until both finishes (Romeo's and the phone's
		// reply) are through the server, which is single-threaded. The
		// phone's finished event comes after its reply is written; a ping
		// from each session comes back after the server has handled
		// everything that session sent before it.
		romeo.CallByID(id).HangUp(ctx, nil)
		waitEvent(b, romeo, "finished", is(call.EventFinished, id), 10*time.Second)
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			b.Fatal("the phone did not finish")
		}
		quiet(b, w, phone, romeo)
		b.StartTimer()
	}
}

// ready waits for the first archive catch-up of each client: a message
// read again from the archive while the loop runs would be a second event
// for one hop.
func ready(tb testing.TB, cs ...*Client) {
	tb.Helper()
	for _, c := range cs {
		select {
		case <-c.Ready():
		case <-time.After(eventWait):
			tb.Fatalf("%s: no catch-up within %s", c.cfg.JID, eventWait)
		}
	}
}

// quiet returns once the server has handled everything the clients sent.
// The context is never cancelled, for the reason Client.life gives.
func quiet(b *testing.B, w *world, cs ...*Client) {
	for _, c := range cs {
		if err := ping.Send(context.Background(), c.sess(), jid.MustParse(w.domain())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloor is the floor for BenchmarkExchange, measured the same way:
// three plain chat messages with <store/> between the same sessions (to
// Juliet's bare JID, back to Romeo's full JID, once more), each waited for.
func BenchmarkFloor(b *testing.B) {
	w := newWorld(b)
	phone := w.device(b, "juliet", "phone")
	romeo := w.device(b, "romeo", "orchard")
	ready(b, phone, romeo)
	ctx := context.Background()
	d := w.domain()
	// Each hop is a message the receiving client reads and reports: an
	// id-less proceed, refused with an ignored event, the cheapest thing it
	// reports. So both benchmarks take the same path through the server and
	// the clients' loops; the difference is the engine's work.
	hop := func(from, to *Client, addr string, n int) {
		from.sendRaw(ctx, `<message to='`+addr+`' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0'/><store xmlns='urn:xmpp:hints'/></message>`)
		waitEvent(b, to, "hop "+strconv.Itoa(n), is(call.EventIgnored, ""), 10*time.Second)
	}
	b.ResetTimer()
	for b.Loop() {
		hop(romeo, phone, "juliet@"+d, 1)
		hop(phone, romeo, "romeo@"+d+"/orchard", 2)
		hop(romeo, phone, "juliet@"+d+"/phone", 3)
	}
}
