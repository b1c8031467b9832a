package sdp_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	psdp "github.com/pion/sdp/v3"

	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/sdp"
)

// seedFiles adds each golden session-initiate (and the wire package's
// other golden files) to the corpus.
func seedFiles(f *testing.F) {
	files, _ := filepath.Glob("../testdata/wire/*.xml")
	mine, _ := filepath.Glob("testdata/*.xml")
	for _, name := range append(files, mine...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// sdpLine reports whether l is a line FromJingle may write: a known type
// and no control character (a line break in a Jingle value must never make
// a line of its own).
func sdpLine(l string) bool {
	if len(l) < 2 || l[1] != '=' || !strings.Contains("vostamc", l[:1]) {
		return false
	}
	for i := 0; i < len(l); i++ {
		if l[i] < ' ' || l[i] >= 0x7f {
			return false
		}
	}
	return true
}

func withoutCandidates(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\r\n") {
		if !strings.HasPrefix(l, "a=candidate:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n")
}

// FuzzRoundTrip decodes a Jingle element and checks, for both authors, that
// its SDP parses with pion/sdp and holds only well-formed lines, that
// ToJingle reads it back into contents that go on the wire, and that the
// translation is then stable: Jingle→SDP→Jingle→SDP gives the first SDP
// again, less the candidates (which ToJingle leaves to trickling), and the
// same contents.
func FuzzRoundTrip(f *testing.F) {
	seedFiles(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		iq, err := jingle.Parse(in)
		if err != nil || iq.Jingle == nil {
			return
		}
		checkRoundTrip(t, iq.Jingle)
	})
}

// FuzzRoundTripFields builds one content from fuzzed values, the ones a
// peer controls, so that the fuzzer reaches the translation without having
// to write well-formed XML first; the element goes through the wire
// encoder and decoder, then the checks of FuzzRoundTrip.
func FuzzRoundTripFields(f *testing.F) {
	f.Add("0", "audio", "yC5f", "hB4bYwqVhl3cR1eO6pW2pTzm", "sha-256", "3B:1F:9C", uint8(1), uint8(0),
		"opus", uint8(111), uint32(48000), uint8(2), uint32(0), "useinbandfec", "1", "nack", "pli",
		"urn:ietf:params:rtp-hdrext:ssrc-audio-level", uint16(1), uint32(42), "msid", "a b",
		"1", "192.0.2.1", uint16(4000), uint8(1), "udp", "host")
	f.Add("audio", "video", " uf ", "p\r\na=x", "SHA-256", "ab:\ncd", uint8(2), uint8(3),
		"", uint8(8), uint32(0), uint8(1), uint32(20), "0-15", "", "transport-cc", "",
		"urn:x", uint16(300), uint32(7), "cname", "", "2", "fe80::1", uint16(9), uint8(2), "tcp", "srflx")
	f.Fuzz(func(t *testing.T, name, media, ufrag, pwd, hash, fp string, senders, setup uint8,
		codec string, id uint8, clockrate uint32, channels uint8, ptime uint32, prmName, prmValue, fbType, fbSub string,
		uri string, extID uint16, ssrc uint32, srcName, srcValue string,
		foundation, ip string, port uint16, component uint8, protocol, typ string) {
		c := jingle.Content{
			Name:    name,
			Senders: jingle.Senders(senders % 4),
			Description: &jingle.Description{
				Media: media,
				Payloads: []jingle.PayloadType{
					{ID: id % 128, Name: codec, Clockrate: clockrate, Channels: channels, PTime: ptime,
						Parameters: []jingle.Parameter{{Name: prmName, Value: prmValue}},
						Feedback:   []jingle.RTCPFeedback{{Type: fbType, Subtype: fbSub}}},
					{ID: 0, Name: "PCMU", Clockrate: 8000},
				},
				Feedback:         []jingle.RTCPFeedback{{Type: fbType}},
				HeaderExtensions: []jingle.HeaderExtension{{ID: extID, URI: uri, Senders: jingle.Senders(senders / 4 % 4)}},
				Sources:          []jingle.Source{{SSRC: ssrc, Parameters: []jingle.Parameter{{Name: srcName, Value: srcValue}}}},
				SourceGroups:     []jingle.SourceGroup{{Semantics: "FID", SSRCs: []uint32{ssrc, ssrc + 1}}},
				RTCPMux:          senders&16 != 0,
			},
			Transport: &jingle.Transport{
				Ufrag: ufrag, Pwd: pwd,
				Fingerprint: &jingle.Fingerprint{Hash: hash, Value: fp, Setup: jingle.Setup(setup % 5)},
				Candidates: []jingle.Candidate{{Component: component, Foundation: foundation, IP: ip, Port: port,
					Priority: clockrate, Protocol: protocol, Type: typ, Generation: channels, Network: id}},
			},
		}
		b, err := jingle.Marshal(&jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: "sid", Contents: []jingle.Content{c}})
		if err != nil {
			return // not a valid element: no peer can send it
		}
		iq, err := jingle.Parse(b)
		if err != nil {
			t.Fatalf("the wire package cannot read what it wrote: %v\n%s", err, b)
		}
		checkRoundTrip(t, iq.Jingle)
	})
}

