package jmi

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"github.com/jmi-xmpp/jmi/internal/xmlread"
	"github.com/jmi-xmpp/jmi/internal/xmltext"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
)

// NewID returns a new session id: a random UUIDv4, as XEP-0353 §3.1
// recommends.
func NewID() string { return uuid.NewString() }

// RTP returns the XEP-0167 RTP description of one media type ("audio",
// "video") for a propose.
func RTP(media string) Description { return Description{Namespace: NSRTP, Media: media} }

// Media lists the media attribute of every description, in order, skipping
// descriptions without one.
func (e *Propose) Media() []string {
	var media []string
	for _, d := range e.Descriptions {
		if d.Media != "" {
			media = append(media, d.Media)
		}
	}
	return media
}

// TokenReader returns the XML of e: always in namespace NS, whatever it was
// read in. A malformed InnerXML in a Description or RawElement (one built by
// hand), or a value that is not XML text (ErrNotXMLText), makes the reader
// return an error.
func TokenReader(e Element) xml.TokenReader {
	var w tokenList
	if err := w.element(e); err != nil {
		return errReader{err}
	}
	if err := xmltext.Check(w.toks, ErrNotXMLText); err != nil {
		return errReader{err}
	}
	return &w
}

// Marshal returns the XML of e.
func Marshal(e Element) ([]byte, error) {
	return marshal(TokenReader(e))
}

// Wrap returns e inside a <message/> as XEP-0353 §3 requires: type chat, with
// a <store xmlns='urn:xmpp:hints'/> hint. A zero from or to, or an empty id,
// is left out (the server stamps from).
func Wrap(e Element, from, to jid.JID, id string) xml.TokenReader {
	start := xml.StartElement{Name: xml.Name{Local: "message"}}
	if !from.Equal(jid.JID{}) {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "from"}, Value: from.String()})
	}
	if !to.Equal(jid.JID{}) {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "to"}, Value: to.String()})
	}
	start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "type"}, Value: "chat"})
	if id != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "id"}, Value: id})
	}
	w := tokenList{toks: []xml.Token{start}}
	if err := w.element(e); err != nil {
		return errReader{err}
	}
	if err := xmltext.Check(w.toks, ErrNotXMLText); err != nil {
		return errReader{err}
	}
	store := xml.StartElement{Name: xml.Name{Space: NSHints, Local: "store"}}
	w.toks = append(w.toks, store, store.End(), start.End())
	return &w
}

// MarshalMessage returns the XML of Wrap(e, from, to, id).
func MarshalMessage(e Element, from, to jid.JID, id string) ([]byte, error) {
	return marshal(Wrap(e, from, to, id))
}

func marshal(r xml.TokenReader) ([]byte, error) {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	if _, err := xmlstream.Copy(enc, r); err != nil {
		return nil, fmt.Errorf("jmi: encoding: %w", err)
	}
	if err := enc.Flush(); err != nil {
		return nil, fmt.Errorf("jmi: encoding: %w", err)
	}
	return b.Bytes(), nil
}

// The interfaces of mellium's payloads, on every element type.
var (
	_ xmlstream.Marshaler = (*Propose)(nil)
	_ xmlstream.WriterTo  = (*Propose)(nil)
	_ xml.Marshaler       = (*Propose)(nil)
	_ xmlstream.Marshaler = (*Ringing)(nil)
	_ xmlstream.WriterTo  = (*Ringing)(nil)
	_ xml.Marshaler       = (*Ringing)(nil)
	_ xmlstream.Marshaler = (*Retract)(nil)
	_ xmlstream.WriterTo  = (*Retract)(nil)
	_ xml.Marshaler       = (*Retract)(nil)
	_ xmlstream.Marshaler = (*Proceed)(nil)
	_ xmlstream.WriterTo  = (*Proceed)(nil)
	_ xml.Marshaler       = (*Proceed)(nil)
	_ xmlstream.Marshaler = (*Reject)(nil)
	_ xmlstream.WriterTo  = (*Reject)(nil)
	_ xml.Marshaler       = (*Reject)(nil)
	_ xmlstream.Marshaler = (*Finish)(nil)
	_ xmlstream.WriterTo  = (*Finish)(nil)
	_ xml.Marshaler       = (*Finish)(nil)
	_ xmlstream.Marshaler = (*Accept)(nil)
	_ xmlstream.WriterTo  = (*Accept)(nil)
	_ xml.Marshaler       = (*Accept)(nil)
)

// TokenReader implements xmlstream.Marshaler.
func (e *Propose) TokenReader() xml.TokenReader { return TokenReader(e) }

// TokenReader implements xmlstream.Marshaler.
func (e *Ringing) TokenReader() xml.TokenReader { return TokenReader(e) }

// TokenReader implements xmlstream.Marshaler.
func (e *Retract) TokenReader() xml.TokenReader { return TokenReader(e) }

