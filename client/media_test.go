package client

import (
	"context"
	"fmt"
	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/internal/turntest"
	"log/slog"
	"math"
	"mellium.im/xmpp/jid"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/internal/rawxmpp"
	"github.com/jmi-xmpp/jmi/media"
	"mellium.im/xmpp/disco"
)

// heard is a Sink that keeps what a call side heard, and says when it has
// heard enough to measure.
type heard struct {
	mu      sync.Mutex
	samples []int16
	rate    int
	want    int
	enough  chan struct{}
	once    sync.Once
}

func newHeard(want time.Duration) *heard {
	return &heard{want: int(want / media.FrameDuration), enough: make(chan struct{})}
}

func (h *heard) WriteFrame(s []int16, rate int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rate = rate
	if len(h.samples) < h.want*media.FrameSamples(rate) {
		h.samples = append(h.samples, s...)
	} else {
		h.once.Do(func() { close(h.enough) })
	}
	return nil
}

// frequency is the frequency of the tone heard, from its second half (the
// first frames may be cut).
func (h *heard) frequency() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return media.Frequency(h.samples[len(h.samples)/2:], h.rate)
}

// mediaSide is one device with media in a test: a tone to send, what it
// heard per call, and when each call's media closed.
type mediaSide struct {
	name   string
	tone   float64
	mu     sync.Mutex
	heard  map[string]*heard
	closed map[string]chan struct{}
	// audioAt is when each call's first frame was heard.
	audioAt map[string]time.Time
	// sources counts the Sources asked for: a device that did not answer
	// must never start media.
	sources int
	log     *logBuffer
	// relayOnly makes its calls' media go through TURN only.
	relayOnly bool
}

func newMediaSide(name string, tone float64) *mediaSide {
	return &mediaSide{name: name, tone: tone, heard: map[string]*heard{}, closed: map[string]chan struct{}{}, audioAt: map[string]time.Time{}, log: &logBuffer{}}
}

func (s *mediaSide) config() *MediaConfig {
	return &MediaConfig{
		LoopbackOnly: true,
		RelayOnly:    s.relayOnly,
		Source: func(id string) (media.Source, error) {
			s.mu.Lock()
			s.sources++
			s.mu.Unlock()
			return &media.Tone{Frequency: s.tone}, nil
		},
		Sink: func(id string) (media.Sink, error) { return s.heardOn(id), nil },
		OnEvent: func(id string, ev media.Event) {
			if ev.Kind == media.EventState && ev.State == media.StateClosed {
				close(s.closedOn(id))
			}
			if ev.Kind == media.EventAudio {
				s.mu.Lock()
				s.audioAt[id] = time.Now()
				s.mu.Unlock()
			}
		},
	}
}

func (s *mediaSide) heardOn(id string) *heard {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.heard[id] == nil {
		s.heard[id] = newHeard(time.Second)
	}
	return s.heard[id]
}

func (s *mediaSide) closedOn(id string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed[id] == nil {
		s.closed[id] = make(chan struct{})
	}
	return s.closed[id]
}

func (s *mediaSide) firstAudio(id string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.audioAt[id]
}

func (s *mediaSide) sourceCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sources
}

