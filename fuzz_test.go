package jmi_test

import (
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
