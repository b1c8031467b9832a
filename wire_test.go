package jmi_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/internal/goldentest"
	"mellium.im/xmpp/jid"
)

// summary is a compact, readable account of what a decoded message means.
func summary(m jmi.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s id=%s ns=%s", m.Element.Kind(), m.Element.SessionID(), strings.TrimPrefix(m.Namespace, "urn:xmpp:jingle-message"))
	if m.Type != "" {
		fmt.Fprintf(&b, " from=%s to=%s type=%s store=%t", m.From, m.To, m.Type, m.Store)
	}
	var reason *jmi.Reason
	var extra []jmi.RawElement
	switch e := m.Element.(type) {
	case *jmi.Propose:
		fmt.Fprintf(&b, " media=%s", strings.Join(e.Media(), ","))
		for _, d := range e.Descriptions {
			if d.InnerXML != "" {
				b.WriteString(" +payload")
			}
		}
		extra = e.Extra
	case *jmi.Ringing:
		extra = e.Extra
	case *jmi.Proceed:
		extra = e.Extra
	case *jmi.Accept:
		extra = e.Extra
	case *jmi.Retract:
		reason, extra = e.Reason, e.Extra
		if e.TieBreak {
			b.WriteString(" tie-break")
		}
	case *jmi.Reject:
		reason, extra = e.Reason, e.Extra
		if e.TieBreak {
			b.WriteString(" tie-break")
		}
	case *jmi.Finish:
		reason, extra = e.Reason, e.Extra
		if e.MigratedTo != "" {
			fmt.Fprintf(&b, " migrated=%s", e.MigratedTo)
		}
	}
	if reason != nil {
		fmt.Fprintf(&b, " reason=%s", reason.Condition)
		if reason.SID != "" {
			fmt.Fprintf(&b, "(%s)", reason.SID)
		}
		if reason.Text != "" {
			fmt.Fprintf(&b, " text=%q", reason.Text)
		}
	}
	for _, x := range extra {
		fmt.Fprintf(&b, " extra=%s", x.XMLName.Local)
	}
	return b.String()
}

const (
	romeo  = "from=romeo@montague.example/orchard"
	juliet = "from=juliet@capulet.example/phone"
	sid    = "ca3cf894-5325-482f-a412-a6e9f832298d"
	high   = "fecbea35-08d3-404f-9ec7-2b57c566fa74"
	newSID = "989a46a6-f202-4910-a7c3-83c6ba3f3947"
	convID = "p8A2Zc-vQ1mGx_T3kL9wYQ"
)

