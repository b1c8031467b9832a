package client

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/jid"
)

// BenchmarkExchange is the whole exchange propose → ringing → proceed
// through the private Prosody, from Romeo's Call to his proceeded event:
// three message hops (propose to the bare JID, ringing and proceed to full
// JIDs) plus the engine at both ends.
func BenchmarkExchange(b *testing.B) {
	w := newWorld(b)
	phone := w.device(b, "juliet", "phone")
	romeo := w.device(b, "romeo", "orchard")
	ctx := context.Background()
	juliet := jid.MustParse("juliet@" + w.srv.Domain)
	go func() {
		for ev := range phone.Events() {
			if ev.Type == call.EventIncoming {
				phone.Handle(ev.ID).Answer(ctx)
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
		romeo.Handle(id).HangUp(ctx)
		waitEvent(b, romeo, "finished", is(call.EventFinished, id), 10*time.Second)
		b.StartTimer()
	}
}

// BenchmarkFloor is the floor for BenchmarkExchange, measured the same way:
// three plain chat messages with <store/> between the same sessions (to
// Juliet's bare JID, back to Romeo's full JID, once more), each waited for.
func BenchmarkFloor(b *testing.B) {
	w := newWorld(b)
	phone := w.device(b, "juliet", "phone")
	romeo := w.device(b, "romeo", "orchard")
	ctx := context.Background()
	d := w.srv.Domain
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
