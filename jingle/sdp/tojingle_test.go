package sdp_test

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/sdp"
)

// crlf joins lines as SDP does.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// pionOffer is an offer as pion v4 writes it, with what Jingle cannot
// carry: the session-level fingerprint, a=cryptex, a=rtcp-rsize, a=msid,
// the candidates gathered so far, and a data channel m-line.
var pionOffer = crlf(
	"v=0",
	"o=- 4215775240449105457 1796165171 IN IP4 0.0.0.0",
	"s=-",
	"t=0 0",
	"a=msid-semantic:WMS *",
	"a=fingerprint:sha-256 5a:72:7C:1C",
	"a=extmap-allow-mixed",
	"a=group:BUNDLE 0 1",
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 101",
	"c=IN IP4 0.0.0.0",
	"a=setup:actpass",
	"a=mid:0",
	"a=ice-ufrag:cOQnQfPTLAvdARlf",
	"a=ice-pwd:XSjFFaNXGJtLJWTthkMnKfjblgGWWvxc",
	"a=ice-options:trickle",
	"a=rtcp-mux",
	"a=rtcp-rsize",
	"a=cryptex",
	"a=rtpmap:111 opus/48000/2",
	"a=fmtp:111 minptime=10; useinbandfec=1",
	"a=rtcp-fb:111 transport-cc",
	"a=rtcp-fb:111 nack  pli",
	"a=rtpmap:9 G722/8000",
	"a=rtpmap:101 telephone-event/8000/1",
	"a=fmtp:101 0-15",
	"a=rtcp-fb:* nack",
	"a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
	"a=extmap:5/recvonly urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on",
	"a=ssrc-group:FID 4264316359 11",
	"a=ssrc:4264316359 cname:jmi",
	"a=ssrc:4264316359 msid:jmi   audio",
	"a=msid:jmi audio",
	"a=sendonly",
	"a=candidate:1 1 udp 2130706431 127.0.0.1 51756 typ host",
	"a=candidate:1 2 udp 2130706431 127.0.0.1 51756 typ host",
	"a=end-of-candidates",
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
	"c=IN IP4 0.0.0.0",
	"a=mid:1",
	"a=sctp-port:5000",
)