// What every golden example must decode to.
var wantSummary = map[string]string{
	"spec-propose":                      "propose id=" + sid + " ns=:0 " + romeo + " to=juliet@capulet.example type=chat store=true media=audio",
	"spec-ringing":                      "ringing id=" + sid + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true",
	"spec-retract":                      "retract id=" + sid + " ns=:0 " + romeo + " to=juliet@capulet.example type=chat store=true reason=cancel text=\"Retracted\"",
	"spec-proceed":                      "proceed id=" + sid + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true",
	"spec-reject":                       "reject id=" + sid + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true reason=busy text=\"Busy\"",
	"spec-finish-initiator":             "finish id=" + sid + " ns=:0 " + romeo + " to=juliet@capulet.example/phone type=chat store=true reason=success text=\"Success\"",
	"spec-finish-responder":             "finish id=" + sid + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true reason=success text=\"Success\"",
	"spec-tiebreak-lower-propose":       "propose id=" + sid + " ns=:0 " + romeo + " to=juliet@capulet.example type=chat store=true media=audio",
	"spec-tiebreak-higher-propose":      "propose id=" + high + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true media=audio",
	"spec-tiebreak-reject":              "reject id=" + high + " ns=:0 " + romeo + " to=juliet@capulet.example type=chat store=true tie-break reason=expired text=\"Tie-Break\"",
	"spec-tiebreak-retract":             "retract id=" + high + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true tie-break reason=expired text=\"Tie-Break\"",
	"spec-tiebreak-proceed":             "proceed id=" + sid + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true",
	"spec-migration-new-propose":        "propose id=" + newSID + " ns=:0 from=juliet@capulet.example/tablet to=romeo@montague.example/orchard type=chat store=true media=audio",
	"spec-migration-finish":             "finish id=" + sid + " ns=:0 " + romeo + " to=juliet@capulet.example type=chat store=true migrated=" + newSID + " reason=expired text=\"Session migrated\"",
	"spec-migration-proceed":            "proceed id=" + newSID + " ns=:0 " + romeo + " to=juliet@capulet.example type=chat store=true",
	"v060-proceed-bare":                 "proceed id=" + sid + " ns=:0 " + juliet + " to=romeo@montague.example type=chat store=true",
	"v060-finish-bare":                  "finish id=" + sid + " ns=:0 " + romeo + " to=juliet@capulet.example type=chat store=true reason=success text=\"Success\"",
	"v050-accept-ns1":                   "accept id=" + sid + " ns=:1 " + juliet + " to=romeo@montague.example type=chat store=true",
	"v050-propose-ns1":                  "propose id=" + sid + " ns=:1 " + romeo + " to=juliet@capulet.example type=chat store=true media=audio",
	"v050-finish-ns1":                   "finish id=" + sid + " ns=:1 " + romeo + " to=juliet@capulet.example type=chat store=true reason=success",
	"conversations-propose":             "propose id=" + convID + " ns=:0 " + romeo + " to=juliet@capulet.example type=chat store=true media=audio,video",
	"conversations-proceed-omemo":       "proceed id=" + convID + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true extra=device",
	"conversations-accept-own":          "accept id=" + convID + " ns=:0 " + juliet + " to=juliet@capulet.example type=chat store=true",
	"conversations-retract-description": "retract id=" + convID + " ns=:0 " + romeo + " to=juliet@capulet.example type=chat store=true extra=description",
	"conversations-reject-description":  "reject id=" + convID + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true extra=description",
	"monal-finish-migrated":             "finish id=" + sid + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true migrated=" + newSID + " reason=expired",
	"monal-reject-tiebreak":             "reject id=" + high + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true tie-break reason=expired",
	"monal-retract-cancel":              "retract id=" + sid + " ns=:0 " + romeo + " to=juliet@capulet.example type=chat store=true reason=cancel",
	"monal-finish-application-error":    "finish id=" + sid + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true reason=application-error",
	"dino-propose":                      "propose id=5b1c0b8e-6a4b-4c1e-9d43-3f7f2f0f8a11 ns=:0 from=romeo@montague.example/dino.5f3a to=juliet@capulet.example type=chat store=false media=audio",
	"dino-accept-own":                   "accept id=5b1c0b8e-6a4b-4c1e-9d43-3f7f2f0f8a11 ns=:0 from=juliet@capulet.example/dino.c1d2 to=juliet@capulet.example type=chat store=false",
	"movim-retract-text":                "retract id=" + sid + " ns=:0 from=romeo@montague.example/movim to=juliet@capulet.example type=chat store=false reason=cancel text=\"Retracted\"",
	"movim-finish-gone":                 "finish id=" + sid + " ns=:0 from=romeo@montague.example/movim to=juliet@capulet.example/phone type=chat store=false reason=gone",
	"slixmpp-propose":                   "propose id=slix-1 ns=:0 from=romeo@montague.example/slix to=juliet@capulet.example type=normal store=false media=audio",
	"kage-ringing":                      "ringing id=" + sid + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=normal store=false",
	"prefixed-proceed":                  "proceed id=" + sid + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true",
	"alternative-session":               "reject id=" + sid + " ns=:0 " + juliet + " to=romeo@montague.example/orchard type=chat store=true reason=alternative-session(b84tkkwlmb48kgfb) text=\"Use the other call\"",
	"propose-rtp-payloads":              "propose id=" + sid + " ns=:0 " + romeo + " to=juliet@capulet.example type=chat store=true media=audio,video +payload",
	"bare-ringing":                      "ringing id=" + sid + " ns=:0",
}

