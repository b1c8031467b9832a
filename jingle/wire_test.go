package jingle_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/internal/goldentest"
	"github.com/jmi-xmpp/jmi/jingle"
)

// summary is a compact, readable account of what a decoded IQ means.
func summary(iq jingle.IQ) string {
	var b strings.Builder
	if iq.Type != "" {
		fmt.Fprintf(&b, "iq %s id=%s from=%s to=%s", iq.Type, iq.ID, iq.From, iq.To)
	}
	if e := iq.Error; e != nil {
		fmt.Fprintf(&b, " error=%s/%s/%s", e.Type, e.Condition, e.JingleCondition)
	}
	j := iq.Jingle
	if j == nil {
		return b.String()
	}
	if b.Len() > 0 {
		b.WriteString(" | ")
	}
	fmt.Fprintf(&b, "%s sid=%s", j.Action, j.SID)
	if j.Initiator != "" {
		fmt.Fprintf(&b, " initiator=%s", j.Initiator)
	}
	if j.Responder != "" {
		fmt.Fprintf(&b, " responder=%s", j.Responder)
	}
	if g := j.Group; g != nil {
		fmt.Fprintf(&b, " group=%s%v", g.Semantics, g.Contents)
	}
	if r := j.Reason; r != nil {
		fmt.Fprintf(&b, " reason=%s", r.Condition)
		if r.SID != "" {
			fmt.Fprintf(&b, "(%s)", r.SID)
		}
		if r.Text != "" {
			fmt.Fprintf(&b, " text=%q", r.Text)
		}
	}
	for _, x := range j.Extra {
		fmt.Fprintf(&b, " extra=%s", x.XMLName.Local)
	}
	for _, c := range j.Contents {
		fmt.Fprintf(&b, " | content %s %s senders=%s", c.Name, c.Creator, c.Senders)
		if d := c.Description; d != nil {
			fmt.Fprintf(&b, " %s:", d.Media)
			for _, p := range d.Payloads {
				fmt.Fprintf(&b, " %d=%s/%d", p.ID, p.Name, p.Clockrate)
				if p.Channels != 0 {
					fmt.Fprintf(&b, "/%d", p.Channels)
				}
				for _, prm := range p.Parameters {
					fmt.Fprintf(&b, ";%s=%s", prm.Name, prm.Value)
				}
				for _, fb := range p.Feedback {
					fmt.Fprintf(&b, ";fb=%s", strings.TrimSpace(fb.Type+" "+fb.Subtype))
				}
			}
			for _, h := range d.HeaderExtensions {
				fmt.Fprintf(&b, " hdrext=%d", h.ID)
			}
			if d.ExtmapAllowMixed {
				b.WriteString(" allow-mixed")
			}
			for _, s := range d.Sources {
				fmt.Fprintf(&b, " ssrc=%d", s.SSRC)
				for _, prm := range s.Parameters {
					fmt.Fprintf(&b, ";%s=%s", prm.Name, prm.Value)
				}
			}
			for _, g := range d.SourceGroups {
				fmt.Fprintf(&b, " ssrc-group=%s%v", g.Semantics, g.SSRCs)
			}
			if d.RTCPMux {
				b.WriteString(" rtcp-mux")
			}
			if d.Encryption != nil {
				b.WriteString(" encryption")
			}
		}
		if t := c.Transport; t != nil {
			fmt.Fprintf(&b, " ice ufrag=%s pwd=%s", t.Ufrag, t.Pwd)
			for _, k := range t.Candidates {
				fmt.Fprintf(&b, " cand(%d %s %s %s:%d prio=%d gen=%d net=%d id=%s", k.Component, k.Protocol, k.Type, k.IP, k.Port, k.Priority, k.Generation, k.Network, k.ID)
				if k.RelAddr != "" {
					fmt.Fprintf(&b, " rel=%s:%d", k.RelAddr, k.RelPort)
				}
				for _, a := range k.Attrs {
					fmt.Fprintf(&b, " %s=%s", a.Name.Local, a.Value)
				}
				b.WriteString(")")
			}
			if f := t.Fingerprint; f != nil {
				fmt.Fprintf(&b, " fp=%s/%s/%s", f.Hash, f.Setup, f.Value[:5])
			}
			for _, o := range t.ICEOptions {
				fmt.Fprintf(&b, " option=%s", o)
			}
		}
		for _, x := range c.Extra {
			fmt.Fprintf(&b, " extra=%s", x.XMLName.Local)
		}
	}
	return b.String()
}

