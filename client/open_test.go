package client

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"
)

// TestE2EDialOpenings: what Dial opens to a media stack on the same
// resource. A Jingle IQ goes to the handler of Config.MuxOptions (before
// the client's own answer, which would terminate the session), a message
// reaches its message handlers, Config.Features and the handlers' features
// are listed in disco#info, and SendIQ carries an IQ on the client's
// session.
func TestE2EDialOpenings(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jingles := make(chan string, 4)
	bodies := make(chan string, 4)
	const rtp = "urn:xmpp:jingle:apps:rtp:1"
	media := []mux.Option{
		mux.IQFunc(stanza.SetIQ, xml.Name{Space: jmi.NSJingle, Local: "jingle"}, func(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
			for _, a := range start.Attr {
				if a.Name.Local == "sid" {
					jingles <- a.Value
				}
			}
			_, err := xmlstream.Copy(t, iq.Result(nil))
			return err
		}),
		mux.MessageFunc(stanza.ChatMessage, xml.Name{Local: "body"}, func(m stanza.Message, r xmlstream.TokenReadEncoder) error {
			bodies <- m.From.String()
			return nil
		}),
	}
	phone := w.dialWith(t, "juliet", "phone", Config{Trust: trustAll, MuxOptions: media, Features: []info.Feature{{Var: rtp}}})
	romeo := w.device(t, "romeo", "orchard")
	if romeo.Session() == nil {
		t.Fatal("Session() is nil after Dial")
	}

	jingle := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: jmi.NSJingle, Local: "jingle"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "action"}, Value: "session-initiate"}, {Name: xml.Name{Local: "sid"}, Value: "media-1"},
		{Name: xml.Name{Local: "initiator"}, Value: romeo.Account().String()}}})
	r, err := romeo.SendIQ(ctx, stanza.IQ{To: phone.Account(), Type: stanza.SetIQ}, jingle)
	if err != nil {
		t.Fatal(err)
	}
	typ := iqType(t, r)
	if typ != "result" {
		t.Errorf("the media stack's Jingle answer is %q, want result", typ)
	}
	select {
	case sid := <-jingles:
		if sid != "media-1" {
			t.Errorf("the handler saw sid %q", sid)
		}
	case <-ctx.Done():
		t.Fatal("the Jingle IQ did not reach the handler of MuxOptions")
	}

	if err := romeo.sendRaw(ctx, `<message to='`+phone.Account().String()+`' type='chat'><body>hello</body></message>`); err != nil {
		t.Fatal(err)
	}
	select {
	case from := <-bodies:
		if !strings.HasPrefix(from, "romeo@") {
			t.Errorf("message from %s", from)
		}
	case <-ctx.Done():
		t.Fatal("the message did not reach the handler of MuxOptions")
	}

	query := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsDiscoInfo, Local: "query"}})
	r, err = romeo.SendIQ(ctx, stanza.IQ{To: phone.Account(), Type: stanza.GetIQ}, query)
	if err != nil {
		t.Fatal(err)
	}
	var disco struct {
		Features []struct {
			Var string `xml:"var,attr"`
		} `xml:"http://jabber.org/protocol/disco#info query>feature"`
	}
	if err := xml.NewTokenDecoder(r).Decode(&disco); err != nil {
		t.Fatal(err)
	}
	r.Close()
	var vars []string
	for _, f := range disco.Features {
		vars = append(vars, f.Var)
	}
	if got := strings.Join(vars, " "); !strings.Contains(got, rtp) || !strings.Contains(got, jmi.NS) {
		t.Errorf("disco#info lists %s; want %s and %s", got, jmi.NS, rtp)
	}
}

// iqType reads the type of the IQ answer r and closes it.
func iqType(t *testing.T, r xmlstream.TokenReadCloser) string {
	t.Helper()
	defer r.Close()
	tok, err := r.Token()
	if err != nil {
		t.Fatal(err)
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		t.Fatalf("IQ answer starts with %T", tok)
	}
	for _, a := range start.Attr {
		if a.Name.Local == "type" {
			return a.Value
		}
	}
	return ""
}
