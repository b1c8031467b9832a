package jmi_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/internal/goldentest"
)

// FuzzDecode checks that no input makes Parse panic or hang, and that
// whatever it accepts survives encode→decode unchanged and encodes the same
// way twice (decode→encode→decode is stable).
func FuzzDecode(f *testing.F) {
	goldentest.Seed(f, 0, "testdata/wire", "testdata/bad")
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := jmi.Parse(in)
		if err != nil {
			return
		}
		first, err := jmi.MarshalMessage(m.Element, m.From, m.To, m.ID)
		if err != nil {
			// Decoded values always encode: the decoder keeps only what it
			// could read.
			t.Fatalf("cannot encode what was decoded: %v\ninput: %q", err, in)
		}
		again, err := jmi.Parse(first)
		if err != nil {
			t.Fatalf("cannot decode what was encoded: %v\nencoded: %s", err, first)
		}
		if !reflect.DeepEqual(again.Element, m.Element) {
			t.Fatalf("changed in the round trip:\n first: %#v\nsecond: %#v\nencoded: %s", m.Element, again.Element, first)
		}
		second, err := jmi.MarshalMessage(again.Element, again.From, again.To, again.ID)
		if err != nil || string(second) != string(first) {
			t.Fatalf("encoding is not stable:\n first: %s\nsecond: %s (%v)", first, second, err)
		}
	})
}

// FuzzEncode checks the encoder with values built by hand, which the
// decoder never produces: any id, reason text and media either encode to
// what reads back the same, or are refused with ErrNotXMLText (or the
// decoder's own limit on what it reads). Before ErrNotXMLText, invalid
// UTF-8 was written as U+FFFD and read back as another id.
func FuzzEncode(f *testing.F) {
	f.Add("a1", "busy now", "audio")
	f.Add("a\xffb", "bye\f", "vi\x00deo")
	f.Add("ünïcode-☎", "tab\tnew\nline", "audio")
	f.Fuzz(func(t *testing.T, id, text, media string) {
		if id == "" || len(id) > jmi.MaxIDLength {
			return
		}
		for _, e := range []jmi.Element{
			&jmi.Reject{ID: id, Reason: &jmi.Reason{Condition: "busy", Text: text}},
			&jmi.Propose{ID: id, Descriptions: []jmi.Description{jmi.RTP(media)}},
		} {
			out, err := jmi.Marshal(e)
			if errors.Is(err, jmi.ErrNotXMLText) || errors.Is(err, jmi.ErrBadMedia) {
				continue
			}
			if err != nil {
				t.Fatalf("Marshal(%#v): %v", e, err)
			}
			m, err := jmi.Parse(out)
			if err != nil {
				t.Fatalf("cannot decode what was encoded: %v\nencoded: %q", err, out)
			}
			if m.Element.SessionID() != id {
				t.Fatalf("id %q read back as %q", id, m.Element.SessionID())
			}
			if r, ok := m.Element.(*jmi.Reject); ok && r.Reason.Text != text {
				t.Fatalf("reason text %q read back as %q", text, r.Reason.Text)
			}
		}
	})
}
