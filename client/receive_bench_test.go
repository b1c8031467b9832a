package client

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"testing"
	"time"

	"mellium.im/xmlstream"
)

// receiveStanzas are proposes with distinct ids, as a live stream brings
// them (the Device sees each call once).
func receiveStanzas() [][]byte {
	out := make([][]byte, 1024)
	for i := range out {
		out[i] = fmt.Appendf(nil, `<message xmlns='jabber:client' from='romeo@montague.example/orchard' to='juliet@capulet.example' type='chat' id='x%d'>`+
			`<propose xmlns='urn:xmpp:jingle-message:0' id='call-%d'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>`+
			`<store xmlns='urn:xmpp:hints'/></message>`, i, i)
	}
	return out
}

// BenchmarkReceivePath is what the client does with each <message/> from
// the tokens mellium decoded to the engine's effects: copy the tokens off
// the stream (collectStanza), then the Device reads them (unwrap, checks,
// the engine) without parsing again.
// Compare with BenchmarkReceiveTokenLoop, the bare encoding/xml token loop
// over the same bytes, which stands for mellium's own decoding.
func BenchmarkReceivePath(b *testing.B) {
	stanzas := receiveStanzas()
	var d *Device
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// A fresh device every few calls: the engine sorts the calls of a
		// peer on each of its proposes, which a thousand calls ringing at
		// once from one peer would make the whole cost.
		if i%callsPerDevice == 0 {
			d = newTestDevice()
		}
		dec := xml.NewDecoder(bytes.NewReader(stanzas[i%len(stanzas)]))
		tok, _ := dec.Token()
		start := tok.(xml.StartElement)
		st, err := collectStanza(xmlstream.MultiReader(xmlstream.Token(start), dec))
		if err != nil {
			b.Fatal(err)
		}
		if effs := d.receiveTokens(t0, st); len(effs) == 0 {
			b.Fatal("no effect")
		}
	}
}

// BenchmarkReceiveRatio runs the bare token loop and the full receive path
// over the same stanza in turn, each iteration, and reports their times
// apart (loop-ns/op, path-ns/op) and path/loop, the ratio: on a shared
// machine, whose load changes between two benchmarks run one after the
// other, the two halves of one iteration see the same load.
func BenchmarkReceiveRatio(b *testing.B) {
	stanzas := receiveStanzas()
	var d *Device
	var loop, path time.Duration
	n := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%callsPerDevice == 0 {
			d = newTestDevice()
		}
		raw := stanzas[i%len(stanzas)]
		t1 := time.Now()
		dec := xml.NewDecoder(bytes.NewReader(raw))
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		dec = xml.NewDecoder(bytes.NewReader(raw))
		tok, _ := dec.Token()
		start := tok.(xml.StartElement)
		st, err := collectStanza(xmlstream.MultiReader(xmlstream.Token(start), dec))
		if err != nil {
			b.Fatal(err)
		}
		if effs := d.receiveTokens(t0, st); len(effs) == 0 {
			b.Fatal("no effect")
		}
		t3 := time.Now()
		loop += t2.Sub(t1)
		path += t3.Sub(t2)
		n++
	}
	b.ReportMetric(float64(loop.Nanoseconds())/float64(n), "loop-ns/op")
	b.ReportMetric(float64(path.Nanoseconds())/float64(n), "path-ns/op")
	b.ReportMetric(float64(path)/float64(loop), "path/loop")
}

// BenchmarkReceivePathTwoParses is the receive path as it was: the
// handler re-encoded the tokens to bytes, and Device.Receive parsed them
// again.
func BenchmarkReceivePathTwoParses(b *testing.B) {
	stanzas := receiveStanzas()
	var d *Device
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%callsPerDevice == 0 {
			d = newTestDevice()
		}
		dec := xml.NewDecoder(bytes.NewReader(stanzas[i%len(stanzas)]))
		tok, _ := dec.Token()
		start := tok.(xml.StartElement)
		var buf bytes.Buffer
		enc := xml.NewEncoder(&buf)
		if _, err := xmlstream.Copy(enc, xmlstream.MultiReader(xmlstream.Token(start), dec)); err != nil {
			b.Fatal(err)
		}
		enc.Flush()
		if effs := d.Receive(t0, buf.Bytes()); len(effs) == 0 {
			b.Fatal("no effect")
		}
	}
}

// callsPerDevice is how many calls BenchmarkReceivePath gives one Device.
const callsPerDevice = 8

// BenchmarkReceiveTokenLoop is the floor: encoding/xml's token loop over
// the same stanzas, which mellium runs before any handler sees a token.
func BenchmarkReceiveTokenLoop(b *testing.B) {
	stanzas := receiveStanzas()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		dec := xml.NewDecoder(bytes.NewReader(stanzas[i%len(stanzas)]))
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}