// mediaDevice logs who/resource in with media, its log kept in side.log.
func (w *world) mediaDevice(t testing.TB, who, resource string, side *mediaSide) *Client {
	t.Helper()
	cfg := w.config(who, resource)
	cfg.Media = side.config()
	cfg.Logger = slog.New(slog.NewTextHandler(side.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return w.login(t, cfg)
}

// waitClosed waits until the media of call id closed on side.
func waitClosed(t testing.TB, side *mediaSide, id string) {
	t.Helper()
	select {
	case <-side.closedOn(id):
	case <-time.After(eventWait):
		t.Fatalf("%s: the media of call %s did not close", side.name, id)
	}
}

// checkConnected checks what MediaStats shows of a call with media under
// way.
func checkConnected(t testing.TB, name string, c *Client, id string) {
	t.Helper()
	st, ok := c.CallByID(id).MediaStats()
	if !ok {
		t.Fatalf("%s: no media stats for call %s", name, id)
	}
	if st.Codec != media.PCMU || st.PacketsSent == 0 || st.PacketsReceived == 0 || st.SelectedPair == "" || st.State != media.StateConnected {
		t.Errorf("%s: media %+v, want PCMU connected with packets both ways and a selected pair", name, st)
	}
	t.Logf("%s: %s, %s, sent %d received %d dropped %d lost %d, pair %s", name, st.Codec, st.SRTP, st.PacketsSent, st.PacketsReceived, st.PacketsDropped, st.PacketsLost, st.SelectedPair)
}

// TestE2EMediaCall: Romeo calls with a 440 Hz tone, Juliet's phone answers
// with 660 Hz, her tablet rings and stops and never starts media; each side
// hears the other's tone over Jingle RTP, MediaStats shows PCMU, packets
// both ways and a selected pair. Hanging up on either side sends
// session-terminate and finish, and ends both calls and both media
// sessions. No goroutine outlives Close.
func TestE2EMediaCall(t *testing.T) {
	onEveryServer(t, func(t *testing.T, srv testServer) {
		w := newWorldOn(t, srv)
		before := runtime.NumGoroutine()
		orchard, phone, tablet := newMediaSide("romeo", 440), newMediaSide("phone", 660), newMediaSide("tablet", 550)
		romeo := w.mediaDevice(t, "romeo", "orchard", orchard)
		juliet := w.mediaDevice(t, "juliet", "phone", phone)
		other := w.mediaDevice(t, "juliet", "tablet", tablet)
		sides := map[*Client]*mediaSide{romeo: orchard, juliet: phone}

		for _, hangUp := range []*Client{romeo, juliet} {
			ctx, cancel := context.WithTimeout(context.Background(), 4*eventWait)
			id, err := callID(romeo.Call(ctx, w.bare("juliet"), "audio"))
			if err != nil {
				t.Fatal(err)
			}
			waitEvent(t, juliet, "incoming on the phone", is(call.EventIncoming, id), eventWait)
			waitEvent(t, other, "incoming on the tablet", is(call.EventIncoming, id), eventWait)
			began := time.Now()
			if err := juliet.CallByID(id).Answer(ctx); err != nil {
				t.Fatal(err)
			}
			waitEvent(t, romeo, "proceeded", is(call.EventProceeded, id), eventWait)
			waitEvent(t, other, "answered elsewhere", is(call.EventProceeded, id), eventWait)
			for c, side := range sides {
				select {
				case <-side.heardOn(id).enough:
				case <-time.After(eventWait):
					st, _ := c.CallByID(id).MediaStats()
					t.Fatalf("%s heard no second of audio within %s: %+v", side.name, eventWait, st)
				}
			}
			t.Logf("a second of audio heard on both sides %s after the answer; the first frame after %s (romeo), %s (phone)", time.Since(began).Round(time.Millisecond), orchard.firstAudio(id).Sub(began).Round(time.Millisecond), phone.firstAudio(id).Sub(began).Round(time.Millisecond))
			for c, side := range sides {
				want := 1100 - side.tone // the other side's tone
				if got := side.heardOn(id).frequency(); math.Abs(got-want) > 5 {
					t.Errorf("%s heard %.1f Hz, want %.0f", side.name, got, want)
				}
				checkConnected(t, side.name, c, id)
			}
			if _, ok := other.CallByID(id).MediaStats(); ok || tablet.sourceCount() != 0 {
				t.Error("the tablet, which did not answer, has media")
			}

			if err := hangUp.CallByID(id).HangUp(ctx, nil); err != nil {
				t.Fatal(err)
			}
			for c := range sides {
				waitEvent(t, c, "finished", is(call.EventFinished, id), eventWait)
			}
			waitEvent(t, other, "finished on the tablet", is(call.EventFinished, id), eventWait)
			for c, side := range sides {
				waitClosed(t, side, id)
				if _, ok := c.CallByID(id).MediaStats(); ok {
					t.Errorf("%s: media stats after the call ended", side.name)
				}
			}
			// What went on the wire: the side that hung up sent finish and
			// session-terminate; the other received the session-terminate.
			hanger, far := sides[hangUp], orchard
			if hangUp == romeo {
				far = phone
			}
			if !logHas(hanger.log, "msg=sent", "kind=finish", "sid="+id) {
				t.Errorf("%s sent no finish for %s", hanger.name, id)
			}
			// The session-terminate came first and ended the call there:
			// Conversations and Dino hang up on it alone.
			got, ended := logLine(far.log, `msg="Jingle received"`, "action=session-terminate", "sid="+id), logLine(far.log, "msg=event", "event=finished", "sid="+id)
			if got < 0 || ended < 0 || got > ended {
				t.Errorf("%s: session-terminate for %s at line %d of the log, the call finished at line %d; want the terminate first", far.name, id, got, ended)
				t.Log(far.log.String())
			}
			cancel()
		}
		for _, c := range []*Client{romeo, juliet, other} {
			c.Close()
		}
		checkNoGoroutineLeak(t, before)
	})
}

// logHas says a line of the log has every one of parts.
func logHas(log *logBuffer, parts ...string) bool { return logLine(log, parts...) >= 0 }

// logLine is the number of the first line of the log that has every one of
// parts, or -1.
func logLine(log *logBuffer, parts ...string) int {
	for i, line := range strings.Split(log.String(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return i
		}
	}
	return -1
}

// checkNoGoroutineLeak waits until no more goroutines run than before.
func checkNoGoroutineLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.NewTimer(eventWait)
	defer deadline.Stop()
	// Polling the count, with a deadline: there is no event to wait on.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > before {
		select {
		case <-tick.C:
		case <-deadline.C:
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf)
		}
	}
}

