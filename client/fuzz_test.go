package client

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
)

// fuzzSeeds are whole stanzas as they reach a device: plain messages,
// carbons, archive results (Prosody's and ejabberd's shapes), bounces,
// delays, forgeries from addresses mellium cannot parse, IQs.
func fuzzSeeds() []string {
	const unavailable = `<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>gone</text></error>`
	proceedC9 := `<message from='juliet@capulet.example/tablet' to='romeo@montague.example/orchard' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='c9'/></message>`
	return []string{
		propose,
		strings.Replace(propose, "<store", "<delay xmlns='urn:xmpp:delay' from='capulet.example' stamp='2026-01-01T09:00:00Z'/><store", 1),
		strings.Replace(propose, "<store", "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T11:00:00Z'/><store", 1),
		`<message from='juliet@capulet.example'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` + proceedC9 + `</forwarded></sent></message>`,
		`<message from='juliet@capulet.example' to='juliet@capulet.example/phone'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` + propose + `<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T09:59:00Z'/></forwarded></received></message>`,
		`<message from='mallory@capulet.example/evilᄀ' to='juliet@capulet.example/phone'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` + propose + `</forwarded></received></message>`,
		`<message><result xmlns='urn:xmpp:mam:2' queryid='q1' id='a'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T09:59:50Z'/>` + propose + `</forwarded></result></message>`,
		`<message xmlns='jabber:client' from='juliet@capulet.example' to='juliet@capulet.example/phone'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='1767261535123456'><forwarded xmlns='urn:xmpp:forward:0'>` +
			`<message xmlns='jabber:client' from='romeo@montague.example/orchard' to='juliet@capulet.example' type='chat'><archived xmlns='urn:xmpp:mam:tmp' by='juliet@capulet.example' id='1'/><stanza-id xmlns='urn:xmpp:sid:0' by='juliet@capulet.example' id='1'/>` +
			`<finish xmlns='urn:xmpp:jingle-message:0' id='c2'><reason xmlns='urn:xmpp:jingle:1'><success/><text>bye</text></reason></finish></message><delay xmlns='urn:xmpp:delay' from='capulet.example' stamp='2026-01-01T09:58:55.123456Z'/></forwarded></result></message>`,
		`<message from='romeo@montague.example' to='juliet@capulet.example/phone' type='error' id='m4'>` + unavailable + `</message>`,
		`<message from='romeo@montague.example' to='juliet@capulet.example/phone' type='error'><propose xmlns='urn:xmpp:jingle-message:0' id='c1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>` + unavailable + `</message>`,
		`<message from='romeo@montague.example/orchard' to='juliet@capulet.example/phone' type='error' id='m2'>` + unavailable + `</message>`,
		`<message from='romeo@montague.example/orchard' to='juliet@capulet.example/phone' type='chat'><retract xmlns='urn:xmpp:jingle-message:0' id='c2'><reason xmlns='urn:xmpp:jingle:1'><cancel/></reason></retract></message>`,
		`<message from='tybalt@capulet.example/sword' to='juliet@capulet.example/phone' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='c1'/></message>`,
		`<message from='romeo@montague.example/orchard' to='juliet@capulet.example/phone' type='chat'><ringing xmlns='urn:xmpp:jingle-message:0' id='c1'/></message>` + "\x00" +
			`<message from='romeo@montague.example/pda' to='juliet@capulet.example/phone' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='c1'/></message>`,
		`<message from='romeo@montague.example/orchard' to='juliet@capulet.example' type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='c3'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio&#10;x'/></propose></message>`,
		// What is not a message is refused whole: IQs are the client's.
		`<iq type='set' id='push1'><query xmlns='jabber:iq:roster'><item jid='tybalt@capulet.example' subscription='both'/></query></iq>`,
		`<iq from='juliet@capulet.example' type='result' id='q'><fin xmlns='urn:xmpp:mam:2' complete='true'/></iq>`,
	}
}

