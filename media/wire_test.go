package media

import (
	"net"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/sdp"
)

// TestSentRTPHeaders: a bare pion PeerConnection answers the Session's
// offer through Jingle and reads what the Session sends. The packets are
// what pion's sample packetizer wrote: RTP version 2, the negotiated
// payload type, one SSRC, each sequence number one more than the last,
// the timestamp one frame (160 samples of PCMU) further, the marker set,
// a 160-byte payload.
func TestSentRTPHeaders(t *testing.T) {
	ev := newEvents()
	s, err := NewSession(Config{Role: Initiator, LoopbackOnly: true, Source: &Tone{Frequency: 440}, OnEvent: ev.on})
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
	if _, err := peer.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	const want = 20
	packets := make(chan *rtp.Packet, want)
	peer.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for range want {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			packets <- p
		}
	})
	peer.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		if cand, err := sdp.CandidateToJingle(c.ToJSON().Candidate); err == nil {
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
	go func() {
		for e := range ev.ch {
			if e.Kind == EventState && e.State == StateClosed {
				return
			}
			if e.Kind != EventCandidate {
				continue
			}
			if init, err := sdp.CandidateFromJingle(e.Content, e.Candidate); err == nil {
				_ = peer.AddICECandidate(init)
			}
		}
	}()

	timer := time.NewTimer(deadline)
	defer timer.Stop()
	var prev *rtp.Packet
	for i := range want {
		var p *rtp.Packet
		select {
		case p = <-packets:
		case <-timer.C:
			t.Fatalf("%d packets of %d heard", i, want)
		}
		if p.Version != 2 || p.PayloadType != PCMU.PayloadType || !p.Marker || len(p.Payload) != 160 {
			t.Errorf("packet %d: version %d, payload type %d, marker %v, %d bytes; want 2, %d, true, 160",
				i, p.Version, p.PayloadType, p.Marker, len(p.Payload), PCMU.PayloadType)
		}
		if prev != nil {
			if p.SSRC != prev.SSRC || p.SequenceNumber != prev.SequenceNumber+1 || p.Timestamp != prev.Timestamp+160 {
				t.Errorf("packet %d: SSRC %d, seq %d, timestamp %d after SSRC %d, seq %d, timestamp %d",
					i, p.SSRC, p.SequenceNumber, p.Timestamp, prev.SSRC, prev.SequenceNumber, prev.Timestamp)
			}
		}
		prev = p
	}
}
