package jmi_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"

	"github.com/jmi-xmpp/jmi"
	"mellium.im/xmpp/jid"
)

var (
	benchPropose = []byte(`<message from='romeo@montague.example/orchard' to='juliet@capulet.example' type='chat'>` +
		`<propose xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-5325-482f-a412-a6e9f832298d'>` +
		`<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>` +
		`<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/>` +
		`</propose><store xmlns='urn:xmpp:hints'/></message>`)
	benchReject = []byte(`<message from='romeo@montague.example/orchard' to='juliet@capulet.example/phone' type='chat'>` +
		`<reject xmlns='urn:xmpp:jingle-message:0' id='fecbea35-08d3-404f-9ec7-2b57c566fa74'>` +
		`<reason xmlns='urn:xmpp:jingle:1'><expired/><text>Tie-Break</text></reason><tie-break/>` +
		`</reject><store xmlns='urn:xmpp:hints'/></message>`)
)

// benchFloor is the floor every decoder pays: reading the same bytes with a
// bare encoding/xml token loop.
func benchFloor(b *testing.B, in []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		d := xml.NewDecoder(bytes.NewReader(in))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchDecode(b *testing.B, in []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := jmi.Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEncode(b *testing.B, in []byte) {
	m, err := jmi.Parse(in)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jmi.MarshalMessage(m.Element, m.From, m.To, m.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFloorPropose(b *testing.B)  { benchFloor(b, benchPropose) }
func BenchmarkDecodePropose(b *testing.B) { benchDecode(b, benchPropose) }
func BenchmarkEncodePropose(b *testing.B) { benchEncode(b, benchPropose) }
func BenchmarkFloorReject(b *testing.B)   { benchFloor(b, benchReject) }
func BenchmarkDecodeReject(b *testing.B)  { benchDecode(b, benchReject) }
func BenchmarkEncodeReject(b *testing.B)  { benchEncode(b, benchReject) }

// BenchmarkWrapRinging is what a client pays per outgoing signal when it
// hands tokens to the session without going through bytes.
func BenchmarkWrapRinging(b *testing.B) {
	to := jid.MustParse("romeo@montague.example/orchard")
	e := &jmi.Ringing{ID: "ca3cf894-5325-482f-a412-a6e9f832298d"}
	b.ReportAllocs()
	for b.Loop() {
		r := jmi.Wrap(e, jid.JID{}, to, "")
		for {
			if _, err := r.Token(); err != nil {
				break
			}
		}
	}
}
