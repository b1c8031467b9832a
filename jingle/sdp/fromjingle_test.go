package sdp_test

import (
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	psdp "github.com/pion/sdp/v3"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/sdp"
)

var update = flag.Bool("update", false, "rewrite the golden SDP files of testdata/golden")

// TestFromJingleGolden keeps the SDP of each golden session-initiate in
// testdata/golden (go test -run Golden -update rewrites them): a change in
// what reaches pion shows in review.
func TestFromJingleGolden(t *testing.T) {
	for _, file := range goldenInitiates(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".xml")
		t.Run(name, func(t *testing.T) {
			d, err := sdp.FromJingle(parseFile(t, file).Jingle, sdp.Initiator)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name+".sdp")
			if *update {
				if err := os.WriteFile(golden, []byte(d.SDP), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if d.SDP != string(want) {
				t.Errorf("SDP of %s differs from %s:\n%s", file, golden, d.SDP)
			}
		})
	}
}

// content returns an audio content as Dino sends it, with one candidate of
// each kind deployed clients send; the table tests change one thing in it.
func content(name string) jingle.Content {
	return jingle.Content{
		Name: name,
		Description: &jingle.Description{
			Media: "audio",
			Payloads: []jingle.PayloadType{
				{ID: 111, Name: "opus", Clockrate: 48000, Channels: 2, Parameters: []jingle.Parameter{{Name: "useinbandfec", Value: "1"}}},
				{ID: 0, Name: "PCMU", Clockrate: 8000},
			},
			RTCPMux: true,
		},
		Transport: &jingle.Transport{
			Ufrag: "218L", Pwd: "asd88fgpdd777uzjYhagZg",
			Fingerprint: &jingle.Fingerprint{Hash: "sha-256", Setup: jingle.SetupActpass, Value: "FD:72:1E:9A"},
			Candidates: []jingle.Candidate{
				{Component: 1, Foundation: "1", IP: "192.0.2.1", Port: 4000, Priority: 2130706431, Protocol: "udp", Type: "host", ID: "a"},
			},
		},
	}
}

func session(contents ...jingle.Content) *jingle.Jingle {
	return &jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: "s1", Contents: contents}
}

