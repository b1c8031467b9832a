package media

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/sdp"
)

// TestHostileRTP: a peer of our own making (a bare pion PeerConnection
// answering the Session's offer through Jingle) sends, through the real
// SRTP, packets a network may bring: repeated, late, too large, and a gap.
// The Session decodes the good ones in order, counts and drops the rest,
// writes silence for the gap, and keeps running.
func TestHostileRTP(t *testing.T) {
	heard := newMemorySink(4 + 2) // 4 good packets and a frame of silence for each of the 2 lost
	ev := newEvents()
	s, err := NewSession(Config{Role: Initiator, LoopbackOnly: true, Sink: heard, OnEvent: ev.on})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()

	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	var m webrtc.MediaEngine
	if err := m.RegisterCodec(PCMU.parameters(), webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	peer, err := webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = peer.Close() }()
	track, err := webrtc.NewTrackLocalStaticRTP(PCMU.parameters().RTPCodecCapability, "audio", "hostile")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{})
	var once sync.Once
	peer.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	peer.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		cand, err := sdp.CandidateToJingle(c.ToJSON().Candidate)
		if err == nil {
			_ = s.AddRemoteCandidate(s.content, cand)
		}
	})

	offer, err := s.Offer()
	if err != nil {
		t.Fatal(err)
	}
	s.Started()
	desc, err := sdp.FromJingle(&jingle.Jingle{Action: jingle.ActionSessionInitiate, Contents: viaWire(t, jingle.ActionSessionInitiate, offer)}, sdp.Initiator)
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: desc.SDP}); err != nil {
		t.Fatal(err)
	}
	answer, err := peer.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	session, err := sdp.ToJingle(peer.LocalDescription().SDP, sdp.Responder)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Accept(viaWire(t, jingle.ActionSessionAccept, session.Contents)); err != nil {
		t.Fatal(err)
	}
	// The peer has its remote description: the Session's candidates
	// (held until Started, then given as events) can go to it.
	go func() {
		for e := range ev.ch {
			if e.Kind == EventState && e.State == StateClosed {
				return
			}
			if e.Kind != EventCandidate {
				continue
			}
			init, err := sdp.CandidateFromJingle(e.Content, e.Candidate)
			if err != nil {
				continue
			}
			_ = peer.AddICECandidate(init)
		}
	}()
	select {
	case <-connected:
	case <-time.After(deadline):
		t.Fatal("the peer did not connect")
	}

	good := func(b byte) []byte {
		p := make([]byte, 160)
		for i := range p {
			p[i] = b
		}
		return p
	}
	// pion's track writes whatever sequence numbers it is given (it sets
	// the SSRC and payload type it negotiated).
	packets := []struct {
		seq     uint16
		payload []byte
	}{
		{100, good(0x10)},
		{100, good(0x20)},         // repeated: SRTP's replay check drops it before us
		{99, good(0x30)},          // late
		{101, make([]byte, 1100)}, // too large: dropped, so 101 counts as lost
		{102, good(0x40)},
		{103, nil}, // empty: dropped, 103 counts as lost
		{104, good(0x50)},
		{105, good(0x60)},
	}
	tick := time.NewTicker(FrameDuration)
	defer tick.Stop()
	for _, p := range packets {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: p.seq, Timestamp: uint32(p.seq) * 160}, Payload: p.payload}
		if err := track.WriteRTP(pkt); err != nil {
			t.Fatal(err)
		}
		<-tick.C
	}
	got := heard.wait(t)
	st := s.Stats()
	t.Logf("stats: %d received, %d dropped, %d lost; %d samples heard", st.PacketsReceived, st.PacketsDropped, st.PacketsLost, len(got))
	silence := []byte(nil)
	want := [][]byte{good(0x10), silence, good(0x40), silence, good(0x50), good(0x60)}
	for i, w := range want {
		frame := got[i*160 : (i+1)*160]
		for j := range frame {
			exp := int16(0)
			if w != nil {
				exp = DecodeULaw(w[j])
			}
			if frame[j] != exp {
				t.Fatalf("frame %d sample %d: %d, want %d", i, j, frame[j], exp)
			}
		}
	}
	st = s.Stats()
	if st.PacketsReceived != 4 || st.PacketsDropped != 3 || st.PacketsLost != 2 || st.State != StateConnected {
		t.Errorf("stats: %d received, %d dropped, %d lost, %s; want 4, 3, 2, connected", st.PacketsReceived, st.PacketsDropped, st.PacketsLost, st.State)
	}
}