// TokenReader implements xmlstream.Marshaler.
func (e *Proceed) TokenReader() xml.TokenReader { return TokenReader(e) }

// TokenReader implements xmlstream.Marshaler.
func (e *Reject) TokenReader() xml.TokenReader { return TokenReader(e) }

// TokenReader implements xmlstream.Marshaler.
func (e *Finish) TokenReader() xml.TokenReader { return TokenReader(e) }

// TokenReader implements xmlstream.Marshaler.
func (e *Accept) TokenReader() xml.TokenReader { return TokenReader(e) }

// WriteXML implements xmlstream.WriterTo.
func (e *Propose) WriteXML(w xmlstream.TokenWriter) (int, error) {
	return xmlstream.Copy(w, TokenReader(e))
}

// WriteXML implements xmlstream.WriterTo.
func (e *Ringing) WriteXML(w xmlstream.TokenWriter) (int, error) {
	return xmlstream.Copy(w, TokenReader(e))
}

// WriteXML implements xmlstream.WriterTo.
func (e *Retract) WriteXML(w xmlstream.TokenWriter) (int, error) {
	return xmlstream.Copy(w, TokenReader(e))
}

// WriteXML implements xmlstream.WriterTo.
func (e *Proceed) WriteXML(w xmlstream.TokenWriter) (int, error) {
	return xmlstream.Copy(w, TokenReader(e))
}

// WriteXML implements xmlstream.WriterTo.
func (e *Reject) WriteXML(w xmlstream.TokenWriter) (int, error) {
	return xmlstream.Copy(w, TokenReader(e))
}

// WriteXML implements xmlstream.WriterTo.
func (e *Finish) WriteXML(w xmlstream.TokenWriter) (int, error) {
	return xmlstream.Copy(w, TokenReader(e))
}

// WriteXML implements xmlstream.WriterTo.
func (e *Accept) WriteXML(w xmlstream.TokenWriter) (int, error) {
	return xmlstream.Copy(w, TokenReader(e))
}

// MarshalXML implements xml.Marshaler.
func (e *Propose) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error { return encodeTo(enc, e) }

// MarshalXML implements xml.Marshaler.
func (e *Ringing) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error { return encodeTo(enc, e) }

// MarshalXML implements xml.Marshaler.
func (e *Retract) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error { return encodeTo(enc, e) }

// MarshalXML implements xml.Marshaler.
func (e *Proceed) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error { return encodeTo(enc, e) }

// MarshalXML implements xml.Marshaler.
func (e *Reject) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error { return encodeTo(enc, e) }

// MarshalXML implements xml.Marshaler.
func (e *Finish) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error { return encodeTo(enc, e) }

// MarshalXML implements xml.Marshaler.
func (e *Accept) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error { return encodeTo(enc, e) }

func encodeTo(enc *xml.Encoder, e Element) error {
	if _, err := xmlstream.Copy(enc, TokenReader(e)); err != nil {
		return err
	}
	return enc.Flush()
}

// tokenList builds the tokens of an element and then reads them back.
type tokenList struct {
	toks []xml.Token
	pos  int
}

func (w *tokenList) Token() (xml.Token, error) {
	if w.pos >= len(w.toks) {
		return nil, io.EOF
	}
	t := w.toks[w.pos]
	w.pos++
	return t, nil
}

type errReader struct{ err error }

func (r errReader) Token() (xml.Token, error) { return nil, r.err }

func (w *tokenList) element(e Element) error {
	if e == nil {
		return fmt.Errorf("jmi: encoding a nil element")
	}
	id := e.SessionID()
	start := xml.StartElement{
		Name: xml.Name{Space: NS, Local: e.Kind().String()},
		Attr: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: id}},
	}
	w.toks = append(w.toks, start)
	var extra []RawElement
	switch e := e.(type) {
	case *Propose:
		for _, d := range e.Descriptions {
			attrs := d.Attrs
			if d.Media != "" {
				if !isToken(d.Media) {
					// The reader refuses it too (ErrBadMedia): write only what
					// a peer of jmi's would take.
					return fmt.Errorf("%w: media=%q", ErrBadMedia, d.Media)
				}
				attrs = append([]xml.Attr{{Name: xml.Name{Local: "media"}, Value: d.Media}}, attrs...)
			}
			if err := w.raw(RawElement{XMLName: xml.Name{Space: d.Namespace, Local: "description"}, Attrs: attrs, InnerXML: d.InnerXML}, NS); err != nil {
				return err
			}
		}
		extra = e.Extra
	case *Ringing:
		extra = e.Extra
	case *Proceed:
		extra = e.Extra
	case *Accept:
		extra = e.Extra
	case *Retract:
		if err := w.reason(e.Reason); err != nil {
			return err
		}
		w.flag(e.TieBreak, "tie-break", nil)
		extra = e.Extra
	case *Reject:
		if err := w.reason(e.Reason); err != nil {
			return err
		}
		w.flag(e.TieBreak, "tie-break", nil)
		extra = e.Extra
	case *Finish:
		if err := w.reason(e.Reason); err != nil {
			return err
		}
		w.flag(e.MigratedTo != "", "migrated", []xml.Attr{{Name: xml.Name{Local: "to"}, Value: e.MigratedTo}})
		extra = e.Extra
	}
	for _, x := range extra {
		if err := w.raw(x, NS); err != nil {
			return err
		}
	}
	w.toks = append(w.toks, start.End())
	return nil
}