func TestFromJingle(t *testing.T) {
	type tc struct {
		name    string
		j       *jingle.Jingle
		author  sdp.Party
		err     error
		has     []string // lines the SDP must hold
		hasNot  []string // text the SDP must not hold
		dropped []string // text that Dropped must mention, in order
	}
	with := func(f func(c *jingle.Content)) *jingle.Jingle {
		c := content("audio")
		f(&c)
		return session(c)
	}
	tcs := []tc{
		{
			name: "Dino's content->one m-line with mid, credentials, DTLS, rtcp-mux",
			j:    session(content("audio")),
			has: []string{
				"a=group:BUNDLE audio", "m=audio 9 UDP/TLS/RTP/SAVPF 111 0", "c=IN IP4 0.0.0.0", "a=mid:audio",
				"a=ice-ufrag:218L", "a=ice-pwd:asd88fgpdd777uzjYhagZg", "a=fingerprint:sha-256 FD:72:1E:9A",
				"a=setup:actpass", "a=sendrecv", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2",
				"a=fmtp:111 useinbandfec=1", "a=rtpmap:0 PCMU/8000",
				"a=candidate:1 1 udp 2130706431 192.0.2.1 4000 typ host generation 0",
			},
		},
		{
			name: "no group->BUNDLE of every content",
			j: func() *jingle.Jingle {
				v := content("video")
				v.Description.Media = "video"
				v.Description.Payloads = []jingle.PayloadType{{ID: 96, Name: "VP8", Clockrate: 90000}}
				return session(content("audio"), v)
			}(),
			has: []string{"a=group:BUNDLE audio video", "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000"},
		},
		{
			name: "group naming an unknown content->its known members",
			j: func() *jingle.Jingle {
				j := session(content("0"))
				j.Group = &jingle.Group{Semantics: "BUNDLE", Contents: []string{"x", "0", "0"}}
				return j
			}(),
			has: []string{"a=group:BUNDLE 0"},
		},
		{
			name: "LS group->BUNDLE of every content",
			j: func() *jingle.Jingle {
				j := session(content("0"))
				j.Group = &jingle.Group{Semantics: "LS", Contents: []string{"0"}}
				return j
			}(),
			has:     []string{"a=group:BUNDLE 0"},
			dropped: []string{`group "LS"`},
		},
		{
			name: "candidates of component 2 and over tcp->dropped",
			j: with(func(c *jingle.Content) {
				c.Transport.Candidates = append(c.Transport.Candidates,
					jingle.Candidate{Component: 2, Foundation: "1", IP: "192.0.2.1", Port: 4001, Priority: 1, Protocol: "udp", Type: "host"},
					jingle.Candidate{Component: 1, Foundation: "2", IP: "192.0.2.1", Port: 9, Priority: 1, Protocol: "tcp", Type: "host"},
					jingle.Candidate{Component: 1, Foundation: "3", IP: "198.51.100.7", Port: 5000, Priority: 1, Protocol: "UDP", Type: "srflx", RelAddr: "192.0.2.1", RelPort: 4000, Network: 2, Generation: 1},
				)
			}),
			has: []string{
				"a=candidate:1 1 udp 2130706431 192.0.2.1 4000 typ host generation 0",
				"a=candidate:3 1 udp 1 198.51.100.7 5000 typ srflx raddr 192.0.2.1 rport 4000 generation 1 network-id 2",
			},
			hasNot:  []string{" 4001 ", " tcp "},
			dropped: []string{"candidate 2: " + sdp.ErrUnusedCandidate.Error() + ": component 2", "candidate 3: " + sdp.ErrUnusedCandidate.Error() + `: protocol "tcp"`},
		},
		{
			name: "fingerprint broken over lines, lower case->one upper-case word",
			j: with(func(c *jingle.Content) {
				c.Transport.Fingerprint.Value = "\n  fd:72:\n  1e:9a\n"
				c.Transport.Fingerprint.Hash = " SHA-256 "
			}),
			has: []string{"a=fingerprint:sha-256 FD:72:1E:9A"},
		},
		{
			name: "ufrag and pwd with white space around->trimmed",
			j: with(func(c *jingle.Content) {
				c.Transport.Ufrag = " 218L\n"
				c.Transport.Pwd = "\tasd88fgpdd777uzjYhagZg "
			}),
			has: []string{"a=ice-ufrag:218L", "a=ice-pwd:asd88fgpdd777uzjYhagZg"},
		},
		{
			name: "ufrag with a space inside->refused",
			j:    with(func(c *jingle.Content) { c.Transport.Ufrag = "21 8L" }),
			err:  sdp.ErrNoCredentials,
		},
		{
			name: "pwd with a line break inside->refused, never a line of its own",
			j:    with(func(c *jingle.Content) { c.Transport.Pwd = "asd88fgpdd777uzjYhagZg\r\na=inject" }),
			err:  sdp.ErrNoCredentials,
		},
		{
			name: "parameter value with spaces around->trimmed",
			j:    with(func(c *jingle.Content) { c.Description.Payloads[0].Parameters[0].Value = " 1 " }),
			has:  []string{"a=fmtp:111 useinbandfec=1"},
		},
		{
			name: "parameter value with a space or line break inside->that parameter dropped",
			j: with(func(c *jingle.Content) {
				c.Description.Payloads[0].Parameters = []jingle.Parameter{
					{Name: "minptime", Value: "1 0"}, {Name: "useinbandfec", Value: "1\r\na=inject:1"}, {Name: "stereo", Value: "1"},
				}
			}),
			has:     []string{"a=fmtp:111 stereo=1"},
			hasNot:  []string{"inject", "minptime"},
			dropped: []string{"minptime", "useinbandfec"},
		},
		{
			name: "parameter without a value (telephone-event's 0-15)->its name alone",
			j: with(func(c *jingle.Content) {
				c.Description.Payloads[1] = jingle.PayloadType{ID: 101, Name: "telephone-event", Clockrate: 8000, Parameters: []jingle.Parameter{{Name: "0-15"}}}
			}),
			has: []string{"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15"},
		},
		{
			name: "codec name with a line break->payload type dropped",
			j:    with(func(c *jingle.Content) { c.Description.Payloads[0].Name = "opus\r\na=inject" }),
			has:  []string{"m=audio 9 UDP/TLS/RTP/SAVPF 0"},
			hasNot: []string{
				"inject", "111",
			},
			dropped: []string{"payload type 111"},
		},
		{
			name: "static payload type without a name->named from RFC 3551",
			j: with(func(c *jingle.Content) {
				c.Description.Payloads = []jingle.PayloadType{{ID: 8}, {ID: 0, Clockrate: 8000}}
			}),
			has: []string{"m=audio 9 UDP/TLS/RTP/SAVPF 8 0", "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000"},
		},
		{
			name: "dynamic payload type without clock rate, repeated id->dropped",
			j: with(func(c *jingle.Content) {
				c.Description.Payloads = append(c.Description.Payloads, jingle.PayloadType{ID: 96, Name: "speex"}, jingle.PayloadType{ID: 0, Name: "PCMA", Clockrate: 8000})
			}),
			has:     []string{"m=audio 9 UDP/TLS/RTP/SAVPF 111 0"},
			dropped: []string{"payload type 96", "payload type 0"},
		},
		{
			name: "no usable payload type->refused",
			j:    with(func(c *jingle.Content) { c.Description.Payloads = []jingle.PayloadType{{ID: 96, Name: "x"}} }),
			err:  sdp.ErrNoPayloadTypes,
		},
		{
			name: "ptime of the first payload type that has one->the m-line's",
			j: with(func(c *jingle.Content) {
				c.Description.Payloads[1].PTime = 20
				c.Description.Payloads[1].MaxPTime = 60
			}),
			has: []string{"a=ptime:20", "a=maxptime:60"},
		},
		{
			name: "feedback, header extensions, sources->rtcp-fb, extmap, ssrc",
			j: with(func(c *jingle.Content) {
				d := c.Description
				d.Payloads[0].Feedback = []jingle.RTCPFeedback{{Type: "transport-cc"}, {Type: "nack", Subtype: " pli "}}
				d.Feedback = []jingle.RTCPFeedback{{Type: "nack"}}
				d.HeaderExtensions = []jingle.HeaderExtension{
					{ID: 1, URI: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"},
					{ID: 2, URI: "urn:ietf:params:rtp-hdrext:sdes:mid", Senders: jingle.SendersInitiator},
					{ID: 300, URI: "urn:x"},
				}
				d.ExtmapAllowMixed = true
				d.Sources = []jingle.Source{{SSRC: 42, Parameters: []jingle.Parameter{{Name: "cname", Value: "c"}, {Name: "msid", Value: " stream \n  track "}}}}
				d.SourceGroups = []jingle.SourceGroup{{Semantics: "FID", SSRCs: []uint32{42, 43}}}
			}),
			has: []string{
				"a=rtcp-fb:111 transport-cc", "a=rtcp-fb:111 nack pli", "a=rtcp-fb:* nack",
				"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level", "a=extmap:2/sendonly urn:ietf:params:rtp-hdrext:sdes:mid",
				"a=extmap-allow-mixed", "a=ssrc:42 cname:c", "a=ssrc:42 msid:stream track", "a=ssrc-group:FID 42 43",
			},
			dropped: []string{"rtp-hdrext 300"},
		},
		{
			name:   "header extension sent by the initiator, in the responder's answer->recvonly",
			author: sdp.Responder,
			j: with(func(c *jingle.Content) {
				c.Transport.Fingerprint.Setup = jingle.SetupActive
				c.Description.HeaderExtensions = []jingle.HeaderExtension{{ID: 2, URI: "urn:x", Senders: jingle.SendersInitiator}}
			}),
			has: []string{"a=extmap:2/recvonly urn:x"},
		},
		{
			name: "SRTP-SDES encryption (Dino)->dropped",
			j: with(func(c *jingle.Content) {
				c.Description.Encryption = &jmi.RawElement{XMLName: xml.Name{Space: jingle.NSRTP, Local: "encryption"}}
				c.Description.SSRC = "7"
			}),
			dropped: []string{"SRTP-SDES", "description ssrc"},
		},
		{
			name: "no setup in an offer->actpass",
			j:    with(func(c *jingle.Content) { c.Transport.Fingerprint.Setup = jingle.SetupNone }),
			has:  []string{"a=setup:actpass"},
		},
		{
			name:   "no setup in an answer->active",
			author: sdp.Responder,
			j:      with(func(c *jingle.Content) { c.Transport.Fingerprint.Setup = jingle.SetupNone }),
			has:    []string{"a=setup:active"},
		},
		{
			name: "no rtcp-mux in the Jingle->rtcp-mux all the same (pion only multiplexes)",
			j:    with(func(c *jingle.Content) { c.Description.RTCPMux = false }),
			has:  []string{"a=rtcp-mux"},
		},
		{
			name: "Conversations' trickle option->ice-options, renomination dropped",
			j:    with(func(c *jingle.Content) { c.Transport.ICEOptions = []string{"trickle", "renomination"} }),
			has:  []string{"a=ice-options:trickle"},
			hasNot: []string{
				"renomination",
			},
			dropped: []string{`"renomination"`},
		},
		{
			name: "no fingerprint (Dino without DTLS)->refused",
			j:    with(func(c *jingle.Content) { c.Transport.Fingerprint = nil }),
			err:  sdp.ErrNoFingerprint,
		},
		{
			name: "fingerprint value of white space->refused",
			j:    with(func(c *jingle.Content) { c.Transport.Fingerprint.Value = " \n " }),
			err:  sdp.ErrNoFingerprint,
		},
		{
			name: "no ICE-UDP transport->refused",
			j:    with(func(c *jingle.Content) { c.Transport = nil }),
			err:  sdp.ErrUnsupportedContent,
		},
		{
			name: "media other than audio and video->refused",
			j:    with(func(c *jingle.Content) { c.Description.Media = "application" }),
			err:  sdp.ErrUnsupportedContent,
		},
		{
			name: "content name with a space->refused",
			j:    session(content("my audio")),
			err:  sdp.ErrBadName,
		},
		{
			name: "content name of 17 characters->refused (the RTP MID extension carries 16)",
			j:    session(content("abcdefghijklmnopq")),
			err:  sdp.ErrBadName,
		},
		{
			name: "two contents of one name->refused",
			j:    session(content("a"), content("a")),
			err:  sdp.ErrDuplicateName,
		},
		{
			name: "no content->refused",
			j:    session(),
			err:  sdp.ErrNoContents,
		},
	}
	for senders, dirs := range map[jingle.Senders][2]string{
		jingle.SendersBoth:      {"sendrecv", "sendrecv"},
		jingle.SendersNone:      {"inactive", "inactive"},
		jingle.SendersInitiator: {"sendonly", "recvonly"},
		jingle.SendersResponder: {"recvonly", "sendonly"},
	} {
		for i, author := range []sdp.Party{sdp.Initiator, sdp.Responder} {
			tcs = append(tcs, tc{
				name:   "senders " + senders.String() + " by the " + author.String() + "->a=" + dirs[i],
				author: author,
				j: with(func(c *jingle.Content) {
					c.Senders = senders
					c.Transport.Fingerprint.Setup = jingle.SetupNone
				}),
				has: []string{"a=" + dirs[i]},
			})
		}
	}
	for _, tc := range tcs {
		t.Run(tc.name, func(t *testing.T) {
			d, err := sdp.FromJingle(tc.j, tc.author)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var parsed psdp.SessionDescription
			if err := parsed.UnmarshalString(d.SDP); err != nil {
				t.Fatalf("pion/sdp cannot parse it: %v\n%s", err, d.SDP)
			}
			lines := strings.Split(d.SDP, "\r\n")
			for _, want := range tc.has {
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("no line %q in\n%s", want, d.SDP)
				}
			}
			for _, bad := range tc.hasNot {
				if strings.Contains(d.SDP, bad) {
					t.Errorf("%q in\n%s", bad, d.SDP)
				}
			}
			all := strings.Join(d.Dropped, "\n")
			for _, want := range tc.dropped {
				if !strings.Contains(all, want) {
					t.Errorf("Dropped does not mention %q: %q", want, d.Dropped)
				}
			}
			if len(tc.dropped) == 0 && len(d.Dropped) != 0 {
				t.Errorf("dropped %q, want nothing", d.Dropped)
			}
		})
	}
}
