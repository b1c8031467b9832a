package jingle_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"testing"

	"github.com/jmi-xmpp/jmi/jingle"
)

// benchInput reads a wire example: Conversations' session-initiate is the
// largest stanza of a call, a trickled candidate the most frequent.
func benchInput(b *testing.B, name string) []byte {
	b.Helper()
	in, err := os.ReadFile("testdata/wire/" + name + ".xml")
	if err != nil {
		b.Fatal(err)
	}
	return in
}

// BenchmarkFloor is what every decoder pays: reading the same bytes with a
// bare encoding/xml token loop.
func BenchmarkFloor(b *testing.B) {
	for _, name := range []string{"conversations-session-initiate", "conversations-transport-info"} {
		in := benchInput(b, name)
		b.Run(name, func(b *testing.B) {
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
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"conversations-session-initiate", "conversations-transport-info"} {
		in := benchInput(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := jingle.Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshalIQ(b *testing.B) {
	for _, name := range []string{"conversations-session-initiate", "conversations-transport-info"} {
		iq, err := jingle.Parse(benchInput(b, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jingle.MarshalIQ(iq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