const (
	dinoSID  = "5b1c0b8e-6a4b-4c1e-9d43-3f7f2f0f8a11"
	convSID  = "p8A2Zc-vQ1mGx_T3kL9wYQ"
	sid      = "ca3cf894-5325-482f-a412-a6e9f832298d"
	dinoIQ   = "from=juliet@localhost/dino to=romeo@localhost/desk"
	convIQ   = "from=romeo@montague.example/Conversations.Xy7q to=juliet@capulet.example/phone"
	toRomeo  = "from=juliet@capulet.example/phone to=romeo@montague.example/orchard"
	toJuliet = "from=romeo@montague.example/orchard to=juliet@capulet.example/phone"
)

// What every golden example must decode to.
var wantSummary = map[string]string{
	"dino-session-initiate": "iq set id=dino-iq-17 " + dinoIQ + " | session-initiate sid=" + dinoSID + " initiator=juliet@localhost/dino" +
		" | content audio initiator senders=both audio: 111=opus/48000/2;useinbandfec=1 112=speex/32000 113=speex/16000 114=speex/8000 0=PCMU/8000 8=PCMA/8000 rtcp-mux encryption" +
		" ice ufrag=218L pwd=asd88fgpdd777uzjYhagZg fp=sha-256/actpass/FD:72",
	"dino-session-terminate":         "iq set id=dino-iq-31 " + dinoIQ + " | session-terminate sid=" + dinoSID + " reason=cancel",
	"dino-transport-info-component2": "iq set id=dino-iq-19 " + dinoIQ + " | transport-info sid=" + dinoSID + " initiator=juliet@localhost/dino | content audio initiator senders=both ice ufrag=218L pwd=asd88fgpdd777uzjYhagZg cand(2 udp srflx 203.0.113.7:61432 prio=1677721854 gen=0 net=0 id=xd8f3k2ja1 rel=192.168.1.20:49153)",
	"conversations-session-initiate": "iq set id=hZV4yJqkQ2FN " + convIQ + " | session-initiate sid=" + convSID + " group=BUNDLE[0]" +
		" | content 0 initiator senders=both audio: 111=opus/48000/2;minptime=10;useinbandfec=1;fb=transport-cc 103=ISAC/16000 104=ISAC/32000 9=G722/8000 102=ILBC/8000 0=PCMU/8000 8=PCMA/8000" +
		" 106=CN/32000 105=CN/16000 13=CN/8000 110=telephone-event/48000 112=telephone-event/32000 113=telephone-event/16000 126=telephone-event/8000" +
		" hdrext=1 hdrext=2 hdrext=3 hdrext=4 ssrc=2985418491;cname=Jm3jRmBLbJ4fYqC1;msid=my-media-stream my-audio-track rtcp-mux" +
		" ice ufrag=Xo8c pwd=dP1pXHDmM0Ul9mR3E7sqyv6F fp=sha-256/actpass/3B:9E option=trickle",
	"conversations-transport-info": "iq set id=a6bLoJh2Mw9c " + convIQ + " | transport-info sid=" + convSID + " | content 0 initiator senders=both ice ufrag=Xo8c pwd=dP1pXHDmM0Ul9mR3E7sqyv6F cand(1 udp host 2001:db8:4a1f::17:45103 prio=2122262783 gen=0 net=1 id=c7c6f0e9)",
	"conversations-ice-restart":    "iq set id=Rk0p2hQv8sLe " + convIQ + " | transport-info sid=" + convSID + " | content 0 initiator senders=both ice ufrag=Zq3M pwd=f8KcXw2T0bYlQm5HrN7vJd1S option=trickle",
	"conversations-session-accept": "iq set id=Ut5nXc1aZk3e from=juliet@capulet.example/Conversations.Pq2w to=romeo@montague.example/orchard | session-accept sid=" + sid + " group=BUNDLE[0]" +
		" | content 0 initiator senders=both audio: 111=opus/48000/2;minptime=10;useinbandfec=1 126=telephone-event/8000 ssrc=1148215369;cname=vXb8Lq0e2dR5mT1k rtcp-mux" +
		" ice ufrag=Gh7v pwd=sA3d9ZqL0pXe4cVb8nM1tR6w fp=sha-256/active/7A:01 option=trickle",
	"monal-session-initiate-tcp": "iq set id=6F0B3A9E-2C41-4D8B-9E7A-1B5C3D2E4F60 from=romeo@montague.example/Monal-iOS.4d2f to=juliet@capulet.example/phone | session-initiate sid=0D9C8B7A-6E5F-4A3B-8C2D-1E0F9A8B7C6D group=BUNDLE[0]" +
		" | content 0 initiator senders=both audio: 111=opus/48000/2;minptime=10;useinbandfec=1;fb=transport-cc 0=PCMU/8000 8=PCMA/8000 126=telephone-event/8000 hdrext=1 allow-mixed ssrc=3735928559;cname=monalcname0001;msid=stream0 audio0 rtcp-mux" +
		" ice ufrag=mN4q pwd=Wq2e4r6t8y0u1i3o5p7a9s2d cand(1 udp host 192.0.2.44:62514 prio=2122260223 gen=0 net=1 id=1) cand(1 tcp host 192.0.2.44:9 prio=1518280447 gen=0 net=1 id=2 tcptype=active) fp=sha-256/actpass/C1:7F",
	"terminate-success":             "iq set id=term-success " + toRomeo + " | session-terminate sid=" + sid + " reason=success text=\"Hung up\"",
	"terminate-busy":                "iq set id=term-busy " + toRomeo + " | session-terminate sid=" + sid + " reason=busy",
	"terminate-decline":             "iq set id=term-decline " + toRomeo + " | session-terminate sid=" + sid + " reason=decline",
	"terminate-security-error":      "iq set id=term-security-error " + toRomeo + " | session-terminate sid=" + sid + " reason=security-error text=\"media do not match the proposed media\"",
	"terminate-failed-transport":    "iq set id=term-failed-transport " + toRomeo + " | session-terminate sid=" + sid + " reason=failed-transport text=\"ICE failed\"",
	"terminate-alternative-session": "iq set id=term-alt " + toRomeo + " | session-terminate sid=" + sid + " reason=alternative-session(b84tkkwlmb48kgfb) text=\"Use the other call\"",
	"content-add-video": "iq set id=add-1 " + toJuliet + " | content-add sid=" + sid +
		" | content 1 initiator senders=both video: 96=VP8/90000;fb=goog-remb;fb=nack;fb=nack pli;fb=ccm fir 97=rtx/90000;apt=96 ssrc=1001;cname=orchardcname ssrc=1002;cname=orchardcname ssrc-group=FID[1001 1002] rtcp-mux" +
		" ice ufrag=Kp9s pwd=yH6gT4rE2wQ0aZ8xC6vB4nM2 fp=sha-256/actpass/3B:9E",
	"content-reject":             "iq set id=rej-1 " + toRomeo + " | content-reject sid=" + sid + " reason=failed-application text=\"audio only\" | content 1 initiator senders=both",
	"session-info-ringing":       "iq set id=info-1 " + toRomeo + " | session-info sid=" + sid + " extra=ringing",
	"iq-result":                  "iq result id=hZV4yJqkQ2FN " + toRomeo,
	"iq-error-unknown-session":   "iq error id=a6bLoJh2Mw9c " + toRomeo + " error=cancel/item-not-found/unknown-session",
	"prefixed-session-terminate": "iq set id=pre-1 " + toRomeo + " | session-terminate sid=" + sid + " reason=success",
	"bare-transport-info":        "transport-info sid=" + sid + " | content 0 initiator senders=both ice ufrag= pwd= cand(1 udp relay 198.51.100.9:3478 prio=16777215 gen=0 net=0 id=r1 rel=203.0.113.7:61432)",
}

