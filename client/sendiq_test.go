package client

import (
	"context"
	"encoding/xml"
	"errors"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/rawxmpp"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// TestE2ESendIQGivesUp: a SendIQ whose context ends before the answer
// returns at once and stops waiting as soon as its IQ is written, not at
// Close (it used to keep a goroutine until then); the answer that comes
// late is dropped, and the session goes on.
func TestE2ESendIQGivesUp(t *testing.T) {
	w := newWorld(t)
	silent := w.raw(t, "tybalt", "sword") // answers no IQ
	romeo := w.device(t, "romeo", "orchard")
	ended := make(chan struct{}, 4)
	romeo.sendIQEnded = func() { ended <- struct{}{} }

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	arrived := make(chan rawxmpp.Stanza, 1)
	go func() {
		wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer wcancel()
		st, err := silent.Wait(wctx, rawxmpp.Contains("urn:example:silent"))
		if err != nil {
			t.Error("the IQ did not arrive:", err)
		}
		cancel() // the caller gives up once the IQ is there
		arrived <- st
	}()
	query := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: "urn:example:silent", Local: "query"}})
	if _, err := romeo.SendIQ(ctx, stanza.IQ{To: jid.MustParse(silent.JID()), Type: stanza.GetIQ}, query); !errors.Is(err, context.Canceled) {
		t.Fatalf("SendIQ returned %v, want context.Canceled", err)
	}
	st := <-arrived
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("SendIQ still waits for the answer 5 s after its context ended")
	}

	// The late answer reaches no one, and the session still carries IQs.
	if err := silent.Send(`<iq type='result' id='` + rawxmpp.Escape(st.ID()) + `' to='` + romeo.Account().String() + `'/>`); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	ping := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsPing, Local: "ping"}})
	r, err := romeo.SendIQ(ctx2, stanza.IQ{To: jid.MustParse(w.srv.Domain()), Type: stanza.GetIQ}, ping)
	if err != nil {
		t.Fatal(err)
	}
	if typ := iqType(t, r); typ != "result" {
		t.Errorf("the server's ping answer is %q", typ)
	}
	if st, _ := romeo.Status(); st.State != ConnOnline {
		t.Errorf("status %v (%v) after the late answer, want online", st.State, st.Err)
	}
}