// checkRoundTrip checks the properties of FuzzRoundTrip for j0.
func checkRoundTrip(t *testing.T, j0 *jingle.Jingle) {
	t.Helper()
	for _, author := range []sdp.Party{sdp.Initiator, sdp.Responder} {
		d1, err := sdp.FromJingle(j0, author)
		if err != nil {
			continue
		}
		var parsed psdp.SessionDescription
		if err := parsed.UnmarshalString(d1.SDP); err != nil {
			t.Fatalf("pion/sdp cannot parse FromJingle's SDP: %v\n%s", err, d1.SDP)
		}
		for _, l := range strings.Split(strings.TrimSuffix(d1.SDP, "\r\n"), "\r\n") {
			if !sdpLine(l) {
				t.Fatalf("FromJingle wrote the line %q\n%s", l, d1.SDP)
			}
		}
		s1, err := sdp.ToJingle(d1.SDP, author)
		if err != nil {
			t.Fatalf("ToJingle refuses FromJingle's SDP: %v\n%s", err, d1.SDP)
		}
		if len(s1.Contents) != len(j0.Contents) {
			t.Fatalf("%d contents back from %d\n%s", len(s1.Contents), len(j0.Contents), d1.SDP)
		}
		j1 := wire(t, s1.Jingle(j0.Action, j0.SID))
		if !reflect.DeepEqual(j1.Contents, s1.Contents) || !reflect.DeepEqual(j1.Group, s1.Group) {
			t.Fatalf("the contents changed on the wire:\n%+v\n%+v", s1.Contents, j1.Contents)
		}
		d2, err := sdp.FromJingle(j1, author)
		if err != nil {
			t.Fatalf("FromJingle refuses ToJingle's contents: %v\n%s", err, d1.SDP)
		}
		if want := withoutCandidates(d1.SDP); d2.SDP != want {
			t.Fatalf("SDP not stable:\nfirst\n%s\nthen\n%s", want, d2.SDP)
		}
		s2, err := sdp.ToJingle(d2.SDP, author)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s1.Contents, s2.Contents) || !reflect.DeepEqual(s1.Group, s2.Group) {
			t.Fatalf("contents not stable:\n%+v\n%+v", s1.Contents, s2.Contents)
		}
	}
}

