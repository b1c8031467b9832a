package client

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
)

// streamTokens reads one element from b as mellium's stream hands it to a
// handler: its start, then the tokens up to its end. ok is false when b is
// not one well-formed element (mellium would end the stream on it).
func streamTokens(b []byte) (r xml.TokenReader, ok bool) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var start xml.StartElement
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		if s, isStart := tok.(xml.StartElement); isStart {
			start = s
			break
		}
	}
	var toks []xml.Token
	toks = append(toks, start.Copy())
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
		toks = append(toks, xml.CopyToken(tok))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // more after the element
	}
	return &tokenSlice{toks: toks}, true
}

// FuzzDeviceTokens: the client's path (the stream's tokens, copied, read
// without a second parse) does what Device.Receive does with the same
// stanza as bytes: the same effects, the same ignored classes.
func FuzzDeviceTokens(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, ok := streamTokens(in)
		if !ok {
			return
		}
		st, err := collectStanza(r)
		if err != nil {
			t.Fatal(err)
		}
		now := fuzzDeviceT0.Add(time.Second)
		a, b := fuzzDevice(t), fuzzDevice(t)
		byBytes := a.Receive(now, in)
		byTokens := b.receiveTokens(now, st)
		if st.size > jmi.MaxStanzaSize || len(in) > jmi.MaxStanzaSize {
			// The two count the limit differently (bytes, or the tokens'
			// content): over it, each must refuse.
			if s := summaryOf(b, byTokens); len(in) > jmi.MaxStanzaSize && st.size > jmi.MaxStanzaSize && s != "ignored malformed\n" {
				t.Errorf("over the limit, the tokens gave %s", s)
			}
			return
		}
		if sa, sb := summaryOf(a, byBytes), summaryOf(b, byTokens); sa != sb {
			t.Errorf("bytes:\n%s\ntokens:\n%s", sa, sb)
		}
	})
}

// summaryOf is summarize with the ignored class, without the words (the
// decoders word some errors differently).
func summaryOf(d *Device, effs []call.Effect) string {
	var out []byte
	for _, e := range effs {
		if n, ok := e.(call.Notify); ok && n.Event.Type == call.EventIgnored {
			out = append(out, "ignored "+n.Event.Ignored.String()+"\n"...)
			continue
		}
		out = append(out, summarize(d, []call.Effect{e})+"\n"...)
	}
	return string(out)
}