// marshal re-encodes what Parse returned: the IQ, or the bare element.
func marshal(iq jingle.IQ) ([]byte, error) {
	if iq.Type == "" {
		return jingle.Marshal(iq.Jingle)
	}
	return jingle.MarshalIQ(iq)
}

// TestGolden decodes every shape deployed clients send, checks what it
// means, re-encodes it strictly, compares with the golden file, and decodes
// the result again with nothing lost.
func TestGolden(t *testing.T) {
	seen := goldentest.Each(t, "testdata/wire", func(t *testing.T, name, f string, in []byte) {
		iq, err := jingle.Parse(in)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		want, ok := wantSummary[name]
		if !ok {
			t.Fatalf("no expectation for %s; got\n%s", name, summary(iq))
		}
		if got := summary(iq); got != want {
			t.Errorf("decoded\n got: %s\nwant: %s", got, want)
		}
		out, err := marshal(iq)
		if err != nil {
			t.Fatalf("encoding: %v", err)
		}
		goldentest.Compare(t, strings.TrimSuffix(f, ".xml")+".golden.xml", append(out, '\n'))
		again, err := jingle.Parse(out)
		if err != nil {
			t.Fatalf("decoding the re-encoded form: %v", err)
		}
		if !reflect.DeepEqual(again, iq) {
			t.Errorf("lost in the round trip:\n first: %s\nsecond: %s", summary(iq), summary(again))
		}
	})
	for name := range wantSummary {
		if !seen[name] {
			t.Errorf("expectation for %s but no testdata/wire/%s.xml", name, name)
		}
	}
}