// TestE2EMediaRefusals: with media on, a session-initiate that is not the
// one this device expects is refused (XEP-0166 §7.2, <unknown-session/>),
// and the real call is untouched: one from a stranger with the call's sid,
// one from another device of the caller, one on the tablet that did not
// answer, one for a sid that names no call, and a malformed one. A device
// that trusts only its roster answers a stranger <service-unavailable/>,
// as the server answers for a device that is offline.
func TestE2EMediaRefusals(t *testing.T) {
	w := newWorld(t)
	d := w.srv.Domain()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	before := runtime.NumGoroutine()
	orchard, phone, tablet := newMediaSide("romeo", 440), newMediaSide("phone", 660), newMediaSide("tablet", 550)
	romeo := w.mediaDevice(t, "romeo", "orchard", orchard)
	juliet := w.mediaDevice(t, "juliet", "phone", phone)
	other := w.mediaDevice(t, "juliet", "tablet", tablet)
	tybalt := w.raw(t, "tybalt", "sword")
	desk := w.raw(t, w.users["romeo"], "desk")

	id, err := callID(romeo.Call(ctx, w.bare("juliet"), "audio"))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, juliet, "incoming", is(call.EventIncoming, id), eventWait)
	if err := juliet.CallByID(id).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-phone.heardOn(id).enough:
	case <-ctx.Done():
		t.Fatal("the phone heard nothing")
	}
	unknownSession := iqIs("error", "<item-not-found", "<unknown-session xmlns='urn:xmpp:jingle:errors:1'")
	phoneJID, tabletJID := "juliet@"+d+"/phone", "juliet@"+d+"/tablet"
	for i, tc := range []struct {
		what string
		from *rawxmpp.Conn
		to   string
		sid  string
	}{
		{"from a stranger", tybalt, phoneJID, id},
		{"from another device of the caller", desk, phoneJID, id},
		{"on the device that did not answer", desk, tabletJID, id},
		{"for no call", desk, phoneJID, "no-such-call"},
	} {
		iqID := fmt.Sprintf("x%d", i)
		got, err := tc.from.IQ(ctx, iqID, dinoInitiate(iqID, tc.from.JID(), tc.to, tc.sid))
		if err != nil {
			t.Fatalf("%s: %v", tc.what, err)
		}
		if err := unknownSession(got); err != nil {
			t.Errorf("session-initiate %s: %v: %s", tc.what, err, got.Raw)
		}
	}
	// A device that trusts its roster only answers a stranger as an
	// offline device would: he must not learn it is online.
	lcfg := w.config("juliet", "laptop")
	lcfg.Trust, lcfg.Media = nil, newMediaSide("laptop", 330).config()
	laptop := w.login(t, lcfg)
	got, err := tybalt.IQ(ctx, "s1", dinoInitiate("s1", tybalt.JID(), laptop.Account().String(), id))
	if err != nil {
		t.Fatal(err)
	}
	if err := iqIs("error", "<service-unavailable")(got); err != nil {
		t.Errorf("session-initiate from a stranger to a device that trusts its roster: %v: %s", err, got.Raw)
	}
	got, err = desk.IQ(ctx, "bad", `<iq type='set' id='bad' to='`+phoneJID+`'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate'/></iq>`)
	if err != nil {
		t.Fatal(err)
	}
	if err := iqIs("error", "<bad-request")(got); err != nil {
		t.Errorf("malformed session-initiate: %v: %s", err, got.Raw)
	}
	checkConnected(t, "romeo", romeo, id)
	checkConnected(t, "phone", juliet, id)
	if _, ok := other.CallByID(id).MediaStats(); ok || tablet.sourceCount() != 0 {
		t.Error("the tablet has media")
	}
	// Close in the middle of the call ends its media, goroutines and all.
	tybalt.Close()
	desk.Close()
	for _, c := range []*Client{romeo, juliet, other, laptop} {
		c.Close()
	}
	waitClosed(t, orchard, id)
	waitClosed(t, phone, id)
	checkNoGoroutineLeak(t, before)
}