// TestGolden decodes every example of the spec and every shape deployed
// clients send, checks what it means, re-encodes it (strictly: namespace :0,
// type chat, <store/>), compares with the golden file, and decodes the result
// again with nothing lost.
func TestGolden(t *testing.T) {
	seen := goldentest.Each(t, "testdata/wire", func(t *testing.T, name, f string, in []byte) {
		m, err := jmi.Parse(in)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		want, ok := wantSummary[name]
		if !ok {
			t.Fatalf("no expectation for %s; got %s", name, summary(m))
		}
		if got := summary(m); got != want {
			t.Errorf("decoded\n got: %s\nwant: %s", got, want)
		}

		var out []byte
		if m.Type == "" {
			out, err = jmi.Marshal(m.Element)
		} else {
			out, err = jmi.MarshalMessage(m.Element, m.From, m.To, m.ID)
		}
		if err != nil {
			t.Fatalf("encoding: %v", err)
		}
		goldentest.Compare(t, strings.TrimSuffix(f, ".xml")+".golden.xml", append(out, '\n'))

		again, err := jmi.Parse(out)
		if err != nil {
			t.Fatalf("decoding the re-encoded form: %v", err)
		}
		if !reflect.DeepEqual(again.Element, m.Element) {
			t.Errorf("lost in the round trip:\n first: %#v\nsecond: %#v", m.Element, again.Element)
		}
		if again.Namespace != jmi.NS {
			t.Errorf("re-encoded in %s, want %s", again.Namespace, jmi.NS)
		}
		if m.Type != "" && (again.Type != "chat" || !again.Store || !again.From.Equal(m.From) || !again.To.Equal(m.To) || again.ID != m.ID) {
			t.Errorf("envelope not written as the spec asks: %+v", again)
		}
	})
	for name := range wantSummary {
		if !seen[name] {
			t.Errorf("expectation for %s but no testdata/wire/%s.xml", name, name)
		}
	}
}

// nested returns n levels of nested elements.
func nested(n int) string { return strings.Repeat("<x>", n) + strings.Repeat("</x>", n) }