// FuzzToJingle reads arbitrary SDP: no panic, and what ToJingle accepts
// goes on the wire, FromJingle accepts it, and reading that SDP again
// gives the same contents.
func FuzzToJingle(f *testing.F) {
	f.Add(pionOffer)
	files, _ := filepath.Glob("testdata/golden/*.sdp")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, author := range []sdp.Party{sdp.Initiator, sdp.Responder} {
			s, err := sdp.ToJingle(text, author)
			if err != nil {
				continue
			}
			if _, err := jingle.Marshal(s.Jingle(jingle.ActionSessionAccept, "sid")); err != nil {
				t.Fatalf("ToJingle's contents cannot go on the wire: %v", err)
			}
			d, err := sdp.FromJingle(s.Jingle(jingle.ActionSessionAccept, "sid"), author)
			if err != nil {
				t.Fatalf("FromJingle refuses ToJingle's contents: %v\n%q", err, text)
			}
			again, err := sdp.ToJingle(d.SDP, author)
			if err != nil {
				t.Fatal(err)
			}
			want := normalised(s, author)
			if !reflect.DeepEqual(again.Contents, want.Contents) || !reflect.DeepEqual(again.Group, want.Group) {
				t.Fatalf("contents not stable:\n%s\n%s\nfrom %q\nthen\n%s", dump(want), dump(again), text, d.SDP)
			}
		}
	})
}

// normalised returns s with what FromJingle adds to every SDP: rtcp-mux,
// a setup, a BUNDLE group of every content when there is none.
func normalised(s sdp.Session, author sdp.Party) sdp.Session {
	out := sdp.Session{Group: s.Group}
	var names []string
	for _, c := range s.Contents {
		d, t := *c.Description, *c.Transport
		f := *t.Fingerprint
		d.RTCPMux = true
		if f.Setup == jingle.SetupNone {
			f.Setup = jingle.SetupActpass
			if author == sdp.Responder {
				f.Setup = jingle.SetupActive
			}
		}
		t.Fingerprint = &f
		c.Description, c.Transport = &d, &t
		out.Contents = append(out.Contents, c)
		names = append(names, c.Name)
	}
	if out.Group == nil {
		out.Group = &jingle.Group{Semantics: "BUNDLE", Contents: names}
	}
	return out
}

// dump shows contents with what their pointers point to.
func dump(s sdp.Session) string {
	var b strings.Builder
	for _, c := range s.Contents {
		fmt.Fprintf(&b, "content %+v\n  description %+v\n  transport %+v\n  fingerprint %+v\n", c, *c.Description, *c.Transport, *c.Transport.Fingerprint)
	}
	fmt.Fprintf(&b, "group %+v\n", s.Group)
	return b.String()
}

// FuzzCandidate reads arbitrary candidate lines: no panic, and a candidate
// read without error goes on the wire in a transport-info, is written as a
// line again, and reads back the same.
func FuzzCandidate(f *testing.F) {
	for _, line := range []string{
		"candidate:2364598539 1 udp 2130706431 127.0.0.1 51756 typ host",
		"a=candidate:842163049 1 UDP 1686052607 198.51.100.7 50123 typ srflx raddr 192.0.2.10 rport 50123 generation 2 ufrag Xq9T network-id 1 network-cost 10",
		"candidate:3 1 tcp 1518280447 192.0.2.10 9 typ host tcptype active",
		"candidate:1 2 udp 2130706430 127.0.0.1 4001 typ host",
		"candidate:3 1 udp 41885439 203.0.113.5 3478 typ relay raddr 198.51.100.7 rport 50123 generation 1 network-id 3",
	} {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := sdp.CandidateToJingle(line)
		if err != nil {
			if !errors.Is(err, sdp.ErrBadCandidate) && !errors.Is(err, sdp.ErrUnusedCandidate) {
				t.Fatalf("error %v is neither ErrBadCandidate nor ErrUnusedCandidate", err)
			}
			return
		}
		info := &jingle.Jingle{Action: jingle.ActionTransportInfo, SID: "sid", Contents: []jingle.Content{{
			Name: "0", Transport: &jingle.Transport{Candidates: []jingle.Candidate{c}},
		}}}
		got := wire(t, info).Contents[0].Transport.Candidates[0]
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("the candidate changed on the wire:\n%+v\n%+v", c, got)
		}
		init, err := sdp.CandidateFromJingle("0", c)
		if err != nil {
			t.Fatalf("CandidateFromJingle refuses CandidateToJingle's %+v: %v", c, err)
		}
		back, err := sdp.CandidateToJingle(init.Candidate)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("not stable:\n%+v\n%+v\nfrom %q then %q", c, back, line, init.Candidate)
		}
	})
}
