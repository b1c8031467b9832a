package dinopeer_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/client"
	"github.com/jmi-xmpp/jmi/internal/dinopeer"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/media"
	"mellium.im/xmpp/jid"
)

// lanAddress gives the private network namespace an address beside the
// loopback's, on a veth pair: Dino's ICE (libnice) gathers no candidate on
// a loopback interface, and with none it never connects.
func lanAddress(t *testing.T) {
	t.Helper()
	for _, args := range [][]string{
		{"link", "add", "jmi0", "type", "veth", "peer", "name", "jmi1"},
		{"addr", "add", "10.99.0.1/24", "dev", "jmi0"},
		{"link", "set", "jmi0", "up"},
		{"link", "set", "jmi1", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "link", "del", "jmi0").CombinedOutput(); err != nil {
			t.Errorf("ip link del jmi0: %v: %s", err, out)
		}
	})
}

// TestDinoMedia: jmi with media calls Dino, Dino answers, and RTP flows
// both ways over the Jingle session jmi initiates: Dino 0.4.2 accepts jmi's
// session-initiate (PCMU and PCMA, DTLS-SRTP with a sha-256 fingerprint,
// rtcp-mux, candidates trickled) with PCMU and SRTP_AES128_CM_HMAC_SHA1_80,
// and jmi hangs up with session-terminate, which reaches Dino. Then Dino
// calls jmi, with no stand-in: jmi's device advertises Jingle audio, Dino
// sends its session-initiate (opus first, PCMU among the rest) to the device
// that answered, and RTP flows both ways again. jmi received
// nothing from Dino before media let pion take RTP that arrives before the
// session-accept is applied (Dino sends as soon as DTLS is up).
func TestDinoMedia(t *testing.T) {
	lanAddress(t) // before Dino starts: it reconnects when the network changes
	w := newWorld(t)
	d := w.dino
	var mu sync.Mutex
	var events []string
	var logs syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	romeo, err := client.Dial(ctx, client.Config{
		JID:      jid.MustParse(fmt.Sprintf("romeo@%s/media", w.srv.Domain)),
		Password: prosodytest.Password("romeo"),
		Server:   w.srv.Addr,
		CAFile:   w.srv.CAFile,
		Trust:    func(jid.JID) bool { return true },
		Logger:   slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Media: &client.MediaConfig{
			Source: func(string) (media.Source, error) { return &media.Tone{Frequency: 440}, nil },
			OnEvent: func(id string, ev media.Event) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, fmt.Sprintf("%s ice=%s dtls=%s state=%s", ev.Kind, ev.ICE, ev.DTLS, ev.State))
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		romeo.Close()
		for range romeo.Events() {
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("media events: %q", events)
			t.Logf("jmi's log:\n%s", logs.String())
			mu.Unlock()
		}
	})
	// Dino 0.4.2 now and then opens its call window on the click and
	// never sends <proceed/> (about 1 run in 4 here, and once in CI), and
	// now and then draws no call button: a flake of Dino's, not of the
	// call. The test withdraws, restarts Dino and tries again, twice at
	// most, and says so in its log.
	const attempts = 3
	var h *client.Call
	var log int
	for attempt := 1; ; attempt++ {
		var notes int
		notes, log = d.Notices(), d.Stanzas()
		h, err = romeo.Call(ctxFor(t), w.juliet, "audio")
		if err != nil {
			t.Fatal(err)
		}
		received(t, d, log, "propose", h.ID())
		n := ringing(t, d, notes, "romeo@"+w.srv.Domain)
		if err := d.Click(n.ID, "accept"); err != nil {
			t.Fatal(err)
		}
		if answered(romeo, h.ID(), dinoAnswerWait) {
			break
		}
		if attempt == attempts {
			t.Fatalf("Dino did not answer after the click, %d times", attempts)
		}
		t.Logf("Dino did not answer within %s of the click (attempt %d of %d): withdrawing, restarting Dino", dinoAnswerWait, attempt, attempts)
		if err := h.Withdraw(ctxFor(t), nil); err != nil {
			t.Fatal(err)
		}
		if err := d.Restart(ctxWithin(t, startWait)); err != nil {
			t.Fatal(err)
		}
	}
	accept, _, err := d.WaitStanza(ctxFor(t), log, "Dino's session-accept", func(s dinopeer.Stanza) bool {
		j := s.Find("urn:xmpp:jingle:1", "jingle")
		return !s.In && j != nil && j.Attr("action") == "session-accept" && j.Attr("sid") == h.ID()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Dino's session-accept: %s", accept.String())
	flowsWithDino(t, ctxFor(t), h)
	if err := h.HangUp(ctxFor(t), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.WaitStanza(ctxFor(t), log, "the session-terminate reaching Dino", func(s dinopeer.Stanza) bool {
		j := s.Find("urn:xmpp:jingle:1", "jingle")
		return s.In && j != nil && j.Attr("action") == "session-terminate" && j.Attr("sid") == h.ID()
	}); err != nil {
		t.Fatal(err)
	}

	// Dino calls: jmi's device with media advertises Jingle audio itself,
	// so Dino shows its call button without a stand-in, sends
	// session-initiate to the device that proceeded, and jmi accepts.
	if err := d.Restart(ctxWithin(t, startWait)); err != nil {
		t.Fatal(err)
	}
	if err := d.OpenConversation(ctxFor(t), 0); err != nil {
		t.Fatal(err)
	}
	var propose dinopeer.Stanza
	for attempt := 1; ; attempt++ {
		log = d.Stanzas()
		propose, err = d.StartAudioCall(ctxWithin(t, startWait), log)
		if err == nil {
			break
		}
		if attempt == attempts {
			t.Fatal(err)
		}
		t.Logf("%v (attempt %d of %d): restarting Dino", err, attempt, attempts)
		if err := d.Restart(ctxWithin(t, startWait)); err != nil {
			t.Fatal(err)
		}
		if err := d.OpenConversation(ctxFor(t), 0); err != nil {
			t.Fatal(err)
		}
	}
	id := propose.Child(jmi.NS, "propose").Attr("id")
	waitEvent(t, romeo, "incoming call from Dino", is(call.EventIncoming, id))
	if err := romeo.CallByID(id).Answer(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	flowsWithDino(t, ctxFor(t), romeo.CallByID(id))
	// This time the hang-up is Dino's: its session-terminate alone ends
	// the call and the media on jmi's side too.
	if _, err := d.HangUp(ctxFor(t), log, id); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, romeo, "the call finished by Dino's hang-up", is(call.EventFinished, id))
}

// dinoAnswerWait bounds the wait for Dino's answer after the click: it
// answers in well under a second when it does.
const dinoAnswerWait = 15 * time.Second

// answered waits up to d for call id to be proceeded on c, passing over
// other events.
func answered(c *client.Client, id string, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				return false
			}
			if ev.Type == call.EventProceeded && ev.ID == id {
				return true
			}
		case <-deadline.C:
			return false
		}
	}
}

// flowsWithDino waits until RTP went both ways on call h with Dino, and
// checks what Dino negotiated.
func flowsWithDino(t *testing.T, ctx context.Context, h *client.Call) {
	t.Helper()
	deadline := time.Now().Add(wait)
	var st media.Stats
	for {
		st, _ = h.MediaStats()
		if st.PacketsReceived >= 50 && st.PacketsSent >= 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no RTP both ways within %s: %+v", wait, st)
		}
		select {
		case <-time.After(100 * time.Millisecond): // polling the counters: there is no event per packet
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	if st.Codec != media.PCMU || st.SRTP != "SRTP_AES128_CM_HMAC_SHA1_80" || st.SelectedPair == "" {
		t.Errorf("with Dino: %+v, want PCMU over SRTP_AES128_CM_HMAC_SHA1_80 (Dino's only profile) on a selected pair", st)
	}
	t.Logf("with Dino: %s, %s, sent %d received %d dropped %d lost %d, pair %s", st.Codec, st.SRTP, st.PacketsSent, st.PacketsReceived, st.PacketsDropped, st.PacketsLost, st.SelectedPair)
}

// syncBuffer is a bytes.Buffer safe for the client's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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
