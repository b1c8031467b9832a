package jingle_test

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"testing"

	"github.com/jmi-xmpp/jmi/internal/goldentest"
	"github.com/jmi-xmpp/jmi/jingle"
)

// seed adds every wire example, its golden re-encoding and every bad input
// that fits in a stanza to the corpus.
func seed(f *testing.F) {
	goldentest.Seed(f, jingle.MaxStanzaSize, "testdata/wire", "testdata/bad")
}

// FuzzParse checks that no input makes Parse panic or hang, and that
// whatever it accepts encodes, survives encode→decode unchanged, and
// encodes the same way twice (decode→encode→decode is stable).
func FuzzParse(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		iq, err := jingle.Parse(in)
		if err != nil {
			return
		}
		first, err := marshal(iq)
		if err != nil {
			// Decoded values always encode: the decoder keeps only what
			// Validate accepts.
			t.Fatalf("cannot encode what was decoded: %v\ninput: %q", err, in)
		}
		if len(first) > jingle.MaxStanzaSize {
			// The encoding can be longer than the input: encoding/xml
			// declares the namespace on each element where the input
			// declared a prefix once. The limit is on what is read.
			return
		}
		again, err := jingle.Parse(first)
		if err != nil {
			t.Fatalf("cannot decode what was encoded: %v\nencoded: %s", err, first)
		}
		if !reflect.DeepEqual(again, iq) {
			t.Fatalf("changed in the round trip:\n first: %#v\nsecond: %#v\nencoded: %s", iq, again, first)
		}
		second, err := marshal(again)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("encoding is not stable:\n first: %s\nsecond: %s (%v)", first, second, err)
		}
	})
}

// FuzzDecodeIQ checks that the token-stream decoders (the path of a mellium
// handler) agree with Parse: what Parse accepts, DecodeIQ or Decode reads the
// same from the root element, and they never panic on anything else.
func FuzzDecodeIQ(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		d := xml.NewDecoder(bytes.NewReader(in))
		var start xml.StartElement
		for {
			tok, err := d.Token()
			if err != nil {
				return
			}
			if s, ok := tok.(xml.StartElement); ok {
				start = s
				break
			}
		}
		var got jingle.IQ
		var err error
		if start.Name.Local == "iq" {
			got, err = jingle.DecodeIQ(d, start)
		} else {
			got.Jingle, err = jingle.Decode(d, start)
		}
		want, perr := jingle.Parse(in)
		if perr != nil {
			return
		}
		if err != nil {
			t.Fatalf("Parse accepts what the stream decoder refuses (%v): %q", err, in)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("the decoders disagree:\nstream: %#v\n Parse: %#v", got, want)
		}
	})
}