// TestErrors checks that every kind of bad input gets its error, never a
// panic.
func TestErrors(t *testing.T) {
	descs := strings.Repeat("<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>", jmi.MaxDescriptions+1)
	deep := strings.Repeat("<x>", jmi.MaxDepth+2) + strings.Repeat("</x>", jmi.MaxDepth+2)
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"file:spec-tiebreak-retract-as-printed", "", jmi.ErrMalformed},
		{"file:no-element", "", jmi.ErrNoElement},
		{"file:missing-id", "", jmi.ErrMissingID},
		{"file:empty-id", "", jmi.ErrMissingID},
		{"file:no-description", "", jmi.ErrNoDescription},
		{"file:malformed", "", jmi.ErrMalformed},
		{"file:dtd", "", jmi.ErrDTD},
		{"file:entity", "", jmi.ErrMalformed},
		{"file:unknown-element", "", jmi.ErrUnknownElement},
		{"file:two-elements", "", jmi.ErrMultipleElements},
		{"file:bad-from", "", jmi.ErrBadAddress},
		{"file:not-a-message", "", jmi.ErrNoElement},
		{"file:empty", "", jmi.ErrNoElement},
		{"file:trailing", "", jmi.ErrMalformed},
		{"id-too-long", "<ringing xmlns='urn:xmpp:jingle-message:0' id='" + strings.Repeat("a", jmi.MaxIDLength+1) + "'/>", jmi.ErrIDTooLong},
		{"id-at-limit", "<ringing xmlns='urn:xmpp:jingle-message:0' id='" + strings.Repeat("a", jmi.MaxIDLength) + "'/>", nil},
		{"too-many-descriptions", "<propose xmlns='urn:xmpp:jingle-message:0' id='x'>" + descs + "</propose>", jmi.ErrTooManyDescriptions},
		{"too-deep", "<propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1'>" + deep + "</description></propose>", jmi.ErrTooLarge},
		// MaxDepth counts from the JMI element (1), in a message too.
		{"depth-at-limit", "<propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1'>" + nested(jmi.MaxDepth-2) + "</description></propose>", nil},
		{"depth-at-limit-in-message", "<message to='a@b'><propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1'>" + nested(jmi.MaxDepth-2) + "</description></propose></message>", nil},
		{"depth-over-limit-in-message", "<message to='a@b'><propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1'>" + nested(jmi.MaxDepth-1) + "</description></propose></message>", jmi.ErrTooLarge},
		{"too-many-tokens", "<proceed xmlns='urn:xmpp:jingle-message:0' id='x'>" + strings.Repeat("<a/>", jmi.MaxTokens) + "</proceed>", jmi.ErrTooLarge},
		{"too-large", "<proceed xmlns='urn:xmpp:jingle-message:0' id='x'>" + strings.Repeat(" ", jmi.MaxStanzaSize) + "</proceed>", jmi.ErrTooLarge},
		{"wrong-namespace", "<message to='a@b'><propose xmlns='urn:xmpp:jingle-message:2' id='x'/></message>", jmi.ErrNoElement},
		{"not-xml", "hello", jmi.ErrNoElement},
		{"truncated", "<message to='a@b'><proceed xmlns='urn:xmpp:jingle-message:0' id='x'>", jmi.ErrMalformed},
		{"entity-expansion", "<!DOCTYPE m [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;'>]><message/>", jmi.ErrDTD},
		// XEP-0167's media is an SDP token: a newline in it forged a row of
		// jmi log.
		{"file:media-newline", "", jmi.ErrBadMedia},
		{"media-escape", "<propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='\x1b[2Jaudio'/></propose>", jmi.ErrMalformed},
		{"media-escape-reference", "<propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='&#x9;audio'/></propose>", jmi.ErrBadMedia},
		{"media-space", "<propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='au dio'/></propose>", jmi.ErrBadMedia},
		{"media-not-ascii", "<propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audi\u00f6'/></propose>", jmi.ErrBadMedia},
		{"media-bidi", "<propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='\u202eoidua'/></propose>", jmi.ErrBadMedia},
		{"media-too-long", "<propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='" + strings.Repeat("a", jmi.MaxMediaLength+1) + "'/></propose>", jmi.ErrBadMedia},
		{"media-at-limit", "<propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='" + strings.Repeat("a", jmi.MaxMediaLength) + "'/></propose>", nil},
		{"media-token-chars", "<propose xmlns='urn:xmpp:jingle-message:0' id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='x-my.media_1~'/></propose>", nil},
		{"bad-to", "<message to='a@b@c'><proceed xmlns='urn:xmpp:jingle-message:0' id='x'/></message>", jmi.ErrBadAddress},
		// An empty label: after RFC 7622 strips one final dot, another is
		// left, which would be stripped again on the next round trip.
		{"empty-label", "<message to='juliet@capulet.example..'><proceed xmlns='urn:xmpp:jingle-message:0' id='x'/></message>", jmi.ErrBadAddress},
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
			_, err := jmi.Parse(in)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestEncodeStrict checks what jmi writes: namespace :0, type chat, <store/>.
