// Package xmppfix holds the small fixes jmi needs on top of mellium.im/xmpp
// v0.22.0, kept apart and written so that they could go upstream.
package xmppfix

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// NSBind is the namespace of RFC 6120 resource binding.
const NSBind = `urn:ietf:params:xml:ns:xmpp-bind`

// BindResource is a client-side replacement for xmpp.BindResource that asks
// for the resource of the session's local address. mellium v0.22.0 writes an
// empty <resource/> (it encodes the JID field instead of the resource), so the
// server always assigns a random one; a device that wants to be
// "juliet@example/phone" across reconnects needs its own resource back.
func BindResource() xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: NSBind, Local: "bind"},
		Necessary:  xmpp.Authn,
		Prohibited: xmpp.Ready,
		List: func(ctx context.Context, e xmlstream.TokenWriter, start xml.StartElement) (bool, error) {
			return true, errors.New("xmppfix: BindResource is for client sessions only")
		},
		Parse: func(ctx context.Context, d *xml.Decoder, start *xml.StartElement) (bool, interface{}, error) {
			return true, nil, d.Skip()
		},
		Negotiate: negotiateBind,
	}
}

type bindResult struct {
	stanza.IQ
	JID string        `xml:"urn:ietf:params:xml:ns:xmpp-bind bind>jid"`
	Err *stanza.Error `xml:"error"`
}

func negotiateBind(ctx context.Context, session *xmpp.Session, _ interface{}) (xmpp.SessionState, io.ReadWriter, error) {
	if session.State()&xmpp.Received == xmpp.Received {
		return 0, nil, errors.New("xmppfix: BindResource is for client sessions only")
	}
	w := session.TokenWriter()
	defer w.Close()
	r := session.TokenReader()
	defer r.Close()

	const reqID = "bind-1"
	var payload xml.TokenReader
	if res := session.LocalAddr().Resourcepart(); res != "" {
		payload = xmlstream.Wrap(xmlstream.Token(xml.CharData(res)), xml.StartElement{Name: xml.Name{Local: "resource"}})
	}
	req := stanza.IQ{ID: reqID, Type: stanza.SetIQ}.Wrap(
		xmlstream.Wrap(payload, xml.StartElement{Name: xml.Name{Space: NSBind, Local: "bind"}}))
	if _, err := xmlstream.Copy(w, req); err != nil {
		return 0, nil, err
	}
	if err := w.Flush(); err != nil {
		return 0, nil, err
	}

	d := xml.NewTokenDecoder(r)
	tok, err := d.Token()
	if err != nil {
		return 0, nil, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok || start.Name.Local != "iq" {
		return 0, nil, fmt.Errorf("xmppfix: bind: expected an IQ, got %v", tok)
	}
	var resp bindResult
	if err := d.DecodeElement(&resp, &start); err != nil {
		return 0, nil, fmt.Errorf("xmppfix: bind: %w", err)
	}
	switch {
	case resp.ID != reqID:
		return 0, nil, fmt.Errorf("xmppfix: bind: answer to IQ %q, want %q", resp.ID, reqID)
	case resp.Type == stanza.ErrorIQ && resp.Err != nil:
		return 0, nil, fmt.Errorf("xmppfix: bind refused: %w", *resp.Err)
	case resp.Type != stanza.ResultIQ:
		return 0, nil, fmt.Errorf("xmppfix: bind: unexpected IQ type %q", resp.Type)
	}
	j, err := jid.Parse(resp.JID)
	if err != nil {
		return 0, nil, fmt.Errorf("xmppfix: bind: server assigned an invalid JID %q: %w", resp.JID, err)
	}
	session.UpdateAddr(j)
	return xmpp.Ready, nil, nil
}
