package stanzalog

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestRead reads an excerpt of a real log of Dino 0.4.2
// declining a call: stream headers and Dino's own warnings are passed
// over, entries cut short (the excerpt cuts two) give nothing, and each
// complete stanza comes out with its direction, names, attributes and
// children.
func TestRead(t *testing.T) {
	b, err := os.ReadFile("testdata/dino-0.4.2-reject.log")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var stanzas []Stanza
	Read(bytes.NewReader(b), func(s Stanza) {
		stanzas = append(stanzas, s)
		dir := "out"
		if s.In {
			dir = "in"
		}
		what := dir + " " + s.Name
		if e := s.Child("urn:xmpp:jingle-message:0", ""); e != nil {
			what += " " + e.Name + " to=" + s.Attr("to")
		}
		got = append(got, what)
	})
	want := []string{
		"in a",
		"in message propose to=juliet@localhost",
		"in presence",
		"out message reject to=romeo@localhost/desk",
		"out r",
		"out message reject to=juliet@localhost",
		"out r",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	propose := stanzas[1]
	desc := propose.Find("urn:xmpp:jingle:apps:rtp:1", "description")
	if desc.Attr("media") != "audio" || propose.Child("urn:xmpp:hints", "store") == nil {
		t.Errorf("propose read as %v", propose)
	}
	if id := propose.Child("urn:xmpp:jingle-message:0", "propose").Attr("id"); id != "744168d5-fc97-40cb-9e09-6a03f51b84d3" {
		t.Errorf("propose id %q", id)
	}
	if lang := propose.Attr("lang"); lang != "en" {
		t.Errorf("xml:lang read as %q", lang)
	}
	if _, ok := propose.Child("urn:xmpp:jingle-message:0", "propose").Attrs["xmlns"]; ok {
		t.Error("a namespace declaration kept as an attribute")
	}
}

// FuzzRead: any input, no panic, and every stanza handed out is
// a named element whose children are named too.
func FuzzRead(f *testing.F) {
	if b, err := os.ReadFile("testdata/dino-0.4.2-reject.log"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("XMPP IN [x]\n<{a}:b {a}:c='d'>\n  text\n  <{e}:f />\n</{a}:b>\n"))
	f.Add([]byte("XMPP OUT ROOT [x]\n<{a}:stream>\nXMPP OUT [x]\n</{a}:b>\n<{a}:b/>\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Read(bytes.NewReader(b), func(s Stanza) {
			var check func(e *Element)
			check = func(e *Element) {
				if e == nil || e.Name == "" {
					t.Fatalf("an unnamed element in %v", s)
				}
				for _, c := range e.Children {
					check(c)
				}
			}
			check(s.Element)
			_ = s.String()
		})
	})
}
