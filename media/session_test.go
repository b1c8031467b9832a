package media

import (
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jmi-xmpp/jmi/jingle"
)

// frames of a call test: 1.5 s of 20 ms frames each way.
const callFrames = 75

// TestCallPCMU connects two sessions through Jingle contents only (offer,
// answer, accept and each candidate through the XML encoder and decoder)
// and sends a 440 Hz tone one way and 660 Hz the other. The µ-law frames
// arrive bit-exact, from the first one heard on; each side hears the
// other's tone and not its own; the callee's recording, re-read from its
// WAV file, holds the 440 Hz tone at 8000 Hz; after Close no goroutine is
// left.
func TestCallPCMU(t *testing.T) {
	before := runtime.NumGoroutine()
	wavPath := filepath.Join(t.TempDir(), "heard.wav")
	wav, err := CreateWAV(wavPath)
	if err != nil {
		t.Fatal(err)
	}
	toCallee := &loggingSource{src: &Tone{Frequency: 440}}
	toCaller := &loggingSource{src: &Tone{Frequency: 660}}
	calleeHeard, callerHeard := newMemorySink(callFrames), newMemorySink(callFrames)
	c := newCall(t,
		Config{Source: toCallee, Sink: callerHeard},
		Config{Source: toCaller, Sink: teeSink{calleeHeard, wav}},
	)
	c.start(t)
	callerEvents := c.callerEv.waitFor(t, "caller connected", isState(StateConnected))
	c.calleeEv.waitFor(t, "callee connected", isState(StateConnected))
	checkOrder(t, "caller", callerEvents)

	heardByCallee := calleeHeard.wait(t)
	heardByCaller := callerHeard.wait(t)
	checkBitExact(t, "callee", heardByCallee, toCallee.sent(), EncodeULaw, DecodeULaw)
	checkBitExact(t, "caller", heardByCaller, toCaller.sent(), EncodeULaw, DecodeULaw)
	checkTone(t, "callee", heardByCallee, 8000, 440, 660)
	checkTone(t, "caller", heardByCaller, 8000, 660, 440)

	st := c.caller.Stats()
	t.Logf("caller: %s, %s, %s, pair %s, srtp %s, sent %d (%d bytes), received %d, level %.1f/%.1f dBFS",
		st.State, st.Codec, st.DTLS, st.SelectedPair, st.SRTP, st.PacketsSent, st.BytesSent, st.PacketsReceived, st.SentLevel, st.ReceivedLevel)
	if st.Codec != PCMU || st.State != StateConnected || st.DTLS != webrtc.DTLSTransportStateConnected {
		t.Errorf("caller stats %+v: want PCMU, connected, DTLS connected", st)
	}
	if st.SelectedPair == "" || len(st.Pairs) == 0 || st.SRTP == "" {
		t.Errorf("caller stats: selected pair %q, %d pairs, SRTP %q: want them all", st.SelectedPair, len(st.Pairs), st.SRTP)
	}
	// The pairs name their candidates as the selected pair does, so that
	// the media log shows which of them ICE chose.
	chosen := false
	for _, p := range st.Pairs {
		chosen = chosen || p.Local+" <-> "+p.Remote == st.SelectedPair
	}
	if !chosen {
		t.Errorf("caller stats: no pair of %v is the selected %q", st.Pairs, st.SelectedPair)
	}
	if st.PacketsSent < callFrames || st.BytesSent != 160*st.PacketsSent || st.PacketsReceived < callFrames || st.PacketsDropped != 0 {
		t.Errorf("caller stats: %d sent (%d bytes), %d received, %d dropped", st.PacketsSent, st.BytesSent, st.PacketsReceived, st.PacketsDropped)
	}
	// The tone is at -20 dBFS peak, so -23 dBFS RMS; µ-law keeps it.
	if math.Abs(st.SentLevel+23) > 0.5 || math.Abs(st.ReceivedLevel+23) > 0.5 {
		t.Errorf("caller levels: sent %.2f, received %.2f dBFS, want -23", st.SentLevel, st.ReceivedLevel)
	}

	if err := c.caller.Close(); err != nil {
		t.Error(err)
	}
	if err := c.callee.Close(); err != nil {
		t.Error(err)
	}
	c.callerEv.waitFor(t, "caller closed", isState(StateClosed))
	c.calleeEv.waitFor(t, "callee closed", isState(StateClosed))
	if err := wav.Close(); err != nil {
		t.Fatal(err)
	}
	checkRecording(t, wavPath, 8000, 440, callFrames)
	checkNoErrors(t, c)
	checkNoLeak(t, before)
}