// TestE2EMediaFeatures: disco#info and the capabilities list the Jingle
// features exactly when media is on, so that Dino and Conversations offer a
// call button only then; the caps hash differs accordingly.
func TestE2EMediaFeatures(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	on := w.mediaDevice(t, "juliet", "phone", newMediaSide("phone", 660))
	off := w.device(t, "juliet", "tablet")
	asker := w.device(t, "romeo", "orchard")
	want := []string{"urn:xmpp:jingle:1", nsJingleRTP, nsJingleRTPAudio, nsJingleICEUDP, nsJingleDTLS}
	for _, tc := range []struct {
		c    *Client
		want bool
	}{{on, true}, {off, false}} {
		info, err := disco.GetInfo(ctx, "", tc.c.Account(), asker.sess())
		if err != nil {
			t.Fatal(err)
		}
		has := map[string]bool{}
		for _, f := range info.Features {
			has[f.Var] = true
		}
		for _, f := range want {
			if has[f] != tc.want {
				t.Errorf("%s: lists %s: %v, want %v", tc.c.Account(), f, has[f], tc.want)
			}
		}
		// The node of the caps names the same list.
		node := CapsNode + "#" + tc.c.capsVer()
		byNode, err := disco.GetInfo(ctx, node, tc.c.Account(), asker.sess())
		if err != nil {
			t.Fatalf("%s: disco#info of node %s: %v", tc.c.Account(), node, err)
		}
		if len(byNode.Features) != len(info.Features) {
			t.Errorf("%s: the caps node lists %d features, disco#info %d", tc.c.Account(), len(byNode.Features), len(info.Features))
		}
	}
	if on.capsVer() == off.capsVer() {
		t.Error("the caps hash is the same with media on and off")
	}
}