// TestToJingleOffer checks every field of the content made from pion's
// offer, and that what Jingle cannot carry is dropped and reported.
func TestToJingleOffer(t *testing.T) {
	s, err := sdp.ToJingle(pionOffer, sdp.Initiator)
	if err != nil {
		t.Fatal(err)
	}
	want := []jingle.Content{{
		Creator: jingle.CreatorInitiator,
		Name:    "0",
		Senders: jingle.SendersInitiator,
		Description: &jingle.Description{
			Media: "audio",
			Payloads: []jingle.PayloadType{
				{ID: 111, Name: "opus", Clockrate: 48000, Channels: 2,
					Parameters: []jingle.Parameter{{Name: "minptime", Value: "10"}, {Name: "useinbandfec", Value: "1"}},
					Feedback:   []jingle.RTCPFeedback{{Type: "transport-cc"}, {Type: "nack", Subtype: "pli"}}},
				{ID: 9, Name: "G722", Clockrate: 8000},
				{ID: 0, Name: "PCMU", Clockrate: 8000},
				{ID: 101, Name: "telephone-event", Clockrate: 8000, Parameters: []jingle.Parameter{{Name: "0-15"}}},
			},
			RTCPMux:  true,
			Feedback: []jingle.RTCPFeedback{{Type: "nack"}},
			HeaderExtensions: []jingle.HeaderExtension{
				{ID: 4, URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"},
				{ID: 5, URI: "urn:ietf:params:rtp-hdrext:ssrc-audio-level", Senders: jingle.SendersResponder},
			},
			ExtmapAllowMixed: true,
			Sources: []jingle.Source{{SSRC: 4264316359, Parameters: []jingle.Parameter{
				{Name: "cname", Value: "jmi"}, {Name: "msid", Value: "jmi audio"},
			}}},
			SourceGroups: []jingle.SourceGroup{{Semantics: "FID", SSRCs: []uint32{4264316359, 11}}},
		},
		Transport: &jingle.Transport{
			Ufrag: "cOQnQfPTLAvdARlf", Pwd: "XSjFFaNXGJtLJWTthkMnKfjblgGWWvxc",
			Fingerprint: &jingle.Fingerprint{Hash: "sha-256", Setup: jingle.SetupActpass, Value: "5A:72:7C:1C"},
			ICEOptions:  []string{"trickle"},
		},
	}}
	if !reflect.DeepEqual(s.Contents, want) {
		t.Errorf("contents\n%+v\nwant\n%+v", s.Contents, want)
		for i := range s.Contents {
			t.Logf("description %+v\ntransport %+v", *s.Contents[i].Description, *s.Contents[i].Transport)
		}
	}
	if g := s.Group; g == nil || g.Semantics != "BUNDLE" || !reflect.DeepEqual(g.Contents, []string{"0"}) {
		t.Errorf("group %+v, want BUNDLE of 0 (the data channel is not a content)", s.Group)
	}
	dropped := strings.Join(s.Dropped, "\n")
	for _, want := range []string{"a=cryptex", "a=rtcp-rsize", "a=msid ", "2 a=candidate dropped: candidates are trickled", "a=end-of-candidates", "m-line 1 (application", "vad=on", "a=msid-semantic"} {
		if !strings.Contains(dropped, want) {
			t.Errorf("Dropped does not mention %q:\n%s", want, dropped)
		}
	}
	if _, err := jingle.Marshal(s.Jingle(jingle.ActionSessionInitiate, "sid")); err != nil {
		t.Errorf("the contents cannot go on the wire: %v", err)
	}
}

func TestToJingle(t *testing.T) {
	base := []string{
		"v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
		"m=audio 9 UDP/TLS/RTP/SAVPF 0",
		"a=mid:a", "a=ice-ufrag:uf", "a=ice-pwd:pwpwpwpwpwpwpwpwpwpwpwpw",
		"a=fingerprint:sha-256 AB:CD", "a=setup:active",
	}
	with := func(lines ...string) string { return crlf(append(append([]string(nil), base...), lines...)...) }
	without := func(prefix string, lines ...string) string {
		var out []string
		for _, l := range base {
			if !strings.HasPrefix(l, prefix) {
				out = append(out, l)
			}
		}
		return crlf(append(out, lines...)...)
	}
	for _, tc := range []struct {
		name   string
		sdp    string
		author sdp.Party
		err    error
		check  func(t *testing.T, s sdp.Session)
	}{
		{name: "static payload type without rtpmap->PCMU/8000", sdp: with(), check: func(t *testing.T, s sdp.Session) {
			if p := s.Contents[0].Description.Payloads; len(p) != 1 || p[0].Name != "PCMU" || p[0].Clockrate != 8000 {
				t.Errorf("payloads %+v", p)
			}
			if s.Group != nil {
				t.Errorf("group %+v from an SDP without one", s.Group)
			}
		}},
		{name: "no direction->both", sdp: with(), check: func(t *testing.T, s sdp.Session) {
			if s.Contents[0].Senders != jingle.SendersBoth {
				t.Errorf("senders %s", s.Contents[0].Senders)
			}
		}},
		{name: "sendonly by the responder->senders responder", author: sdp.Responder, sdp: with("a=sendonly"), check: func(t *testing.T, s sdp.Session) {
			if s.Contents[0].Senders != jingle.SendersResponder {
				t.Errorf("senders %s", s.Contents[0].Senders)
			}
		}},
		{name: "recvonly by the responder->senders initiator", author: sdp.Responder, sdp: with("a=recvonly"), check: func(t *testing.T, s sdp.Session) {
			if s.Contents[0].Senders != jingle.SendersInitiator {
				t.Errorf("senders %s", s.Contents[0].Senders)
			}
		}},
		{name: "session-level inactive->senders none", sdp: crlf(append(append([]string(nil), base[:4]...), append([]string{"a=inactive"}, base[4:]...)...)...), check: func(t *testing.T, s sdp.Session) {
			if s.Contents[0].Senders != jingle.SendersNone {
				t.Errorf("senders %s", s.Contents[0].Senders)
			}
		}},
		{name: "ptime->every payload type", sdp: with("a=rtpmap:0 PCMU/8000", "a=ptime:20", "a=maxptime:40"), check: func(t *testing.T, s sdp.Session) {
			if p := s.Contents[0].Description.Payloads[0]; p.PTime != 20 || p.MaxPTime != 40 {
				t.Errorf("payload %+v", p)
			}
		}},
		{name: "rtpmap with a space in the name->payload dropped, none left", sdp: with("a=rtpmap:0 PC MU/8000"), err: sdp.ErrNoPayloadTypes},
		{name: "fmtp parameter with a space inside->dropped", sdp: with("a=fmtp:0 a=1 2;b=3"), check: func(t *testing.T, s sdp.Session) {
			if p := s.Contents[0].Description.Payloads[0].Parameters; !reflect.DeepEqual(p, []jingle.Parameter{{Name: "b", Value: "3"}}) {
				t.Errorf("parameters %+v", p)
			}
			if !strings.Contains(strings.Join(s.Dropped, "\n"), `"a=1 2"`) {
				t.Errorf("dropped %q", s.Dropped)
			}
		}},
		{name: "bad setup->fingerprint without setup", sdp: without("a=setup", "a=setup:sideways"), check: func(t *testing.T, s sdp.Session) {
			if f := s.Contents[0].Transport.Fingerprint; f.Setup != jingle.SetupNone {
				t.Errorf("setup %s", f.Setup)
			}
		}},
		{name: "no fingerprint->refused", sdp: without("a=fingerprint"), err: sdp.ErrNoFingerprint},
		{name: "no ice-pwd->refused", sdp: without("a=ice-pwd"), err: sdp.ErrNoCredentials},
		{name: "no mid->refused", sdp: without("a=mid"), err: sdp.ErrBadName},
		{name: "two m-lines of one mid->refused", sdp: with(base[4:]...), err: sdp.ErrDuplicateName},
		{name: "only a data channel->no content", sdp: crlf("v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:0"), err: sdp.ErrNoContents},
		{name: "17 m-lines->more contents than Jingle takes", sdp: func() string {
			lines := append([]string(nil), base[:4]...)
			for i := 0; i <= jingle.MaxContents; i++ {
				lines = append(lines, base[4], "a=mid:m"+strconv.Itoa(i))
				lines = append(lines, base[6:]...)
			}
			return crlf(lines...)
		}(), err: sdp.ErrMalformedSDP},
		{name: "not SDP->malformed", sdp: "hello\r\n", err: sdp.ErrMalformedSDP},
		{name: "empty->malformed", sdp: "", err: sdp.ErrMalformedSDP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sdp.ToJingle(tc.sdp, tc.author)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}
