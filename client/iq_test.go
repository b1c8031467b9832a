package client

import (
	"bytes"
	"testing"
)

// iqSeeds are the shapes the IQ decoders meet: pushes, Jingle from Dino,
// the odd and the broken.
var iqSeeds = []string{
	`<iq type='set' id='p1'><query xmlns='jabber:iq:roster'><item jid='romeo@montague.example' subscription='both'/></query></iq>`,
	`<iq type='set' id='p2' from='juliet@capulet.example'><query xmlns='jabber:iq:roster'><item jid='romeo@montague.example' subscription='remove'/></query></iq>`,
	`<iq type='set' id='p3'><query xmlns='jabber:iq:roster'><item jid='a@b'/><item jid='c@d' subscription='from'><group>x</group></item></query></iq>`,
	`<iq type='get' id='d1' from='mallory@evil.example/` + unparsable + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
	`<iq type='set' id='j1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><cancel/><text>bye</text></reason></jingle></iq>`,
	`<iq type='set' id='j2'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s1' initiator='romeo@montague.example/dino'><content name='audio'/></jingle></iq>`,
	`<iq type='set' id='j3'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate'/></iq>`,
	`<iq type='get' id='e'/>`,
	`<iq type='get' id='x'><a xmlns='urn:x'><b/></a><c/></iq>`,
	`<iq xmlns:x='urn:x' type='get' x:id='a' id='b' x:from='' from='m@e.example/r'><query xmlns='jabber:iq:version'/></iq>`,
	`<message/>`,
	`<iq><unclosed>`,
	`<!DOCTYPE iq><iq/>`,
}

// FuzzIQ: the IQ decoders never panic, and what parseIQ reads is stable:
// the raw stanza it keeps parses to the same attributes and payload.
func FuzzIQ(f *testing.F) {
	for _, s := range iqSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		iq, err := parseIQ(raw)
		if err != nil {
			return
		}
		again, err := parseIQ(iq.raw)
		if err != nil || again.from != iq.from || again.to != iq.to || again.id != iq.id || again.typ != iq.typ || again.payload.Name != iq.payload.Name || !bytes.Equal(again.raw, iq.raw) {
			t.Fatalf("parse not stable: %+v, then %+v (%v)", iq, again, err)
		}
		_, _ = decodeRosterPush(iq.raw)
		if j, err := decodeJingle(iq.raw); err == nil && (j.SID == "" || j.Action == "") {
			t.Fatalf("a Jingle request without sid or action: %+v", j)
		}
	})
}

func TestDecodeIQs(t *testing.T) {
	iq, err := parseIQ([]byte(iqSeeds[3]))
	if err != nil || iq.from != "mallory@evil.example/"+unparsable || iq.id != "d1" || iq.typ != "get" || iq.payload.Name.Local != "query" {
		t.Errorf("disco from an unparsable resource: %+v %v", iq, err)
	}
	items, err := decodeRosterPush([]byte(iqSeeds[2]))
	if err != nil || len(items) != 2 || items[1].JID != "c@d" || items[1].Subscription != "from" || items[0].Subscription != "" {
		t.Errorf("roster push: %+v %v", items, err)
	}
	j, err := decodeJingle([]byte(iqSeeds[4]))
	if err != nil || j.Action != "session-terminate" || j.SID != "s1" || j.condition() != "cancel" {
		t.Errorf("session-terminate: %+v %v", j, err)
	}
	if _, err := decodeJingle([]byte(iqSeeds[6])); err == nil {
		t.Error("a Jingle IQ without sid was accepted")
	}
	// id and type as mellium reads them (by local name, the first pair);
	// from only the plain attribute, which the server stamps.
	iq, err = parseIQ([]byte(iqSeeds[9]))
	if err != nil || iq.id != "a" || iq.typ != "get" || iq.from != "m@e.example/r" {
		t.Errorf("namespaced attributes: %+v %v", iq, err)
	}
	for _, bad := range iqSeeds[10:] {
		if _, err := parseIQ([]byte(bad)); err == nil {
			t.Errorf("parseIQ(%q) accepted it", bad)
		}
	}
	if _, err := parseIQ(bytes.Repeat([]byte(" "), maxIQSize+1)); err == nil {
		t.Error("an IQ over the limit was accepted")
	}
}

// BenchmarkParseIQ measures reading Dino's session-initiate (about 1.5 KB,
// the largest IQ the client decodes) and its few Jingle attributes.
func BenchmarkParseIQ(b *testing.B) {
	raw := []byte(dinoInitiate("si1", "romeo@montague.example/dino", "juliet@capulet.example/phone", "sid-1"))
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		iq, err := parseIQ(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := decodeJingle(iq.raw); err != nil {
			b.Fatal(err)
		}
	}
}