// waitHeard waits until side heard a second of call id, and checks it was
// the tone want.
// callHeard places a call from caller to callee's account, answers it on
// callee, and waits until each side heard a second of the other's tone.
func callHeard(t testing.TB, w *world, caller *Client, callerSide *mediaSide, callee *Client, calleeSide *mediaSide) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*eventWait)
	defer cancel()
	id, err := callID(caller.Call(ctx, callee.Account().Bare(), "audio"))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, callee, "incoming", is(call.EventIncoming, id), eventWait)
	if err := callee.CallByID(id).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitHeard(t, calleeSide, id, callerSide.tone)
	waitHeard(t, callerSide, id, calleeSide.tone)
	return id
}

func waitHeard(t testing.TB, side *mediaSide, id string, want float64) {
	t.Helper()
	select {
	case <-side.heardOn(id).enough:
	case <-time.After(eventWait):
		t.Fatalf("%s heard no second of call %s within %s", side.name, id, eventWait)
	}
	if got := side.heardOn(id).frequency(); math.Abs(got-want) > 5 {
		t.Errorf("%s heard %.1f Hz on call %s, want %.0f", side.name, got, id, want)
	}
}

// TestE2EMediaEndsAlone: each of the two hang-ups deployed clients send
// alone ends the call and its media on both sides: a session-terminate
// without finish (Dino 0.4.2, Conversations), and a finish without
// session-terminate (jmi without media, or a session lost on the way).
func TestE2EMediaEndsAlone(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	orchard, phone := newMediaSide("romeo", 440), newMediaSide("phone", 660)
	romeo := w.mediaDevice(t, "romeo", "orchard", orchard)
	juliet := w.mediaDevice(t, "juliet", "phone", phone)
	for _, alone := range []string{"session-terminate", "finish"} {
		id := callHeard(t, w, romeo, orchard, juliet, phone)
		if alone == "session-terminate" {
			// Romeo's device sends what Dino sends, behind the back of its
			// own Jingle engine.
			st, err := sessionTerminate(juliet.Account(), id, "cancel")
			if err != nil {
				t.Fatal(err)
			}
			if err := romeo.sendRaw(ctx, st); err != nil {
				t.Fatal(err)
			}
		} else {
			// A finish alone, behind the back of Romeo's engines, which
			// would send session-terminate with it.
			finish := `<message to='` + juliet.Account().String() + `' type='chat'><finish xmlns='urn:xmpp:jingle-message:0' id='` + id + `'><reason xmlns='urn:xmpp:jingle:1'><success/></reason></finish><store xmlns='urn:xmpp:hints'/></message>`
			if err := romeo.sendRaw(ctx, finish); err != nil {
				t.Fatal(err)
			}
		}
		ev := waitEvent(t, juliet, "finished", is(call.EventFinished, id), eventWait)
		if alone == "session-terminate" && ev.Reason != "cancel" {
			t.Errorf("ended by session-terminate with reason %q, want cancel", ev.Reason)
		}
		waitEvent(t, romeo, "finished", is(call.EventFinished, id), eventWait)
		waitClosed(t, phone, id)
		waitClosed(t, orchard, id)
	}
}

// TestE2EMediaMigration: Juliet's phone calls Romeo, then moves the call to
// her tablet (XEP-0353 §4.2): the media moves with it. The old session's
// media closes on both sides, and Romeo hears the tablet on the new call.
func TestE2EMediaMigration(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	orchard, phone, tablet := newMediaSide("romeo", 440), newMediaSide("phone", 660), newMediaSide("tablet", 550)
	romeo := w.mediaDevice(t, "romeo", "orchard", orchard)
	juliet := w.mediaDevice(t, "juliet", "phone", phone)
	other := w.mediaDevice(t, "juliet", "tablet", tablet)
	old, err := callID(juliet.Call(ctx, w.bare("romeo")))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, romeo, "incoming", is(call.EventIncoming, old), eventWait)
	if err := romeo.CallByID(old).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitHeard(t, orchard, old, 660)
	moved, err := callID(other.Call(ctx, w.bare("romeo")))
	if err != nil {
		t.Fatal(err)
	}
	waitClosed(t, phone, old)
	waitClosed(t, orchard, old)
	waitHeard(t, orchard, moved, 550)
	waitHeard(t, tablet, moved, 440)
	checkConnected(t, "romeo", romeo, moved)
	checkConnected(t, "tablet", other, moved)
	if _, ok := romeo.CallByID(old).MediaStats(); ok {
		t.Error("romeo: the old call still has media")
	}
}