// flag writes an empty child in the element's own namespace.
func (w *tokenList) flag(on bool, local string, attrs []xml.Attr) {
	if !on {
		return
	}
	s := xml.StartElement{Name: xml.Name{Local: local}, Attr: attrs}
	w.toks = append(w.toks, s, s.End())
}

func (w *tokenList) reason(r *Reason) error {
	if r == nil {
		return nil
	}
	start := xml.StartElement{Name: xml.Name{Space: NSJingle, Local: "reason"}}
	w.toks = append(w.toks, start)
	if r.Condition != "" {
		if !isElementName(string(r.Condition)) {
			// encoding/xml writes any name as it is: "a b" or "x/" would
			// make the stanza malformed, and the server end the stream.
			return fmt.Errorf("%w: reason condition %q is not an element name", ErrNotXMLText, r.Condition)
		}
		c := xml.StartElement{Name: xml.Name{Local: string(r.Condition)}}
		w.toks = append(w.toks, c)
		if r.SID != "" {
			sid := xml.StartElement{Name: xml.Name{Local: "sid"}}
			w.toks = append(w.toks, sid, xml.CharData(r.SID), sid.End())
		}
		w.toks = append(w.toks, c.End())
	}
	if r.Text != "" {
		t := xml.StartElement{Name: xml.Name{Local: "text"}}
		w.toks = append(w.toks, t, xml.CharData(r.Text), t.End())
	}
	for _, x := range r.Extra {
		if err := w.raw(x, NSJingle); err != nil {
			return err
		}
	}
	w.toks = append(w.toks, start.End())
	return nil
}

// isElementName reports whether s can be written as the local name of an
// element without breaking the XML around it. It is looser than XML's Name
// production (which the decoder enforces on what it reads, so that every
// decoded condition passes): it refuses what would end or split the name.
func isElementName(s string) bool {
	if s == "" || !xmltext.Valid(s) || strings.ContainsAny(s, " \t\r\n<>&\"'/=:!?") {
		return false
	}
	switch c := s[0]; {
	case c >= '0' && c <= '9', c == '-', c == '.':
		return false
	}
	return true
}

// raw writes an element kept whole. Its namespace is left implicit when it
// is the parent's, so that output stays short.
func (w *tokenList) raw(x RawElement, parentNS string) error {
	name := x.XMLName
	attrs := xmlread.CleanAttrs(x.Attrs)
	switch name.Space {
	case parentNS:
		name.Space = ""
	case "":
		attrs = append(attrs, xmlread.NoNamespace)
	}
	start := xml.StartElement{Name: name, Attr: attrs}
	w.toks = append(w.toks, start)
	if x.InnerXML != "" {
		d := xml.NewDecoder(strings.NewReader(x.InnerXML))
		var open []xml.Name
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("jmi: encoding the inner XML of <%s>: %w", x.XMLName.Local, err)
			}
			switch t := tok.(type) {
			case xml.StartElement:
				explicit := false
				for _, a := range t.Attr {
					explicit = explicit || (a.Name.Space == "" && a.Name.Local == "xmlns")
				}
				t.Attr = xmlread.CleanAttrs(t.Attr)
				switch {
				case t.Name.Space != "":
				case explicit:
					// xmlns='': in no namespace, and it must say so.
					t.Attr = append(t.Attr, xmlread.NoNamespace)
				case len(open) > 0:
					// Written without a namespace (by hand): it inherits
					// its parent's, as it would in the document.
					t.Name.Space = open[len(open)-1].Space
				default:
					t.Name.Space = x.XMLName.Space
				}
				open = append(open, t.Name)
				tok = t
			case xml.EndElement:
				tok = xml.EndElement{Name: open[len(open)-1]}
				open = open[:len(open)-1]
			case xml.Directive:
				return fmt.Errorf("jmi: encoding the inner XML of <%s>: %w", x.XMLName.Local, ErrDTD)
			case xml.ProcInst, xml.Comment:
				continue
			}
			w.toks = append(w.toks, xml.CopyToken(tok))
		}
	}
	w.toks = append(w.toks, start.End())
	return nil
}
