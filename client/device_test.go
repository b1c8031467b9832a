package client

import (
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
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

func proposeEl(id string) string {
	return `<propose xmlns='urn:xmpp:jingle-message:0' id='` + id + `'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>`
}

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
		{"a delay naming our server on a live propose after the catch-up->ignored, rings", "", strings.Replace(propose, "<store", "<delay xmlns='urn:xmpp:delay' from='capulet.example' stamp='2026-01-01T09:00:00Z'/><store", 1),
			`send <message from="juliet@capulet.example/phone" to="romeo@montague.example/orchard" type="chat" id="m1"><ringing xmlns="urn:xmpp:jingle-message:0" id="c1"></ringing><store xmlns="urn:xmpp:hints"></store></message>` + "\nevent incoming c1"},
		{"a contact's own delay on a live propose->ignored, rings", "", strings.Replace(propose, "<store", "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T09:00:00Z'/><store", 1),
			`send <message from="juliet@capulet.example/phone" to="romeo@montague.example/orchard" type="chat" id="m1"><ringing xmlns="urn:xmpp:jingle-message:0" id="c1"></ringing><store xmlns="urn:xmpp:hints"></store></message>` + "\nevent incoming c1"},
		{"a delay naming the contact's server->ignored, rings", "", strings.Replace(propose, "<store", "<delay xmlns='urn:xmpp:delay' from='montague.example' stamp='2026-01-01T09:00:00Z'/><store", 1),
			`send <message from="juliet@capulet.example/phone" to="romeo@montague.example/orchard" type="chat" id="m1"><ringing xmlns="urn:xmpp:jingle-message:0" id="c1"></ringing><store xmlns="urn:xmpp:hints"></store></message>` + "\nevent incoming c1"},
		{"error message carrying a stranger's propose->not a signal", "",
			`<message from='romeo@montague.example/orchard' to='juliet@capulet.example/phone' type='error'>` + proposeEl("c1") + `<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
			"event ignored c1: error bounce for a call not placed or answered here"},
		{"error message carrying a ringing->not a signal", "",
			`<message from='romeo@montague.example/orchard' to='juliet@capulet.example/phone' type='error'><ringing xmlns='urn:xmpp:jingle-message:0' id='c1'/><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
			"event ignored c1: error bounce of a ringing: not a signal"},
		{"error message without JMI->nothing", "",
			`<message from='romeo@montague.example' to='juliet@capulet.example/phone' type='error' id='unknown'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`, ""},
		{"error message from our own server wrapping a carbon->no signal", "",
			`<message from='juliet@capulet.example' to='juliet@capulet.example/phone' type='error'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
				`<message from='juliet@capulet.example/tablet' to='romeo@montague.example/orchard' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='c9'/></message></forwarded></sent></message>`, ""},
		{"carbon of an error message->not a signal", "",
			`<message from='juliet@capulet.example' to='juliet@capulet.example/phone' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
				`<message from='romeo@montague.example/orchard' to='juliet@capulet.example/tablet' type='error'>` + proposeEl("c1") + `</message></forwarded></received></message>`,
			"event ignored c1: forwarded error message with a propose: not a signal"},
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

// onlyEvent returns the one Notify of effs, failing on anything else.
func onlyEvent(t *testing.T, d *Device, effs []call.Effect) call.Event {
	t.Helper()
	if len(effs) != 1 {
		t.Fatalf("effects: %s", summarize(d, effs))
	}
	n, ok := effs[0].(call.Notify)
	if !ok {
		t.Fatalf("effects: %s", summarize(d, effs))
	}
	return n.Event
}

// placed has the device propose call c1 to Romeo and returns the message id
// of the propose on the wire.
func placed(t *testing.T, d *Device) string {
	t.Helper()
	effs, err := d.Do(t0, call.UserPropose{To: romeoJ, ID: "c1", Descriptions: []jmi.Description{jmi.RTP("audio")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range effs {
		if s, ok := e.(call.Send); ok {
			if _, err := d.Stanza(s); err != nil {
				t.Fatal(err)
			}
			return "m1"
		}
	}
	t.Fatal("no propose sent")
	return ""
}

// TestDeviceBounce: a message of type error is never a signal; the bounce
// of our own propose or proceed ends that call here as failed, with the
// error condition.
func TestDeviceBounce(t *testing.T) {
	const unavailable = `<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>No such user</text></error>`
	t.Run("propose bounced by the server, by message id (Prosody)", func(t *testing.T) {
		d := newTestDevice()
		id := placed(t, d)
		ev := onlyEvent(t, d, d.Receive(t0.Add(time.Second), []byte(`<message from='romeo@montague.example' to='juliet@capulet.example/phone' type='error' id='`+id+`'>`+unavailable+`</message>`)))
		if ev.Type != call.EventFinished || !ev.Failed || ev.Reason != "service-unavailable" || ev.Text != "No such user" || ev.ID != "c1" {
			t.Errorf("got %+v, want c1 finished failed with service-unavailable", ev)
		}
		if info, _ := d.Call("c1"); info.State != call.StateEnded || !info.Answered.IsZero() {
			t.Errorf("call %+v, want ended unanswered", info)
		}
	})
	t.Run("our propose given back in an error: never the callee proposing", func(t *testing.T) {
		d := newTestDevice()
		placed(t, d)
		effs := d.Receive(t0.Add(time.Second), []byte(`<message from='romeo@montague.example' to='juliet@capulet.example/phone' type='error' id='other'>`+proposeEl("c1")+unavailable+`</message>`))
		ev := onlyEvent(t, d, effs)
		if ev.Type != call.EventFinished || !ev.Failed || ev.Reason != "service-unavailable" {
			t.Errorf("got %+v", ev)
		}
	})
	t.Run("a bounce from someone else than the callee->ignored", func(t *testing.T) {
		d := newTestDevice()
		placed(t, d)
		ev := onlyEvent(t, d, d.Receive(t0, []byte(`<message from='tybalt@capulet.example' to='juliet@capulet.example/phone' type='error'>`+proposeEl("c1")+unavailable+`</message>`)))
		if ev.Type != call.EventIgnored {
			t.Errorf("got %+v", ev)
		}
		if info, _ := d.Call("c1"); info.State != call.StateProposing {
			t.Errorf("call %v, want still proposing", info.State)
		}
	})
	t.Run("proceed bounced->the answered call fails", func(t *testing.T) {
		d := newTestDevice()
		d.Receive(t0, []byte(propose))
		effs, err := d.Do(t0, call.UserProceed{ID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		msgID := ""
		for _, e := range effs {
			if s, ok := e.(call.Send); ok && s.Element.Kind() == jmi.KindProceed {
				b, _ := d.Stanza(s)
				m, err := jmi.Parse(b)
				if err != nil {
					t.Fatal(err)
				}
				msgID = m.ID
			}
		}
		ev := onlyEvent(t, d, d.Receive(t0.Add(time.Second), []byte(`<message from='romeo@montague.example/orchard' to='juliet@capulet.example/phone' type='error' id='`+msgID+`'>`+unavailable+`</message>`)))
		if ev.Type != call.EventFinished || !ev.Failed || ev.Reason != "service-unavailable" {
			t.Errorf("got %+v", ev)
		}
	})
	t.Run("a bounce that names no condition", func(t *testing.T) {
		d := newTestDevice()
		id := placed(t, d)
		ev := onlyEvent(t, d, d.Receive(t0, []byte(`<message from='romeo@montague.example' type='error' id='`+id+`'/>`)))
		if ev.Type != call.EventFinished || ev.Reason != "undefined-condition" {
			t.Errorf("got %+v", ev)
		}
	})
}

// TestDeviceDelay: a <delay/> counts only from our own server or our
// archive, wherever it is in <forwarded/>, and never later than now.
func TestDeviceDelay(t *testing.T) {
	// ejabberd 23.01's archive result: the <delay/> after the forwarded
	// message, <archived/> and <stanza-id/> inside it, microseconds.
	const ejabberd = `<message xmlns='jabber:client' from='juliet@capulet.example' to='juliet@capulet.example/phone'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='1767261535123456'>` +
		`<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' xml:lang='en' from='romeo@montague.example/orchard' to='juliet@capulet.example' type='chat' id='x1'>` +
		`<archived xmlns='urn:xmpp:mam:tmp' by='juliet@capulet.example' id='1767261535123456'/><stanza-id xmlns='urn:xmpp:sid:0' by='juliet@capulet.example' id='1767261535123456'/>` +
		`<propose xmlns='urn:xmpp:jingle-message:0' id='c1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><store xmlns='urn:xmpp:hints'/></message>` +
		`<delay xmlns='urn:xmpp:delay' from='capulet.example' stamp='2026-01-01T09:58:55.123456Z'/></forwarded></result></message>`
	t.Run("ejabberd: delay after the message->stale, missed, no ringing", func(t *testing.T) {
		d := newTestDevice()
		d.StartCatchUp(t0, "q1")
		if got := summarize(d, d.Receive(t0, []byte(ejabberd))); got != "" {
			t.Fatalf("during catch-up: %s", got)
		}
		effs := d.EndCatchUp(t0)
		ev := onlyEvent(t, d, effs)
		want := time.Date(2026, 1, 1, 9, 58, 55, 123456000, time.UTC)
		if ev.Type != call.EventMissed || !ev.At.Equal(want) {
			t.Errorf("got %+v, want missed at %s", ev, want)
		}
		if d.LastArchiveID() != "1767261535123456" {
			t.Errorf("archive position %q", d.LastArchiveID())
		}
	})
	t.Run("offline delivery of an old propose during the catch-up->missed at its time", func(t *testing.T) {
		d := newTestDevice()
		d.StartCatchUp(t0, "q1")
		in := strings.Replace(propose, "<store", "<delay xmlns='urn:xmpp:delay' from='capulet.example' stamp='2026-01-01T09:00:00Z'/><store", 1)
		if got := summarize(d, d.Receive(t0, []byte(in))); got != "" {
			t.Fatalf("during catch-up: %s", got)
		}
		ev := onlyEvent(t, d, d.EndCatchUp(t0))
		if ev.Type != call.EventMissed || !ev.At.Equal(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)) {
			t.Errorf("got %+v, want missed at 09:00", ev)
		}
	})
	t.Run("archive stamp in the future->now", func(t *testing.T) {
		d := newTestDevice()
		d.StartCatchUp(t0, "q1")
		d.Receive(t0, []byte(strings.Replace(ejabberd, "2026-01-01T09:58:55.123456Z", "2026-01-01T11:00:00Z", 1)))
		effs := d.EndCatchUp(t0)
		if got := summarize(d, effs); !strings.HasSuffix(got, "event incoming c1") {
			t.Fatalf("after catch-up: %s", got)
		}
		if info, _ := d.Call("c1"); !info.Started.Equal(t0) {
			t.Errorf("started %s, want now (%s)", info.Started, t0)
		}
	})
	t.Run("our server's delay in the future->now, rings for the ring window only", func(t *testing.T) {
		d := newTestDevice()
		in := strings.Replace(propose, "<store", "<delay xmlns='urn:xmpp:delay' from='capulet.example' stamp='2026-01-01T11:00:00Z'/><store", 1)
		got := summarize(d, d.Receive(t0, []byte(in)))
		if !strings.HasSuffix(got, "event incoming c1") {
			t.Fatalf("got %s", got)
		}
		if dl := d.NextDeadline(); !dl.Equal(t0.Add(call.DefaultRingWindow)) {
			t.Errorf("rings until %s, want %s", dl, t0.Add(call.DefaultRingWindow))
		}
	})
	t.Run("a contact's delay an hour ahead->ignored", func(t *testing.T) {
		d := newTestDevice()
		in := strings.Replace(propose, "<store", "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T11:00:00Z'/><store", 1)
		ev := onlyEvent(t, d, d.Receive(t0, []byte(in))[1:])
		if !ev.At.Equal(t0) {
			t.Errorf("incoming at %s, want now", ev.At)
		}
		if dl := d.NextDeadline(); !dl.Equal(t0.Add(call.DefaultRingWindow)) {
			t.Errorf("rings until %s, want %s", dl, t0.Add(call.DefaultRingWindow))
		}
	})
	t.Run("delay inside a carbon's forwarded, after the message", func(t *testing.T) {
		d := newTestDevice()
		in := `<message from='juliet@capulet.example' to='juliet@capulet.example/phone' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` + propose +
			`<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T09:00:00Z'/></forwarded></received></message>`
		if got := summarize(d, d.Receive(t0, []byte(in))); got != "event missed c1" {
			t.Errorf("got %q", got)
		}
	})
}

func TestDevicePresence(t *testing.T) {
	d := newTestDevice()
	b, err := d.Presence(call.SendPresence{To: jid.MustParse("romeo@montague.example/orchard")})
	if err != nil || string(b) != `<presence from="juliet@capulet.example/phone" to="romeo@montague.example/orchard"></presence>` {
		t.Errorf("got %s, %v", b, err)
	}
}

// TestDeviceTrustsEarlyAnswers: the device tells the engine whom it trusts
// for every signal, not only proposes, so that a trusted callee's answer
// that comes before the propose it answers (by received carbon: another
// device of ours placed the call) opens its call even when strangers have
// filled the limits on untrusted calls.
func TestDeviceTrustsEarlyAnswers(t *testing.T) {
	d := NewDevice(DeviceConfig{
		Account: phone,
		Engine:  call.Config{MaxUntrustedPerPeer: 1, MaxUntrusted: 1},
		Trust:   func(p jid.JID) bool { return p.Equal(romeoJ) },
	})
	d.Receive(t0, []byte(`<message from='tybalt@capulet.example/x' to='juliet@capulet.example' type='chat' id='t1'>`+proposeEl("t1")+`</message>`))
	carbon := `<message from='juliet@capulet.example' to='juliet@capulet.example/phone' type='chat' id='r1'>` +
		`<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
		`<message from='romeo@montague.example/orchard' to='juliet@capulet.example/tablet' type='chat' id='p1'>` +
		`<proceed xmlns='urn:xmpp:jingle-message:0' id='early'/></message></forwarded></received></message>`
	d.Receive(t0.Add(time.Second), []byte(carbon))
	if _, ok := d.Call("early"); !ok {
		t.Fatal("the trusted callee's early answer was dropped under the limits on untrusted calls")
	}
}

// TestDeviceIgnoreReasons: every refusal of the receive path has a class to
// count and branch on, beside its words.
func TestDeviceIgnoreReasons(t *testing.T) {
	proceed := `<proceed xmlns='urn:xmpp:jingle-message:0' id='c9'/>`
	inner := `<forwarded xmlns='urn:xmpp:forward:0'><message from='juliet@capulet.example/tablet' to='romeo@montague.example' type='chat'>` + proceed + `</message></forwarded>`
	for _, tc := range []struct {
		name, stanza string
		want         call.IgnoreReason
	}{
		{"forged carbon", `<message from='romeo@montague.example/orchard' to='juliet@capulet.example/phone' type='chat'><received xmlns='urn:xmpp:carbons:2'>` + inner + `</received></message>`, call.IgnoreForged},
		{"forged archive result", `<message from='romeo@montague.example' to='juliet@capulet.example/phone'><result xmlns='urn:xmpp:mam:2' queryid='q' id='a1'>` + inner + `</result></message>`, call.IgnoreForged},
		{"archive result of another query", `<message to='juliet@capulet.example/phone'><result xmlns='urn:xmpp:mam:2' queryid='q' id='a1'>` + inner + `</result></message>`, call.IgnoreOtherQuery},
		{"two JMI elements", `<message from='romeo@montague.example/orchard' type='chat'>` + proceed + proceed + `</message>`, call.IgnoreMalformed},
		{"sender that does not parse", `<message from='romeo@@montague.example/orchard' type='chat'>` + proceed + `</message>`, call.IgnoreBadAddress},
		{"proceed for no call", `<message from='romeo@montague.example/orchard' type='chat'>` + proceed + `</message>`, call.IgnoreUnknownCall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDevice()
			effs := d.Receive(t0, []byte(tc.stanza))
			if len(effs) != 1 {
				t.Fatalf("effects: %s", summarize(d, effs))
			}
			n, ok := effs[0].(call.Notify)
			if !ok || n.Event.Type != call.EventIgnored {
				t.Fatalf("effect %s, want an ignored event", summarize(d, effs))
			}
			if n.Event.Ignored != tc.want {
				t.Errorf("ignored as %v (%s), want %v", n.Event.Ignored, n.Event.Reason, tc.want)
			}
		})
	}
}