// TestE2EMediaCrossed: Romeo and Juliet call each other at once (XEP-0353
// §4.1): one call survives, answered on both sides, and it alone has media.
func TestE2EMediaCrossed(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	orchard, phone := newMediaSide("romeo", 440), newMediaSide("phone", 660)
	romeo := w.mediaDevice(t, "romeo", "orchard", orchard)
	juliet := w.mediaDevice(t, "juliet", "phone", phone)
	ready(t, romeo, juliet)
	ids := make(chan string, 2)
	for _, c := range []struct {
		from *Client
		to   string
	}{{romeo, "juliet"}, {juliet, "romeo"}} {
		go func() {
			id, err := callID(c.from.Call(ctx, w.bare(c.to)))
			if err != nil {
				t.Error(err)
			}
			ids <- id
		}()
	}
	a, b := <-ids, <-ids
	oneSurvives(ctx, t, a, b, romeo, juliet)
	survivor, loser := min(a, b), max(a, b)
	waitHeard(t, orchard, survivor, 660)
	waitHeard(t, phone, survivor, 440)
	for c, side := range map[*Client]*mediaSide{romeo: orchard, juliet: phone} {
		if _, ok := c.CallByID(loser).MediaStats(); ok {
			t.Errorf("%s: the losing call has media", side.name)
		}
		if n := side.sourceCount(); n != 1 {
			t.Errorf("%s: %d media sessions, want one", side.name, n)
		}
	}
}

// TestE2EMediaEmbedded: the same flow through an application's own session
// (New and Run): Juliet's application answers Romeo's call, the Jingle IQs
// reach jmi through the application's mux, and audio flows both ways.
func TestE2EMediaEmbedded(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	orchard, phone := newMediaSide("romeo", 440), newMediaSide("phone", 660)
	romeo := w.mediaDevice(t, "romeo", "orchard", orchard)
	app := newEmbeddedAppWith(t, w, w.users["juliet"], "phone", Config{Trust: trustAll, Media: phone.config()})
	juliet := app.jmi
	id := callHeard(t, w, romeo, orchard, juliet, phone)
	checkConnected(t, "romeo", romeo, id)
	checkConnected(t, "embedded phone", juliet, id)
	if err := juliet.CallByID(id).HangUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, romeo, "finished", is(call.EventFinished, id), eventWait)
	waitClosed(t, orchard, id)
	waitClosed(t, phone, id)
}

