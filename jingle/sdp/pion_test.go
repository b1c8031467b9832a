package sdp_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/sdp"
)

// pionCodecs are the audio codecs of pion's default media engine, in the
// order it prefers them: an answer takes the first of the offer's payload
// types among these.
var pionCodecs = []struct {
	name      string
	clockrate uint32
}{{"opus", 48000}, {"G722", 8000}, {"PCMU", 8000}, {"PCMA", 8000}}

func pionSupports(p jingle.PayloadType) bool {
	for _, c := range pionCodecs {
		if strings.EqualFold(p.Name, c.name) && p.Clockrate == c.clockrate {
			return true
		}
	}
	return false
}

// newPeer returns a pion PeerConnection that gathers only UDP over IPv4
// loopback, without mDNS: the candidates of a test on one machine, with no
// network beyond it.
func newPeer(t testing.TB) *webrtc.PeerConnection {
	t.Helper()
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(s)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// addAudio gives pc an Opus track to send, so that it offers or answers
// sendrecv as a calling device does.
func addAudio(t testing.TB, pc *webrtc.PeerConnection) {
	t.Helper()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "jmi")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
}

// goldenInitiates are the session-initiates of the wire package's golden
// files and of this package's testdata.
func goldenInitiates(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../testdata/wire/*session-initiate*.xml", "testdata/*session-initiate*.xml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasSuffix(f, ".golden.xml") { // the encoder's output of the same element
				files = append(files, f)
			}
		}
	}
	if len(files) < 3 {
		t.Fatalf("%d golden session-initiates, want at least Dino's, Conversations' and Monal's", len(files))
	}
	return files
}

func parseFile(t testing.TB, file string) jingle.IQ {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	iq, err := jingle.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return iq
}

// wire sends j through the XML encoder and decoder, as it would travel.
func wire(t testing.TB, j *jingle.Jingle) *jingle.Jingle {
	t.Helper()
	b, err := jingle.Marshal(j)
	if err != nil {
		t.Fatalf("encoding %s: %v", j.Action, err)
	}
	iq, err := jingle.Parse(b)
	if err != nil {
		t.Fatalf("decoding %s: %v\n%s", j.Action, err, b)
	}
	return iq.Jingle
}

// TestPionAnswersGoldenInitiates feeds the SDP of each golden
// session-initiate to a pion PeerConnection and checks that the answer,
// through ToJingle, is a session-accept that the client who sent the
// initiate would accept: the same content names, created by the initiator,
// a sha-256 fingerprint with setup active, rtcp-mux, and as first payload
// type the first of the offer that pion supports (Dino takes the first of
// an answer), every payload type one the offer had.
func TestPionAnswersGoldenInitiates(t *testing.T) {
	for _, file := range goldenInitiates(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			offer := parseFile(t, file).Jingle
			desc, err := sdp.FromJingle(offer, sdp.Initiator)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range desc.Dropped {
				t.Logf("dropped: %s", d)
			}
			pc := newPeer(t)
			addAudio(t, pc)
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: desc.SDP}); err != nil {
				t.Fatalf("SetRemoteDescription: %v\n%s", err, desc.SDP)
			}
			answer, err := pc.CreateAnswer(nil)
			if err != nil {
				t.Fatalf("CreateAnswer: %v", err)
			}
			if err := pc.SetLocalDescription(answer); err != nil {
				t.Fatalf("SetLocalDescription: %v", err)
			}
			text := pc.LocalDescription().SDP
			t.Logf("pion's answer:\n%s", text)
			if strings.Contains(text, "m=audio 0 ") {
				t.Errorf("pion rejected the content (port 0):\n%s", text)
			}
			session, err := sdp.ToJingle(text, sdp.Responder)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range session.Dropped {
				t.Logf("dropped from the answer: %s", d)
			}
			accept := session.Jingle(jingle.ActionSessionAccept, offer.SID)
			accept.Responder = "romeo@montague.example/orchard"
			accept = wire(t, accept)
			checkAccept(t, offer, accept)
		})
	}
}

func checkAccept(t *testing.T, offer, accept *jingle.Jingle) {
	t.Helper()
	if len(accept.Contents) != len(offer.Contents) {
		t.Fatalf("%d contents in the accept, %d in the offer", len(accept.Contents), len(offer.Contents))
	}
	if accept.Group == nil || accept.Group.Semantics != "BUNDLE" {
		t.Errorf("group %+v, want a BUNDLE", accept.Group)
	}
	for i, c := range accept.Contents {
		o := offer.Contents[i]
		if c.Name != o.Name || c.Creator != jingle.CreatorInitiator {
			t.Errorf("content %q created by %s, want %q created by the initiator", c.Name, c.Creator, o.Name)
		}
		if c.Senders != jingle.SendersBoth {
			t.Errorf("content %q senders %s, want both", c.Name, c.Senders)
		}
		d, tr := c.Description, c.Transport
		if d == nil || tr == nil {
			t.Fatalf("content %q without description or transport", c.Name)
		}
		if !d.RTCPMux {
			t.Errorf("content %q without rtcp-mux", c.Name)
		}
		if f := tr.Fingerprint; f == nil || f.Hash != "sha-256" || f.Setup != jingle.SetupActive || len(f.Value) != 95 {
			t.Errorf("content %q fingerprint %+v, want sha-256 with setup active", c.Name, f)
		}
		if tr.Ufrag == "" || tr.Pwd == "" || len(tr.Candidates) != 0 {
			t.Errorf("content %q transport ufrag %q, pwd %q, %d candidates: want credentials and no candidate (they are trickled)", c.Name, tr.Ufrag, tr.Pwd, len(tr.Candidates))
		}
		var first *jingle.PayloadType
		for j := range o.Description.Payloads {
			if p := &o.Description.Payloads[j]; pionSupports(*p) {
				first = p
				break
			}
		}
		if len(d.Payloads) == 0 || first == nil || d.Payloads[0].ID != first.ID || !strings.EqualFold(d.Payloads[0].Name, first.Name) {
			t.Errorf("content %q answers with %+v first, want %+v", c.Name, d.Payloads, first)
		}
		for _, p := range d.Payloads {
			found := false
			for _, q := range o.Description.Payloads {
				found = found || (q.ID == p.ID && strings.EqualFold(q.Name, p.Name) && q.Clockrate == p.Clockrate)
			}
			if !found {
				t.Errorf("content %q answers with payload type %d %s/%d, which the offer did not have", c.Name, p.ID, p.Name, p.Clockrate)
			}
		}
	}
}

// TestPionZeroesThePortWithoutBundle shows why FromJingle writes a BUNDLE
// group when the Jingle has none (Dino never sends one): to an offer without
// it, pion's answer rejects every m-line with port 0.
func TestPionZeroesThePortWithoutBundle(t *testing.T) {
	offer := parseFile(t, "../testdata/wire/dino-session-initiate.xml").Jingle
	desc, err := sdp.FromJingle(offer, sdp.Initiator)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		sdp      string
		wantPort string
	}{
		{"with the synthesised group", desc.SDP, "m=audio 9 "},
		{"without it", strings.Replace(desc.SDP, "a=group:BUNDLE audio\r\n", "", 1), "m=audio 0 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc := newPeer(t)
			addAudio(t, pc)
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: tc.sdp}); err != nil {
				t.Fatal(err)
			}
			answer, err := pc.CreateAnswer(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(answer.SDP, tc.wantPort) {
				t.Errorf("answer without %q:\n%s", tc.wantPort, answer.SDP)
			}
		})
	}
}

// trickler hands the candidates of one peer to the other through Jingle
// transport-info, as they are gathered, and holds those that arrive before
// the other peer has its remote description (pion's AddICECandidate fails
// before SetRemoteDescription; Conversations and Monal keep early
// transport-info the same way).
type trickler struct {
	t    testing.TB
	to   *webrtc.PeerConnection
	mu   sync.Mutex
	held []webrtc.ICECandidateInit
	sent int
	// ready is set once the receiving peer has its remote description.
	ready bool
	errs  chan error
}

func newTrickler(t testing.TB, from, to *webrtc.PeerConnection, sid string) *trickler {
	tr := &trickler{t: t, to: to, errs: make(chan error, 64)}
	from.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return // gathering is complete
		}
		init := c.ToJSON()
		cand, err := sdp.CandidateToJingle(init.Candidate)
		if err != nil {
			tr.errs <- err
			return
		}
		info := &jingle.Jingle{Action: jingle.ActionTransportInfo, SID: sid, Contents: []jingle.Content{{
			Name:      *init.SDPMid,
			Transport: &jingle.Transport{Candidates: []jingle.Candidate{cand}},
		}}}
		b, err := jingle.Marshal(info)
		if err != nil {
			tr.errs <- err
			return
		}
		iq, err := jingle.Parse(b)
		if err != nil {
			tr.errs <- err
			return
		}
		c0 := iq.Jingle.Contents[0]
		remote, err := sdp.CandidateFromJingle(c0.Name, c0.Transport.Candidates[0])
		if err != nil {
			tr.errs <- err
			return
		}
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.sent++
		if !tr.ready {
			tr.held = append(tr.held, remote)
			return
		}
		if err := to.AddICECandidate(remote); err != nil {
			tr.errs <- err
		}
	})
	return tr
}

// remoteSet replays the held candidates once the receiver has its remote
// description.
func (tr *trickler) remoteSet() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.ready = true
	for _, c := range tr.held {
		if err := tr.to.AddICECandidate(c); err != nil {
			tr.errs <- err
		}
	}
	tr.held = nil
}

// TestLoopbackThroughJingle connects two pion peers that exchange only what
// Jingle carries: the caller's offer becomes a session-initiate, which
// becomes the callee's remote offer; its answer a session-accept, which
// becomes the caller's remote answer; each candidate a transport-info. Each
// element goes through the XML encoder and decoder. Both peers must reach
// the connected state (ICE and DTLS: the fingerprints and roles crossed)
// within the deadline.
func TestLoopbackThroughJingle(t *testing.T) {
	const sid = "0f3c9a52-1b7d-4e86-a2c4-5d9e8f7a6b31"
	caller, callee := newPeer(t), newPeer(t)
	addAudio(t, caller)
	addAudio(t, callee)
	connected := func(pc *webrtc.PeerConnection) <-chan struct{} {
		ch := make(chan struct{})
		var once sync.Once
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateConnected {
				once.Do(func() { close(ch) })
			}
		})
		return ch
	}
	callerUp, calleeUp := connected(caller), connected(callee)
	toCallee := newTrickler(t, caller, callee, sid)
	toCaller := newTrickler(t, callee, caller, sid)

	offer, err := caller.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := caller.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	session, err := sdp.ToJingle(caller.LocalDescription().SDP, sdp.Initiator)
	if err != nil {
		t.Fatal(err)
	}
	initiate := session.Jingle(jingle.ActionSessionInitiate, sid)
	initiate.Initiator = "romeo@montague.example/orchard"
	initiate = wire(t, initiate)

	remoteOffer, err := sdp.FromJingle(initiate, sdp.Initiator)
	if err != nil {
		t.Fatal(err)
	}
	if err := callee.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: remoteOffer.SDP}); err != nil {
		t.Fatalf("%v\n%s", err, remoteOffer.SDP)
	}
	toCallee.remoteSet()
	answer, err := callee.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := callee.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	session, err = sdp.ToJingle(callee.LocalDescription().SDP, sdp.Responder)
	if err != nil {
		t.Fatal(err)
	}
	accept := wire(t, session.Jingle(jingle.ActionSessionAccept, sid))
	remoteAnswer, err := sdp.FromJingle(accept, sdp.Responder)
	if err != nil {
		t.Fatal(err)
	}
	if err := caller.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: remoteAnswer.SDP}); err != nil {
		t.Fatalf("%v\n%s", err, remoteAnswer.SDP)
	}
	toCaller.remoteSet()

	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for _, up := range []struct {
		who string
		ch  <-chan struct{}
	}{{"caller", callerUp}, {"callee", calleeUp}} {
		select {
		case <-up.ch:
		case err := <-toCallee.errs:
			t.Fatalf("trickling to the callee: %v", err)
		case err := <-toCaller.errs:
			t.Fatalf("trickling to the caller: %v", err)
		case <-deadline.C:
			t.Fatalf("the %s did not connect within 10 s (ICE %s/%s)", up.who, caller.ICEConnectionState(), callee.ICEConnectionState())
		}
	}
	for _, tr := range []*trickler{toCallee, toCaller} {
		tr.mu.Lock()
		n := tr.sent
		tr.mu.Unlock()
		if n == 0 {
			t.Error("connected without a trickled candidate: the test proves nothing")
		}
	}
	pair, err := selectedPair(caller)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("connected over %s; %d and %d candidates trickled", pair, toCallee.sent, toCaller.sent)
	t.Logf("the caller's offer, as the callee's pion received it:\n%s", remoteOffer.SDP)
}

func selectedPair(pc *webrtc.PeerConnection) (string, error) {
	for _, tr := range pc.GetTransceivers() {
		if s := tr.Sender(); s != nil && s.Transport() != nil {
			p, err := s.Transport().ICETransport().GetSelectedCandidatePair()
			if err != nil {
				return "", err
			}
			if p == nil {
				return "", errors.New("no selected candidate pair")
			}
			return p.String(), nil
		}
	}
	return "", errors.New("no transport")
}

// TestPionTakesGoldenAccept sets Conversations' session-accept, through
// FromJingle, as the answer to pion's offer: the path of a call that jmi
// places and Conversations answers.
func TestPionTakesGoldenAccept(t *testing.T) {
	accept := parseFile(t, "../testdata/wire/conversations-session-accept.xml").Jingle
	pc := newPeer(t)
	addAudio(t, pc)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := sdp.FromJingle(accept, sdp.Responder)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}); err != nil {
		t.Fatalf("SetRemoteDescription: %v\n%s", err, answer.SDP)
	}
	if got := pc.SignalingState(); got != webrtc.SignalingStateStable {
		t.Errorf("signaling state %s, want stable", got)
	}
	tr := pc.GetTransceivers()
	if len(tr) != 1 || tr[0].Mid() != "0" || tr[0].Direction() != webrtc.RTPTransceiverDirectionSendrecv {
		t.Fatalf("transceivers %v", tr)
	}
	codecs := tr[0].Sender().GetParameters().Codecs
	if len(codecs) == 0 || !strings.EqualFold(codecs[0].MimeType, webrtc.MimeTypeOpus) || codecs[0].PayloadType != 111 {
		t.Errorf("negotiated codecs %+v, want opus 111 first", codecs)
	}
}

// TestCandidatesOfGoldenTransportInfos translates every candidate of the
// golden transport-info elements: those of component 1 over UDP become
// lines that pion's parser reads, the others (Dino's component 2) are
// refused with ErrUnusedCandidate.
func TestCandidatesOfGoldenTransportInfos(t *testing.T) {
	files, err := filepath.Glob("../testdata/wire/*transport-info*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden transport-info (%v)", err)
	}
	used, unused := 0, 0
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.xml") {
			continue
		}
		for _, c := range parseFile(t, file).Jingle.Contents {
			for _, cand := range c.Transport.Candidates {
				init, err := sdp.CandidateFromJingle(c.Name, cand)
				if cand.Component != 1 || !strings.EqualFold(cand.Protocol, "udp") {
					if !errors.Is(err, sdp.ErrUnusedCandidate) {
						t.Errorf("%s: %+v gives %v, want ErrUnusedCandidate", file, cand, err)
					}
					unused++
					continue
				}
				if err != nil {
					t.Errorf("%s: %+v: %v", file, cand, err)
					continue
				}
				if _, err := ice.UnmarshalCandidate(init.Candidate); err != nil {
					t.Errorf("%s: pion cannot read %q: %v", file, init.Candidate, err)
				}
				used++
			}
		}
	}
	if used == 0 || unused == 0 {
		t.Errorf("%d candidates used and %d refused: the golden files should have both", used, unused)
	}
}

// TestPionAnswersAudioAndVideo offers an audio and video call as two
// contents without a group (Dino's audio content and the wire package's
// video content): pion answers both m-lines in one BUNDLE, and the accept
// has both contents, each with a codec of the offer first.
func TestPionAnswersAudioAndVideo(t *testing.T) {
	audio := parseFile(t, "../testdata/wire/dino-session-initiate.xml").Jingle
	video := parseFile(t, "../testdata/wire/content-add-video.xml").Jingle
	offer := &jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: audio.SID, Initiator: audio.Initiator,
		Contents: []jingle.Content{audio.Contents[0], video.Contents[0]}}
	offer = wire(t, offer)
	desc, err := sdp.FromJingle(offer, sdp.Initiator)
	if err != nil {
		t.Fatal(err)
	}
	pc := newPeer(t)
	addAudio(t, pc)
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: desc.SDP}); err != nil {
		t.Fatalf("SetRemoteDescription: %v\n%s", err, desc.SDP)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	text := pc.LocalDescription().SDP
	if strings.Contains(text, " 0 UDP/TLS/RTP/SAVPF") {
		t.Errorf("pion rejected a content (port 0):\n%s", text)
	}
	session, err := sdp.ToJingle(text, sdp.Responder)
	if err != nil {
		t.Fatal(err)
	}
	accept := wire(t, session.Jingle(jingle.ActionSessionAccept, offer.SID))
	if g := accept.Group; g == nil || strings.Join(g.Contents, " ") != "audio 1" {
		t.Errorf("group %+v, want BUNDLE audio 1", accept.Group)
	}
	if len(accept.Contents) != 2 {
		t.Fatalf("%d contents in the accept:\n%s", len(accept.Contents), text)
	}
	for i, c := range accept.Contents {
		o := offer.Contents[i]
		if c.Name != o.Name || c.Description.Media != o.Description.Media {
			t.Errorf("content %d is %q (%s), want %q (%s)", i, c.Name, c.Description.Media, o.Name, o.Description.Media)
		}
		if len(c.Description.Payloads) == 0 || c.Description.Payloads[0].ID != o.Description.Payloads[0].ID {
			t.Errorf("content %q answers with %+v first, want the offer's first, %d", c.Name, c.Description.Payloads, o.Description.Payloads[0].ID)
		}
	}
}