var fuzzDeviceT0 = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

// fuzzDevice is a device in the middle of things: c2 from Romeo rang and
// was answered here (ringing went out as message m1, proceed as m2), then
// it placed c1 to Romeo (propose m4), and a catch-up with query q1 runs.
func fuzzDevice(t *testing.T) *Device {
	d := newTestDevice()
	render(t, d, d.Receive(fuzzDeviceT0, []byte(strings.ReplaceAll(propose, "'c1'", "'c2'"))))
	effs, err := d.Do(fuzzDeviceT0, call.UserProceed{ID: "c2"})
	if err != nil {
		t.Fatal(err)
	}
	render(t, d, effs)
	effs, err = d.Do(fuzzDeviceT0, call.UserPropose{To: romeoJ, ID: "c1", Descriptions: []jmi.Description{jmi.RTP("audio")}})
	if err != nil {
		t.Fatal(err)
	}
	render(t, d, effs)
	d.StartCatchUp(fuzzDeviceT0, "q1")
	return d
}

// render puts the Send effects on the wire, as the client does, and checks
// each stanza: it parses back to the element sent, and goes to the trusted
// peer or our own account, never to a stranger.
func render(t *testing.T, d *Device, effs []call.Effect) {
	t.Helper()
	for _, e := range effs {
		switch e := e.(type) {
		case call.Send:
			b, err := d.Stanza(e)
			if err != nil {
				t.Fatalf("cannot render %T: %v", e.Element, err)
			}
			m, err := jmi.Parse(b)
			if err != nil || m.Element.Kind() != e.Element.Kind() || m.Element.SessionID() != e.Element.SessionID() {
				t.Fatalf("rendered %s, which parses to %+v (%v)", b, m, err)
			}
			if to := e.To.Bare(); !to.Equal(romeoJ) && !to.Equal(phone.Bare()) {
				t.Fatalf("sent %s to %s, who is neither the trusted peer nor our account", e.Element.Kind(), e.To)
			}
		case call.SendPresence:
			if !e.To.Bare().Equal(romeoJ) {
				t.Fatalf("presence to %s, who is not the trusted peer", e.To)
			}
		}
	}
}

// FuzzDeviceReceive: whole stanzas (up to four, separated by a NUL byte,
// which XML never holds) through Device.Receive, in the middle of calls and
// a catch-up. No input panics; refused input changes no call; every stanza
// the device would send parses back and goes to the trusted peer or our
// own account; no event is dated after now; no media holds a control
// character. The corpus is under testdata/fuzz/FuzzDeviceReceive.
func FuzzDeviceReceive(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	// The replay transcripts' stanzas are whole stanzas too.
	files, _ := filepath.Glob("../cmd/jmi/testdata/replay/*.xml")
	recv := regexp.MustCompile(`(?s)<recv>(.*?)</recv>`)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, m := range recv.FindAllSubmatch(b, -1) {
			f.Add(m[1])
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := fuzzDevice(t)
		now := fuzzDeviceT0.Add(time.Second)
		for _, st := range bytes.SplitN(in, []byte{0}, 4) {
			before := d.Calls()
			effs := d.Receive(now, st)
			render(t, d, effs)
			for _, e := range effs {
				n, ok := e.(call.Notify)
				if !ok {
					continue
				}
				if n.Event.At.After(now) {
					t.Fatalf("event %s dated %s, after now (%s)", n.Event.Type, n.Event.At, now)
				}
				for _, m := range n.Event.Media {
					if strings.IndexFunc(m, unicode.IsControl) >= 0 {
						t.Fatalf("media %q holds a control character", m)
					}
				}
			}
			if len(effs) == 1 {
				if n, ok := effs[0].(call.Notify); ok && n.Event.Type == call.EventIgnored && !reflect.DeepEqual(before, d.Calls()) {
					t.Fatalf("refused input (%s) changed the calls: %q", n.Event.Reason, st)
				}
			}
		}
	})
}