// TestE2EMediaRelayFromServer: the client asks its server for STUN and TURN
// (XEP-0215, Prosody's mod_external_services) and its calls' media uses
// them: with MediaConfig.RelayOnly, a call connects only through the TURN
// server the server named, with credentials the server computed. Before
// the client asked, a relay-only call had no candidate at all.
func TestE2EMediaRelayFromServer(t *testing.T) {
	turn := turntest.New(t, turntest.Options{})
	w := newWorldOn(t, prosodyServer{prosodytest.New(t, prosodytest.Options{ExternalServices: &prosodytest.ExternalServices{
		Host: turn.Host, Port: turn.Port, Secret: turn.Secret, User: "jmi", TTL: time.Hour,
	}})})
	orchard, phone := newMediaSide("romeo", 440), newMediaSide("phone", 660)
	orchard.relayOnly, phone.relayOnly = true, true
	romeo, juliet := w.mediaDevice(t, "romeo", "orchard", orchard), w.mediaDevice(t, "juliet", "phone", phone)
	// The services are asked for after the login: wait until both have them.
	// (Polled under a deadline: the client has no event for it.)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(eventWait)
	for _, c := range []*Client{romeo, juliet} {
		for len(c.iceServers()) == 0 {
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("%s: no STUN or TURN from the server within %s", c.cfg.JID, eventWait)
			}
		}
	}
	id := callHeard(t, w, romeo, orchard, juliet, phone)
	for name, c := range map[string]*Client{"romeo": romeo, "juliet": juliet} {
		checkConnected(t, name, c, id)
		st, _ := c.CallByID(id).MediaStats()
		local, remote, _ := strings.Cut(st.SelectedPair, " <-> ")
		if !strings.Contains(local, " relay ") || !strings.Contains(remote, " relay ") {
			t.Errorf("%s: selected pair %q, want relay on both sides", name, st.SelectedPair)
		}
	}
	if n := turn.Allocations(); n != 2 {
		t.Errorf("the TURN server made %d allocations, want one per side", n)
	}
}

// TestE2EMediaPeerWithoutJingle: a device with media and one without
// (jmi --no-media, a bot that speaks JMI alone) call each other both ways,
// and each call stays up until it is hung up: the device with media asks
// the other's features first and starts no Jingle session with a device
// that lists no Jingle audio. Before, the caller's session-initiate was
// refused and ended the call at once, and a callee with media waited for
// a session-initiate that never came and ended the call after 60 s.
func TestE2EMediaPeerWithoutJingle(t *testing.T) {
	w := newWorld(t)
	side := newMediaSide("romeo", 440)
	romeo := w.mediaDevice(t, "romeo", "orchard", side)
	juliet := w.device(t, "juliet", "phone") // no media
	ctx, cancel := context.WithTimeout(context.Background(), 4*eventWait)
	defer cancel()
	for _, dir := range []struct {
		name           string
		caller, callee *Client
		to             jid.JID
	}{
		{"media calls no media", romeo, juliet, w.bare("juliet")},
		{"no media calls media", juliet, romeo, w.bare("romeo")},
	} {
		id, err := callID(dir.caller.Call(ctx, dir.to, "audio"))
		if err != nil {
			t.Fatal(err)
		}
		waitEvent(t, dir.callee, dir.name+": incoming", is(call.EventIncoming, id), eventWait)
		if err := dir.callee.CallByID(id).Answer(ctx); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, dir.caller, dir.name+": proceeded", is(call.EventProceeded, id), eventWait)
		// The device with media has asked, and knows.
		tick := time.NewTicker(10 * time.Millisecond)
		deadline := time.After(eventWait)
		for !logHas(side.log, "lists no Jingle audio", id) {
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("%s: the device with media did not find the other without Jingle within %s:\n%s", dir.name, eventWait, side.log)
			}
		}
		tick.Stop()
		for _, c := range []*Client{dir.caller, dir.callee} {
			if info, ok, err := c.CallByID(id).Info(ctx); err != nil || !ok || info.State != call.StateActive {
				t.Fatalf("%s: %s has the call as %+v (%v, %v), want it still up", dir.name, c.cfg.JID, info, ok, err)
			}
		}
		if _, ok := romeo.CallByID(id).MediaStats(); ok || side.sourceCount() != 0 {
			t.Errorf("%s: media started with a device without Jingle", dir.name)
		}
		if err := dir.caller.CallByID(id).HangUp(ctx, nil); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*Client{dir.caller, dir.callee} {
			ev := waitEvent(t, c, dir.name+": finished", is(call.EventFinished, id), eventWait)
			if ev.Reason != string(jmi.Success) {
				t.Errorf("%s: %s finished with %q, want success", dir.name, c.cfg.JID, ev.Reason)
			}
		}
	}
}