// checkOrder checks that the session became connecting, then connected
// only after ICE connected and DTLS connected.
func checkOrder(t *testing.T, who string, evs []Event) {
	t.Helper()
	iceUp, dtlsUp, connecting := false, false, false
	for _, ev := range evs {
		switch {
		case ev.Kind == EventICE && ev.ICE == webrtc.ICEConnectionStateConnected:
			iceUp = true
		case ev.Kind == EventDTLS && ev.DTLS == webrtc.DTLSTransportStateConnected:
			dtlsUp = true
		case ev.Kind == EventState && ev.State == StateConnecting:
			connecting = true
		case ev.Kind == EventState && ev.State == StateConnected:
			if !iceUp || !dtlsUp || !connecting {
				t.Errorf("%s: connected before ICE (%v), DTLS (%v) or connecting (%v): %s", who, iceUp, dtlsUp, connecting, describe(evs))
			}
		}
	}
}

// checkBitExact checks that heard is the G.711 of the frames sent, from
// the first frame heard on (frames sent before the connection was up may
// be lost, none after).
func checkBitExact(t *testing.T, who string, heard []int16, sent [][]int16, enc func(int16) byte, dec func(byte) int16) {
	t.Helper()
	const n = 160
	if len(heard) < n {
		t.Fatalf("%s heard %d samples", who, len(heard))
	}
	expect := make([][]int16, len(sent))
	for i, f := range sent {
		expect[i] = make([]int16, len(f))
		for j, s := range f {
			expect[i][j] = dec(enc(s))
		}
	}
	first := -1
	for i, f := range expect {
		if equal(f, heard[:n]) {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatalf("%s: the first frame heard is none of the %d sent", who, len(sent))
	}
	if first > 2 {
		t.Errorf("%s: the first %d frames sent were lost", who, first)
	}
	frames := len(heard) / n
	for k := range frames {
		if first+k >= len(expect) || !equal(expect[first+k], heard[k*n:(k+1)*n]) {
			t.Fatalf("%s: frame %d heard is not frame %d sent", who, k, first+k)
		}
	}
	t.Logf("%s: %d frames bit-exact, from frame %d sent", who, frames, first)
}

func equal(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkTone checks that samples hold want and not other.
func checkTone(t *testing.T, who string, samples []int16, rate int, want, other float64) {
	t.Helper()
	f := Frequency(samples, rate)
	atWant, atOther := ToneLevel(samples, rate, want), ToneLevel(samples, rate, other)
	t.Logf("%s heard %.1f Hz: %.1f dBFS at %.0f Hz, %.1f at %.0f Hz", who, f, atWant, want, atOther, other)
	if math.Abs(f-want) > 2 {
		t.Errorf("%s heard %.1f Hz, want %.0f", who, f, want)
	}
	if atWant < -26 || atOther > atWant-30 {
		t.Errorf("%s: %.1f dBFS at %.0f Hz, %.1f at %.0f Hz: want the first about -23 and the second far below", who, atWant, want, atOther, other)
	}
}

func checkRecording(t *testing.T, path string, rate int, hz float64, minFrames int) {
	t.Helper()
	r, err := OpenWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	if r.Rate != rate || r.Samples < int64(minFrames*FrameSamples(rate)) {
		t.Fatalf("recording: %d Hz, %d samples; want %d Hz, at least %d frames", r.Rate, r.Samples, rate, minFrames)
	}
	all := make([]int16, r.Samples)
	if err := r.ReadFrame(all, rate); err != nil {
		t.Fatal(err)
	}
	if f := Frequency(all, rate); math.Abs(f-hz) > 2 {
		t.Errorf("recording holds %.1f Hz, want %.0f", f, hz)
	}
}

func checkNoErrors(t *testing.T, c *call) {
	t.Helper()
	for {
		select {
		case err := <-c.errs:
			t.Error(err)
		default:
			return
		}
	}
}

// TestCallCodecChoice: the caller offers PCMU then PCMA, the callee
// accepts only PCMA. The answer has PCMA first, the caller replaces its
// track's codec, and the A-law frames arrive bit-exact both ways.
func TestCallCodecChoice(t *testing.T) {
	toCallee := &loggingSource{src: &Tone{Frequency: 440}}
	toCaller := &loggingSource{src: &Tone{Frequency: 660}}
	calleeHeard, callerHeard := newMemorySink(25), newMemorySink(25)
	c := newCall(t,
		Config{Source: toCallee, Sink: callerHeard},
		Config{Source: toCaller, Sink: calleeHeard, Codecs: []Codec{PCMA}},
	)
	c.connect(t)
	if p := c.offer[0].Description.Payloads; len(p) < 2 || p[0].Name != "PCMU" || p[1].Name != "PCMA" {
		t.Errorf("offer's payload types %+v, want PCMU then PCMA", p)
	}
	if p := c.answer[0].Description.Payloads; len(p) == 0 || p[0].Name != "PCMA" || p[0].ID != 8 {
		t.Errorf("answer's payload types %+v, want PCMA (8) first", p)
	}
	checkBitExact(t, "callee", calleeHeard.wait(t), toCallee.sent(), EncodeALaw, DecodeALaw)
	checkBitExact(t, "caller", callerHeard.wait(t), toCaller.sent(), EncodeALaw, DecodeALaw)
	if got := c.caller.Stats().Codec; got != PCMA {
		t.Errorf("caller's codec %s, want PCMA", got)
	}
	checkNoErrors(t, c)
}

// TestJingleProfile checks the offer and answer against the profile
// deployed clients need: one audio content, rtcp-mux, a sha-256
// fingerprint (caller actpass, callee active), ICE credentials and no
// candidate inside (they are trickled).
//
// Neither side has a Sink: each still tells the first audio heard.
func TestJingleProfile(t *testing.T) {
	c := newCall(t, Config{}, Config{})
	c.connect(t)
	c.callerEv.waitFor(t, "caller audio", isAudio)
	c.calleeEv.waitFor(t, "callee audio", isAudio)
	for _, side := range []struct {
		name     string
		contents []jingle.Content
		setup    jingle.Setup
	}{{"offer", c.offer, jingle.SetupActpass}, {"answer", c.answer, jingle.SetupActive}} {
		if len(side.contents) != 1 {
			t.Fatalf("%s: %d contents", side.name, len(side.contents))
		}
		ct := side.contents[0]
		d, tr := ct.Description, ct.Transport
		if d == nil || d.Media != "audio" || !d.RTCPMux {
			t.Errorf("%s: description %+v, want audio with rtcp-mux", side.name, d)
		}
		if tr == nil || tr.Ufrag == "" || tr.Pwd == "" || len(tr.Candidates) != 0 {
			t.Fatalf("%s: transport %+v, want credentials and no candidate", side.name, tr)
		}
		if f := tr.Fingerprint; f == nil || f.Hash != "sha-256" || f.Setup != side.setup {
			t.Errorf("%s: fingerprint %+v, want sha-256 with setup %s", side.name, f, side.setup)
		}
		if len(ct.Name) == 0 || len(ct.Name) > 16 {
			t.Errorf("%s: content name %q", side.name, ct.Name)
		}
	}
	if c.answer[0].Name != c.offer[0].Name {
		t.Errorf("answer's content %q, offer's %q", c.answer[0].Name, c.offer[0].Name)
	}
}

// TestCandidatesAfterStarted: the candidates gathered after Offer are
// held until Started, then given in the order pion gathered them, one per
// event, each of component 1 over UDP.
func TestCandidatesAfterStarted(t *testing.T) {
	ev := newEvents()
	s, err := NewSession(Config{Role: Initiator, LoopbackOnly: true, OnEvent: ev.on})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if _, err := s.Offer(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(deadline):
		t.Fatal("gathering did not complete")
	}
	n := s.Stats().LocalCandidates
	if n == 0 {
		t.Fatal("no local candidate gathered on loopback")
	}
drain:
	for {
		select {
		case e := <-ev.ch:
			if e.Kind == EventCandidate {
				t.Fatalf("candidate %+v given before Started", e.Candidate)
			}
		default:
			break drain
		}
	}
	s.Started()
	for i := range n {
		evs := ev.waitFor(t, "a candidate", func(e Event) bool { return e.Kind == EventCandidate })
		e := evs[len(evs)-1]
		if e.Candidate.Component != 1 || e.Candidate.Protocol != "udp" || e.Content == "" || e.Candidate.IP != "127.0.0.1" {
			t.Errorf("candidate %d: %+v of content %q", i, e.Candidate, e.Content)
		}
	}
}

// TestEarlyCandidatesReplayed: the caller's candidates reach the callee
// before the session-initiate is answered, and the caller gets none of
// the callee's: the call connects only if the callee kept the early ones
// and added them once it had the offer.
func TestEarlyCandidatesReplayed(t *testing.T) {
	c := newCall(t, Config{}, Config{})
	offer, err := c.caller.Offer()
	if err != nil {
		t.Fatal(err)
	}
	c.caller.Started()
	first := c.callerEv.waitFor(t, "a caller candidate", func(e Event) bool { return e.Kind == EventCandidate })
	name, cand := candidateViaWire(t, first[len(first)-1])
	if err := c.callee.AddRemoteCandidate(name, cand); err != nil {
		t.Fatalf("early candidate: %v", err)
	}
	answer, err := c.callee.Answer(viaWire(t, jingle.ActionSessionInitiate, offer))
	if err != nil {
		t.Fatal(err)
	}
	c.callee.Started()
	if err := c.caller.Accept(viaWire(t, jingle.ActionSessionAccept, answer)); err != nil {
		t.Fatal(err)
	}
	c.toCaller = false
	c.trickle(t)
	c.callerEv.waitFor(t, "caller connected", isState(StateConnected))
	c.calleeEv.waitFor(t, "callee connected", isState(StateConnected))
}

// TestRefusals: what a session must refuse, each with its error.
func TestRefusals(t *testing.T) {
	c := newCall(t, Config{}, Config{})
	offer, err := c.caller.Offer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.caller.Offer(); !errors.Is(err, ErrRole) {
		t.Errorf("second Offer: %v, want ErrRole", err)
	}
	if _, err := c.callee.Offer(); !errors.Is(err, ErrRole) {
		t.Errorf("Offer of a responder: %v, want ErrRole", err)
	}
	if err := c.callee.Accept(offer); !errors.Is(err, ErrRole) {
		t.Errorf("Accept of a responder: %v, want ErrRole", err)
	}
	video := viaWire(t, jingle.ActionSessionInitiate, offer)
	video[0].Description.Media = "video"
	if _, err := c.callee.Answer(video); !errors.Is(err, ErrNotAudio) {
		t.Errorf("Answer to video: %v, want ErrNotAudio", err)
	}
	two := append(viaWire(t, jingle.ActionSessionInitiate, offer), viaWire(t, jingle.ActionSessionInitiate, offer)...)
	two[1].Name = "1"
	if _, err := c.callee.Answer(two); !errors.Is(err, ErrNotAudio) {
		t.Errorf("Answer to two contents: %v, want ErrNotAudio", err)
	}

	opusOnly, err := NewSession(Config{Role: Responder, LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = opusOnly.Close() }()
	o := viaWire(t, jingle.ActionSessionInitiate, offer)
	o[0].Description.Payloads = []jingle.PayloadType{{ID: 111, Name: "opus", Clockrate: 48000, Channels: 2}}
	if _, err := opusOnly.Answer(o); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("Answer to an Opus-only offer: %v, want ErrNoCommonCodec", err)
	}

	rtcp := jingle.Candidate{Component: 2, Foundation: "1", IP: "127.0.0.1", Port: 5000, Priority: 1, Protocol: "udp", Type: "host"}
	if err := c.callee.AddRemoteCandidate(offer[0].Name, rtcp); err == nil {
		t.Error("a candidate of component 2 was taken")
	}
	host := rtcp
	host.Component = 1
	for range maxEarlyCandidates {
		if err := c.callee.AddRemoteCandidate(offer[0].Name, host); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.callee.AddRemoteCandidate(offer[0].Name, host); !errors.Is(err, ErrTooManyCandidates) {
		t.Errorf("candidate %d before the offer: %v, want ErrTooManyCandidates", maxEarlyCandidates+1, err)
	}
	if err := c.caller.Close(); err != nil {
		t.Error(err)
	}
	if err := c.caller.Accept(offer); !errors.Is(err, ErrClosed) {
		t.Errorf("Accept after Close: %v, want ErrClosed", err)
	}
	if err := c.caller.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestReceiverHostile feeds the receiver's gate packets a network may
// send: only the negotiated payload type, a sane size and a newer
// sequence number pass, and a gap counts its missing packets.
func TestReceiverHostile(t *testing.T) {
	r := &receiver{pt: 0}
	steps := []struct {
		pt      uint8
		seq     uint16
		size    int
		drop    bool
		missing int
	}{
		{0, 65534, 160, false, 0},
		{0, 65535, 160, false, 0},
		{0, 1, 160, false, 1},   // wraps, 0 is missing
		{0, 1, 160, true, 0},    // repeated
		{0, 0, 160, true, 0},    // late
		{8, 2, 160, true, 0},    // not negotiated
		{0, 2, 0, true, 0},      // empty
		{0, 2, 100000, true, 0}, // too large
		{0, 2, 1, false, 0},
		{0, 30000, 160, false, 29997}, // a jump: counted, the sink gets at most maxConcealed
		{0, 7000, 160, true, 0},       // half the sequence space back: late
	}
	for i, s := range steps {
		why, missing := r.accept(s.pt, s.seq, s.size)
		if (why != "") != s.drop || missing != s.missing {
			t.Errorf("step %d (pt %d seq %d size %d): dropped %q, missing %d; want drop %v, missing %d", i, s.pt, s.seq, s.size, why, missing, s.drop, s.missing)
		}
	}
}

// TestFailedWithoutCandidates: when no candidate crosses, ICE fails (with
// short time-outs here) and the session reports StateFailed after
// StateConnecting, and Close still ends it with StateClosed.
func TestFailedWithoutCandidates(t *testing.T) {
	short := func(se *webrtc.SettingEngine) {
		se.SetICETimeouts(200*time.Millisecond, 300*time.Millisecond, 50*time.Millisecond)
	}
	c := newCall(t, Config{Configure: short}, Config{Configure: short})
	c.toCaller, c.toCallee = false, false
	c.start(t)
	evs := c.callerEv.waitFor(t, "caller failed", isState(StateFailed))
	for _, ev := range evs {
		if ev.Kind == EventState && ev.State == StateConnected {
			t.Fatalf("connected without candidates: %s", describe(evs))
		}
	}
	if st := c.caller.Stats(); st.State != StateFailed || st.ICE != webrtc.ICEConnectionStateFailed {
		t.Errorf("stats: %s, ICE %s; want failed", st.State, st.ICE)
	}
	if err := c.caller.Close(); err != nil {
		t.Error(err)
	}
	c.callerEv.waitFor(t, "caller closed", isState(StateClosed))
}