// TestErrors checks that every kind of bad input gets its exported error,
// in one line, never a panic.
func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"file:missing-sid", "", jingle.ErrMissingSID},
		{"file:empty-sid", "", jingle.ErrMissingSID},
		{"file:missing-action", "", jingle.ErrMissingAction},
		{"file:unknown-action", "", jingle.ErrUnknownAction},
		{"file:port-too-large", "", jingle.ErrBadPort},
		{"file:rel-port-too-large", "", jingle.ErrBadPort},
		{"file:bad-setup", "", jingle.ErrBadSetup},
		{"file:too-many-candidates", "", jingle.ErrTooManyCandidates},
		{"file:too-many-payload-types", "", jingle.ErrTooManyPayloadTypes},
		{"file:too-many-contents", "", jingle.ErrTooManyContents},
		{"file:payload-id-too-large", "", jingle.ErrBadPayloadType},
		{"file:bad-candidate-type", "", jingle.ErrBadCandidate},
		{"file:candidate-without-port", "", jingle.ErrBadCandidate},
		{"file:content-without-name", "", jingle.ErrBadContent},
		{"file:bad-senders", "", jingle.ErrBadContent},
		{"file:fingerprint-without-hash", "", jingle.ErrBadFingerprint},
		{"file:oversize", "", jingle.ErrTooLarge},
		{"file:dtd", "", jingle.ErrDTD},
		{"file:malformed", "", jingle.ErrMalformed},
		{"file:bad-from", "", jingle.ErrBadAddress},
		{"file:bad-iq-type", "", jingle.ErrBadIQ},
		{"file:no-jingle", "", jingle.ErrNoJingle},
		{"file:two-jingles", "", jingle.ErrMultipleJingle},
		{"file:not-an-iq", "", jingle.ErrNoJingle},
		{"file:trailing", "", jingle.ErrMalformed},
		{"empty", "", jingle.ErrNoJingle},
		{"not-xml", "hello", jingle.ErrNoJingle},
		{"truncated", "<iq type='set' id='x'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s'>", jingle.ErrMalformed},
		{"entity-expansion", "<!DOCTYPE iq [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;'>]><iq/>", jingle.ErrDTD},
		{"iq-get-without-jingle", "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>", jingle.ErrNoJingle},
		{"no-iq-id", "<iq type='set'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s'/></iq>", jingle.ErrBadIQ},
		{"no-iq-type", "<iq id='x'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s'/></iq>", jingle.ErrBadIQ},
		{"bad-initiator", "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s' initiator='a@b@c'/>", jingle.ErrBadAddress},
		{"sid-too-long", "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='" + strings.Repeat("s", jingle.MaxSIDLength+1) + "'/>", jingle.ErrTooLong},
		{"sid-at-limit", "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='" + strings.Repeat("s", jingle.MaxSIDLength) + "'/>", nil},
		{"bad-creator", "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content creator='caller' name='0'/></jingle>", jingle.ErrBadContent},
		{"port-not-a-number", candidate("port='http'"), jingle.ErrBadPort},
		{"port-negative", candidate("port='-1'"), jingle.ErrBadPort},
		{"port-at-limit", candidate("port='65535'"), nil},
		{"component-0", strings.Replace(candidate("port='1'"), "component='1'", "component='0'", 1), jingle.ErrBadCandidate},
		{"component-256", strings.Replace(candidate("port='1'"), "component='1'", "component='256'", 1), jingle.ErrBadCandidate},
		{"priority-too-large", strings.Replace(candidate("port='1'"), "priority='1'", "priority='4294967296'", 1), jingle.ErrBadCandidate},
		{"candidate-without-ip", strings.Replace(candidate("port='1'"), "ip='192.0.2.1'", "", 1), jingle.ErrBadCandidate},
		{"setup-empty", fingerprint("setup=''"), jingle.ErrBadSetup},
		{"setup-absent", fingerprint(""), nil},
		{"setup-holdconn", fingerprint("setup='holdconn'"), nil},
		{"fingerprint-empty", strings.Replace(fingerprint("setup='active'"), "AB:CD", " ", 1), jingle.ErrBadFingerprint},
		{"payload-id-missing", payload("name='opus'"), jingle.ErrBadPayloadType},
		{"payload-channels-256", payload("id='111' channels='256'"), jingle.ErrBadPayloadType},
		{"payload-clockrate-word", payload("id='111' clockrate='fast'"), jingle.ErrBadPayloadType},
		{"hdrext-id-0", description("<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='0' uri='urn:x'/>"), jingle.ErrBadElement},
		{"hdrext-without-uri", description("<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1'/>"), jingle.ErrBadElement},
		{"source-without-ssrc", description("<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'/>"), jingle.ErrBadElement},
		{"rtcp-fb-without-type", description("<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0'/>"), jingle.ErrBadElement},
		{"group-without-semantics", "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><group xmlns='urn:xmpp:jingle:apps:grouping:0'><content name='0'/></group></jingle>", jingle.ErrBadElement},
		{"too-many-tokens", "<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s'><x xmlns='urn:x'>" + strings.Repeat("<a/>", jingle.MaxTokens) + "</x></jingle>", jingle.ErrTooLarge},
		{"too-deep", "<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s'>" + strings.Repeat("<a>", jingle.MaxDepth) + strings.Repeat("</a>", jingle.MaxDepth) + "</jingle>", jingle.ErrTooLarge},
		{"too-many-unknown", "<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s'>" + strings.Repeat("<a xmlns='urn:x'/>", jingle.MaxItems+1) + "</jingle>", jingle.ErrTooManyItems},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			if name, ok := strings.CutPrefix(tc.name, "file:"); ok {
				var err error
				if in, err = os.ReadFile(filepath.Join("testdata", "bad", name+".xml")); err != nil {
					t.Fatal(err)
				}
			}
			_, err := jingle.Parse(in)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// candidate is a transport-info whose one candidate has the port attribute
