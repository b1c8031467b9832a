package client

import (
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/jid"
)

var (
	t0     = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	phone  = jid.MustParse("juliet@capulet.example/phone")
	romeoJ = jid.MustParse("romeo@montague.example")
)

func newTestDevice() *Device {
	n := 0
	return NewDevice(DeviceConfig{
		Account:      phone,
		Trust:        func(p jid.JID) bool { return p.Equal(romeoJ) },
		NewMessageID: func() string { n++; return "m" + string(rune('0'+n)) },
	})
}

// summarize renders effects for comparison.
func summarize(d *Device, effs []call.Effect) string {
	var out []string
	for _, e := range effs {
		switch e := e.(type) {
		case call.Send:
			b, _ := d.Stanza(e)
			out = append(out, "send "+string(b))
		case call.SendPresence:
			out = append(out, "presence "+e.To.String())
		case call.Notify:
			s := "event " + e.Event.Type.String() + " " + e.Event.ID
			if e.Event.Elsewhere {
				s += " elsewhere"
			}
			if e.Event.Type == call.EventIgnored {
				s += ": " + e.Event.Reason
			}
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

const propose = `<message from='romeo@montague.example/orchard' to='juliet@capulet.example' type='chat' id='x1'>` +
	`<propose xmlns='urn:xmpp:jingle-message:0' id='c1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>` +
	`<store xmlns='urn:xmpp:hints'/></message>`

func TestDeviceReceive(t *testing.T) {
	cases := []struct {
		name    string
		catchUp string // queryid of a catch-up under way
		in      string
		want    string
	}{
		{"plain propose from a trusted caller->rings", "", propose,
			`send <message from="juliet@capulet.example/phone" to="romeo@montague.example/orchard" type="chat" id="m1"><ringing xmlns="urn:xmpp:jingle-message:0" id="c1"></ringing><store xmlns="urn:xmpp:hints"></store></message>` + "\nevent incoming c1"},
		{"untrusted caller->nothing", "", strings.Replace(propose, "romeo@montague.example", "tybalt@capulet.example", 1), ""},
		{"not JMI->nothing", "", `<message from='romeo@montague.example/orchard' to='juliet@capulet.example' type='chat'><body>hi</body></message>`, ""},
		{"offline delivery of an old propose->missed", "", strings.Replace(propose, "<store", "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T09:00:00Z'/><store", 1), "event missed c1"},
		{"sent carbon of our tablet's proceed->answered elsewhere", "",
			`<message from='juliet@capulet.example' to='juliet@capulet.example/phone' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
				`<message from='juliet@capulet.example/tablet' to='romeo@montague.example/orchard' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='c9'/></message></forwarded></sent></message>`,
			"event proceeded c9 elsewhere"},
		{"forged carbon from a stranger->ignored", "",
			`<message from='tybalt@capulet.example' to='juliet@capulet.example/phone' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
				`<message from='juliet@capulet.example/tablet' to='romeo@montague.example/orchard' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='c9'/></message></forwarded></sent></message>`,
			"event ignored : carbon from tybalt@capulet.example, not from our own account"},
		{"received carbon from an address mellium cannot parse->ignored, never our own server", "",
			`<message from='mallory@capulet.example/evilᄀ' to='juliet@capulet.example/phone' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` + propose + `</forwarded></received></message>`,
			"event ignored : carbon from mallory@capulet.example/evilᄀ, not from our own account"},
		{"sent carbon from an address mellium cannot parse->ignored", "",
			`<message from='juliet@capulet.example/evilᄀ' to='juliet@capulet.example/phone' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
				`<message from='juliet@capulet.example/tablet' to='romeo@montague.example/orchard' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='c9'/></message></forwarded></sent></message>`,
			"event ignored : carbon from juliet@capulet.example/evilᄀ, not from our own account"},
		{"archive result from an address mellium cannot parse->ignored", "q1",
			`<message from='mallory@capulet.example/evilᄀ' to='juliet@capulet.example/phone'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='a7'><forwarded xmlns='urn:xmpp:forward:0'>` + propose + `</forwarded></result></message>`,
			"event ignored : archive result from mallory@capulet.example/evilᄀ, not from our own archive"},
		{"propose from an address mellium cannot parse->ignored", "",
			strings.Replace(propose, "romeo@montague.example/orchard", "romeo@montague.example/evilᄀ", 1),
			`event ignored c1: jmi: invalid address: from="romeo@montague.example/evilᄀ"`},
		{"carbon with an empty from->our own server", "",
			`<message from='' to='juliet@capulet.example/phone' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
				`<message from='juliet@capulet.example/tablet' to='romeo@montague.example/orchard' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='c9'/></message></forwarded></sent></message>`,
			"event proceeded c9 elsewhere"},
		{"archive result for our query->recorded, no ring during catch-up", "q1",
			`<message to='juliet@capulet.example/phone'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='a7'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T09:59:50Z'/>` + propose + `</forwarded></result></message>`, ""},
		{"archive result for another query->ignored", "q1",
			`<message to='juliet@capulet.example/phone'><result xmlns='urn:xmpp:mam:2' queryid='evil' id='a7'><forwarded xmlns='urn:xmpp:forward:0'>` + propose + `</forwarded></result></message>`,
			`event ignored : archive result for query "evil", not for ours`},
		{"archive result from someone else's archive->ignored", "q1",
			`<message from='tybalt@capulet.example' to='juliet@capulet.example/phone'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='a7'><forwarded xmlns='urn:xmpp:forward:0'>` + propose + `</forwarded></result></message>`,
			"event ignored : archive result from tybalt@capulet.example, not from our own archive"},
		{"archive result outside catch-up->ignored", "",
			`<message to='juliet@capulet.example/phone'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='a7'><forwarded xmlns='urn:xmpp:forward:0'>` + propose + `</forwarded></result></message>`,
			`event ignored : archive result for query "q1", not for ours`},
		{"malformed->ignored", "", `<message from='romeo@montague.example/orchard'><propose`, "event ignored : jmi: malformed XML: XML syntax error on line 1: unexpected EOF"},
		{"missing id->ignored", "", `<message from='romeo@montague.example/orchard' to='juliet@capulet.example'><proceed xmlns='urn:xmpp:jingle-message:0'/></message>`, "event ignored : jmi: missing or empty id in <proceed>"},
		{"oversized->ignored", "", `<message>` + strings.Repeat(" ", 70000) + `</message>`, "event ignored : stanza of 70019 bytes is over the limit of 65536"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDevice()
			if tc.catchUp != "" {
				d.StartCatchUp(t0, tc.catchUp)
			}
			got := summarize(d, d.Receive(t0, []byte(tc.in)))
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestDeviceCatchUp: a fresh call found in the archive rings once catch-up
// ends; the archive position moves on.
func TestDeviceCatchUp(t *testing.T) {
	d := newTestDevice()
	d.StartCatchUp(t0, "q1")
	res := `<message to='juliet@capulet.example/phone'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='a7'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T09:59:50Z'/>` + propose + `</forwarded></result></message>`
	if got := summarize(d, d.Receive(t0, []byte(res))); got != "" {
		t.Fatalf("rang during catch-up: %s", got)
	}
	if d.LastArchiveID() != "a7" {
		t.Errorf("archive position %q, want a7", d.LastArchiveID())
	}
	got := summarize(d, d.EndCatchUp(t0))
	if !strings.HasSuffix(got, "event incoming c1") || !strings.Contains(got, "<ringing") {
		t.Errorf("after catch-up: %s", got)
	}
	// The same propose live again has no effect.
	if got := summarize(d, d.Receive(t0, []byte(propose))); got != "" {
		t.Errorf("duplicate had an effect: %s", got)
	}
}

func TestDevicePresence(t *testing.T) {
	d := newTestDevice()
	b, err := d.Presence(call.SendPresence{To: jid.MustParse("romeo@montague.example/orchard")})
	if err != nil || string(b) != `<presence from="juliet@capulet.example/phone" to="romeo@montague.example/orchard"></presence>` {
		t.Errorf("got %s, %v", b, err)
	}
}

// FuzzDeviceReceive: no bytes make Receive panic, and refused input changes
// no state.
func FuzzDeviceReceive(f *testing.F) {
	f.Add([]byte(propose))
	f.Add([]byte(`<message from='juliet@capulet.example'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message from='juliet@capulet.example/tablet' to='romeo@montague.example/orchard'><proceed xmlns='urn:xmpp:jingle-message:0' id='c9'/></message></forwarded></sent></message>`))
	f.Add([]byte(`<message><result xmlns='urn:xmpp:mam:2' queryid='q1' id='a'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T09:59:50Z'/>` + propose + `</forwarded></result></message>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := newTestDevice()
		d.StartCatchUp(t0, "q1")
		effs := d.Receive(t0, in)
		if len(effs) == 1 {
			if n, ok := effs[0].(call.Notify); ok && n.Event.Type == call.EventIgnored && len(d.Calls()) != 0 {
				t.Fatalf("refused input changed state: %q", in)
			}
		}
	})
}