func TestEncodeStrict(t *testing.T) {
	m, err := jmi.Parse([]byte(`<message to='romeo@montague.example/orchard'><accept xmlns='urn:xmpp:jingle-message:1' id='a1'/></message>`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jmi.MarshalMessage(m.Element, m.From, m.To, "")
	if err != nil {
		t.Fatal(err)
	}
	want := `<message to="romeo@montague.example/orchard" type="chat"><accept xmlns="urn:xmpp:jingle-message:0" id="a1"></accept><store xmlns="urn:xmpp:hints"></store></message>`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

func TestEncodeBadInnerXML(t *testing.T) {
	p := &jmi.Propose{ID: "x", Descriptions: []jmi.Description{{Namespace: jmi.NSRTP, Media: "audio", InnerXML: "<unclosed"}}}
	if _, err := jmi.Marshal(p); err == nil {
		t.Fatal("encoded malformed inner XML")
	}
	if _, err := jmi.Marshal(nil); err == nil {
		t.Fatal("encoded a nil element")
	}
}

// TestEncodeNotXMLText: a value XML cannot carry is refused, not written
// changed. encoding/xml would put U+FFFD in its place, and the peer would
// read another id than the call's (the call would never match) or another
// reason text.
func TestEncodeNotXMLText(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    jmi.Element
		id   string
	}{
		{"id-not-utf8", &jmi.Reject{ID: "a\xffb"}, ""},
		{"id-with-a-nul", &jmi.Proceed{ID: "s\x00"}, ""},
		{"reason-text-with-a-form-feed", &jmi.Reject{ID: "ok", Reason: &jmi.Reason{Condition: "busy", Text: "bye\f"}}, ""},
		{"message-id-with-an-escape", &jmi.Finish{ID: "ok"}, "m\x1b"},
		{"condition-with-a-space", &jmi.Finish{ID: "ok", Reason: &jmi.Reason{Condition: "gone away"}}, ""},
		{"condition-that-closes-the-tag", &jmi.Reject{ID: "ok", Reason: &jmi.Reason{Condition: "x/><evil"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.id == "" {
				if out, err := jmi.Marshal(tc.e); !errors.Is(err, jmi.ErrNotXMLText) {
					t.Errorf("Marshal = %q, %v; want ErrNotXMLText", out, err)
				}
			}
			if out, err := jmi.MarshalMessage(tc.e, jid.JID{}, jid.MustParse("juliet@capulet.example"), tc.id); !errors.Is(err, jmi.ErrNotXMLText) {
				t.Errorf("MarshalMessage = %q, %v; want ErrNotXMLText", out, err)
			}
		})
	}
}

// TestEncodeBadMedia: the encoders write only a media the reader takes.
func TestEncodeBadMedia(t *testing.T) {
	for _, media := range []string{"\xff", "audio\nforged row", "a b", strings.Repeat("a", jmi.MaxMediaLength+1)} {
		p := &jmi.Propose{ID: "ok", Descriptions: []jmi.Description{jmi.RTP(media)}}
		if out, err := jmi.Marshal(p); !errors.Is(err, jmi.ErrBadMedia) {
			t.Errorf("Marshal with media %q = %q, %v; want ErrBadMedia", media, out, err)
		}
	}
}

func TestNewID(t *testing.T) {
	a, b := jmi.NewID(), jmi.NewID()
	if len(a) != 36 || a[14] != '4' || a == b {
		t.Errorf("NewID gave %q and %q, want distinct UUIDv4s", a, b)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[jmi.Kind]string{jmi.KindPropose: "propose", jmi.KindAccept: "accept", jmi.KindUnknown: "unknown", jmi.Kind(200): "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", k, got, want)
		}
	}
}

// TestExtraKeepsComments pins what the decoder has always done with a
// comment inside an unknown child: it is kept in the inner XML (the Jingle
// decoder drops them).
func TestExtraKeepsComments(t *testing.T) {
	m, err := jmi.Parse([]byte("<proceed xmlns='urn:xmpp:jingle-message:0' id='x'><x xmlns='urn:example'><!--note--><y/><?pi?></x></proceed>"))
	if err != nil {
		t.Fatal(err)
	}
	p := m.Element.(*jmi.Proceed)
	if len(p.Extra) != 1 || !strings.Contains(p.Extra[0].InnerXML, "<!--note-->") || strings.Contains(p.Extra[0].InnerXML, "pi") {
		t.Errorf("extra %+v, want the comment kept and the processing instruction dropped", p.Extra)
	}
}