// port.
func candidate(port string) string {
	return "<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s'><content creator='initiator' name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>" +
		"<candidate component='1' foundation='1' generation='0' id='c' ip='192.0.2.1' network='0' " + port + " priority='1' protocol='udp' type='host'/></transport></content></jingle>"
}

// fingerprint is a session-accept whose fingerprint has the attribute setup.
func fingerprint(setup string) string {
	return "<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='s'><content creator='initiator' name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>" +
		"<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' " + setup + ">AB:CD</fingerprint></transport></content></jingle>"
}

// description is a session-initiate whose description holds inner.
func description(inner string) string {
	return "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content creator='initiator' name='0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>" +
		inner + "</description></content></jingle>"
}

// payload is a session-initiate with one payload type of attributes attrs.
func payload(attrs string) string { return description("<payload-type " + attrs + "/>") }

// TestEncodeStrict checks what the encoder writes for the lenient shapes:
// creator and senders always, the ICE options in Conversations' namespace,
// the reason conditions of package jmi.
func TestEncodeStrict(t *testing.T) {
	iq, err := jingle.Parse([]byte(`<iq type='set' id='i1' to='juliet@capulet.example/phone'><jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s1'>` +
		`<content name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'><renomination xmlns='http://gultsch.de/xmpp/drafts/jingle/transports/ice-udp/option'/></transport></content></jingle></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jingle.MarshalIQ(iq)
	if err != nil {
		t.Fatal(err)
	}
	want := `<iq to="juliet@capulet.example/phone" type="set" id="i1"><jingle xmlns="urn:xmpp:jingle:1" action="transport-info" sid="s1"><content creator="initiator" name="0" senders="both"><transport xmlns="urn:xmpp:jingle:transports:ice-udp:1"><renomination xmlns="http://gultsch.de/xmpp/drafts/jingle/transports/ice-udp/option"></renomination></transport></content></jingle></iq>`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}

	term := &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: "s1", Reason: &jmi.Reason{Condition: jmi.Success}}
	out, err = jingle.Marshal(term)
	if err != nil {
		t.Fatal(err)
	}
	want = `<jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="s1"><reason><success></success></reason></jingle>`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

// TestEncodeRefuses checks that the encoder refuses what the decoder would:
// it never writes what no one could read.
func TestEncodeRefuses(t *testing.T) {
	content := func(c jingle.Content) *jingle.Jingle {
		return &jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: "s", Contents: []jingle.Content{c}}
	}
	host := jingle.Candidate{Component: 1, Foundation: "1", IP: "192.0.2.1", Port: 5000, Priority: 1, Protocol: "udp", Type: "host"}
	cases := []struct {
		name string
		j    *jingle.Jingle
		want error
	}{
		{"nil", nil, jingle.ErrNoJingle},
		{"zero", &jingle.Jingle{}, jingle.ErrMissingAction},
		{"action-out-of-range", &jingle.Jingle{Action: 200, SID: "s"}, jingle.ErrUnknownAction},
		{"no-sid", &jingle.Jingle{Action: jingle.ActionSessionTerminate}, jingle.ErrMissingSID},
		{"content-without-name", content(jingle.Content{}), jingle.ErrBadContent},
		// Found by jingle/sdp's FuzzRoundTripFields: invalid UTF-8 went out as
		// U+FFFD, three bytes each, and came back changed and over a limit.
		{"content-name-not-utf8", content(jingle.Content{Name: "a\xffb"}), jingle.ErrNotXMLText},
		{"sid-with-a-nul", &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: "s\x00"}, jingle.ErrNotXMLText},
		{"reason-text-with-a-form-feed", &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: "s", Reason: &jmi.Reason{Condition: "success", Text: "bye\f"}}, jingle.ErrNotXMLText},
		{"senders-out-of-range", content(jingle.Content{Name: "0", Senders: 9}), jingle.ErrBadContent},
		{"payload-id-128", content(jingle.Content{Name: "0", Description: &jingle.Description{Media: "audio", Payloads: []jingle.PayloadType{{ID: 128}}}}), jingle.ErrBadPayloadType},
		{"candidate-type", content(jingle.Content{Name: "0", Transport: &jingle.Transport{Candidates: []jingle.Candidate{{Component: 1, Foundation: "1", IP: "192.0.2.1", Protocol: "udp", Type: "local"}}}}), jingle.ErrBadCandidate},
		{"candidate-attr-duplicates", content(jingle.Content{Name: "0", Transport: &jingle.Transport{Candidates: []jingle.Candidate{func() jingle.Candidate {
			c := host
			c.Attrs = []xml.Attr{{Name: xml.Name{Local: "port"}, Value: "1"}}
			return c
		}()}}}), jingle.ErrBadCandidate},
		{"setup-out-of-range", content(jingle.Content{Name: "0", Transport: &jingle.Transport{Fingerprint: &jingle.Fingerprint{Hash: "sha-256", Value: "AB", Setup: 9}}}), jingle.ErrBadSetup},
		{"too-many-candidates", content(jingle.Content{Name: "0", Transport: &jingle.Transport{Candidates: make([]jingle.Candidate, jingle.MaxCandidates+1)}}), jingle.ErrTooManyCandidates},
		{"bad-inner-xml", &jingle.Jingle{Action: jingle.ActionSessionInfo, SID: "s", Extra: []jmi.RawElement{{XMLName: xml.Name{Space: "urn:x", Local: "x"}, InnerXML: "<unclosed"}}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jingle.Marshal(tc.j)
			if err == nil {
				t.Fatal("encoded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := jingle.MarshalIQ(jingle.IQ{Type: "set", ID: "x"}); !errors.Is(err, jingle.ErrNoJingle) {
		t.Errorf("an iq set without jingle: %v", err)
	}
	if _, err := jingle.MarshalIQ(jingle.IQ{Type: "result", ID: "x", To: "a@b@c"}); !errors.Is(err, jingle.ErrBadAddress) {
		t.Errorf("a bad address: %v", err)
	}
}

// TestAnswers checks the acknowledgement and the refusal of a Jingle IQ.
func TestAnswers(t *testing.T) {
	in, err := os.ReadFile("testdata/wire/conversations-transport-info.xml")
	if err != nil {
		t.Fatal(err)
	}
	iq, err := jingle.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jingle.MarshalIQ(iq.Result())
	if err != nil {
		t.Fatal(err)
	}
	want := `<iq from="juliet@capulet.example/phone" to="romeo@montague.example/Conversations.Xy7q" type="result" id="a6bLoJh2Mw9c"></iq>`
	if string(out) != want {
		t.Errorf("result\n got %s\nwant %s", out, want)
	}
	out, err = jingle.MarshalIQ(iq.ErrorReply(jingle.UnknownSession))
	if err != nil {
		t.Fatal(err)
	}
	want = `<iq from="juliet@capulet.example/phone" to="romeo@montague.example/Conversations.Xy7q" type="error" id="a6bLoJh2Mw9c"><error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></item-not-found><unknown-session xmlns="urn:xmpp:jingle:errors:1"></unknown-session></error></iq>`
	if string(out) != want {
		t.Errorf("error\n got %s\nwant %s", out, want)
	}
	back, err := jingle.Parse(out)
	if err != nil || back.Error == nil || *back.Error != jingle.UnknownSession {
		t.Errorf("the refusal reads back as %+v, %v", back.Error, err)
	}
	from, err := iq.FromJID()
	if err != nil || from.String() != "romeo@montague.example/Conversations.Xy7q" {
		t.Errorf("FromJID = %v, %v", from, err)
	}
	if _, err := (jingle.IQ{From: "a@b@c"}).FromJID(); !errors.Is(err, jingle.ErrBadAddress) {
		t.Errorf("FromJID of a bad address: %v", err)
	}
	if c := iq.Jingle.Content("0"); c == nil || len(c.Transport.Candidates) != 1 {
		t.Errorf("Content(0) = %+v", c)
	}
	if iq.Jingle.Content("1") != nil {
		t.Error("Content(1) found a content that is not there")
	}
	if m := iq.Jingle.Media(); m != nil {
		t.Errorf("a transport-info has media %v", m)
	}
	in, err = os.ReadFile("testdata/wire/conversations-session-initiate.xml")
	if err != nil {
		t.Fatal(err)
	}
	if iq, err = jingle.Parse(in); err != nil {
		t.Fatal(err)
	}
	if m := iq.Jingle.Media(); !reflect.DeepEqual(m, []string{"audio"}) {
		t.Errorf("Media() = %v, want [audio]", m)
	}
}

func TestEnums(t *testing.T) {
	for a := jingle.ActionUnknown + 1; a <= jingle.ActionTransportReplace; a++ {
		back, ok := jingle.ParseAction(a.String())
		if !ok || back != a {
			t.Errorf("ParseAction(%q) = %v, %t", a.String(), back, ok)
		}
	}
	if _, ok := jingle.ParseAction("unknown"); ok {
		t.Error("ParseAction accepted \"unknown\"")
	}
	for v, want := range map[fmt.Stringer]string{
		jingle.Action(200): "unknown", jingle.ActionSessionInitiate: "session-initiate",
		jingle.CreatorInitiator: "initiator", jingle.CreatorResponder: "responder",
		jingle.SendersBoth: "both", jingle.SendersNone: "none", jingle.Senders(9): "both",
		jingle.SetupNone: "", jingle.SetupActpass: "actpass", jingle.SetupActive: "active", jingle.Setup(9): "",
	} {
		if got := v.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", v, got, want)
		}
	}
}

// TestDecodeStream reads a Jingle IQ as a mellium handler does: from a token
// stream, after its start element.
func TestDecodeStream(t *testing.T) {
	in, err := os.ReadFile("testdata/wire/conversations-session-initiate.xml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := jingle.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(in))
	tok, err := d.Token()
	if err != nil {
		t.Fatal(err)
	}
	got, err := jingle.DecodeIQ(d, tok.(xml.StartElement))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeIQ and Parse disagree:\n%s\n%s", summary(got), summary(want))
	}

	var j jingle.Jingle
	if err := xml.Unmarshal([]byte(`<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><busy/></reason></jingle>`), &j); err != nil {
		t.Fatal(err)
	}
	if j.Action != jingle.ActionSessionTerminate || j.Reason.Condition != jmi.Busy {
		t.Errorf("xml.Unmarshal gave %+v", j)
	}
	if err := xml.Unmarshal([]byte(`<jingle xmlns='urn:xmpp:jingle:1' sid='s1'/>`), &j); !errors.Is(err, jingle.ErrMissingAction) {
		t.Errorf("xml.Unmarshal of a jingle without action: %v", err)
	}
	d = xml.NewDecoder(strings.NewReader(`<jingle xmlns='urn:other' action='session-terminate' sid='s1'/>`))
	tok, _ = d.Token()
	if _, err := jingle.Decode(d, tok.(xml.StartElement)); !errors.Is(err, jingle.ErrNoJingle) {
		t.Errorf("Decode of another namespace's jingle: %v", err)
	}

	// MarshalXML writes the same as Marshal, inside other XML.
	var b bytes.Buffer
	if err := xml.NewEncoder(&b).Encode(&j); err != nil {
		t.Fatal(err)
	}
	if want := `<jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="s1"><reason><busy></busy></reason></jingle>`; b.String() != want {
		t.Errorf("MarshalXML wrote %s, want %s", b.String(), want)
	}
}

func TestReadIQ(t *testing.T) {
	f, err := os.Open("testdata/wire/dino-session-terminate.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	iq, err := jingle.ReadIQ(f)
	if err != nil || iq.Jingle.Reason.Condition != jmi.Cancel {
		t.Errorf("ReadIQ: %+v, %v", iq, err)
	}
	// A reader that never ends is read only to the limit.
	if _, err := jingle.ReadIQ(endless{}); !errors.Is(err, jingle.ErrTooLarge) {
		t.Errorf("ReadIQ of an endless input: %v", err)
	}
}

// endless is an input of white space that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// TestExtraDropsComments pins that comments and processing instructions
// inside a kept unknown element are dropped (the JMI decoder keeps comments).
func TestExtraDropsComments(t *testing.T) {
	iq, err := jingle.Parse([]byte("<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s'><x xmlns='urn:example'><!--note--><y/><?pi?></x></jingle>"))
	if err != nil {
		t.Fatal(err)
	}
	if x := iq.Jingle.Extra; len(x) != 1 || x[0].InnerXML != "<y xmlns=\"urn:example\"></y>" {
		t.Errorf("extra %+v, want <y/> alone", x)
	}
}
