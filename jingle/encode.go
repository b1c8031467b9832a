package jingle

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/internal/xmlread"
	"github.com/jmi-xmpp/jmi/internal/xmltext"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
)

// Error conditions of XEP-0166 §10, to answer a Jingle IQ with
// IQ.ErrorReply.
var (
	// UnknownSession answers an action for a sid the receiver does not know.
	UnknownSession = StanzaError{Type: "cancel", Condition: "item-not-found", JingleCondition: "unknown-session"}
	// OutOfOrder answers an action that comes before the one it depends on.
	OutOfOrder = StanzaError{Type: "wait", Condition: "unexpected-request", JingleCondition: "out-of-order"}
	// TieBreak answers a session-initiate that crossed the receiver's own
	// (XEP-0166 §7.2.16).
	TieBreak = StanzaError{Type: "cancel", Condition: "conflict", JingleCondition: "tie-break"}
	// UnsupportedInfo answers a session-info payload the receiver does not
	// understand.
	UnsupportedInfo = StanzaError{Type: "modify", Condition: "feature-not-implemented", JingleCondition: "unsupported-info"}
	// BadRequest answers a Jingle element the receiver cannot use (Dino
	// answers senders='none' so).
	BadRequest = StanzaError{Type: "cancel", Condition: "bad-request"}
)

// FromJID parses the from address; a zero JID and no error when absent.
func (iq IQ) FromJID() (jid.JID, error) { return parseAddress("from", iq.From) }

// ToJID parses the to address; a zero JID and no error when absent.
func (iq IQ) ToJID() (jid.JID, error) { return parseAddress("to", iq.To) }

func parseAddress(attr, s string) (jid.JID, error) {
	if s == "" {
		return jid.JID{}, nil
	}
	j, err := jid.Parse(s)
	if err != nil {
		return jid.JID{}, fmt.Errorf("%w: %s=%q: %v", ErrBadAddress, attr, truncate(s), err)
	}
	return j, nil
}

// Result returns the acknowledgement of iq (RFC 6120 §8.2.3): type result,
// the same id, the addresses swapped. XEP-0166 asks for it before any
// answer in a new IQ.
func (iq IQ) Result() IQ {
	return IQ{ID: iq.ID, Type: "result", From: iq.To, To: iq.From}
}

// ErrorReply returns the refusal of iq with e: type error, the same id, the
// addresses swapped.
func (iq IQ) ErrorReply(e StanzaError) IQ {
	return IQ{ID: iq.ID, Type: "error", From: iq.To, To: iq.From, Error: &e}
}

// Content returns the content named name, or nil.
func (j *Jingle) Content(name string) *Content {
	for i := range j.Contents {
		if j.Contents[i].Name == name {
			return &j.Contents[i]
		}
	}
	return nil
}

// Media lists the media of every content's RTP description, in order,
// skipping contents without one: what to compare with the propose's media
// (Conversations terminates a session whose media differ with
// security-error).
func (j *Jingle) Media() []string {
	var media []string
	for _, c := range j.Contents {
		if c.Description != nil && c.Description.Media != "" {
			media = append(media, c.Description.Media)
		}
	}
	return media
}

// Marshal returns the XML of j, after Validate.
func Marshal(j *Jingle) ([]byte, error) { return marshal(j.TokenReader()) }

// MarshalIQ returns the XML of iq, after Validate.
func MarshalIQ(iq IQ) ([]byte, error) { return marshal(iq.TokenReader()) }

func marshal(r xml.TokenReader) ([]byte, error) {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	if _, err := xmlstream.Copy(enc, r); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, fmt.Errorf("jingle: encoding: %w", err)
	}
	return b.Bytes(), nil
}

// The interfaces of mellium's payloads.
var (
	_ xmlstream.Marshaler = (*Jingle)(nil)
	_ xmlstream.WriterTo  = (*Jingle)(nil)
	_ xml.Marshaler       = (*Jingle)(nil)
	_ xml.Unmarshaler     = (*Jingle)(nil)
	_ xmlstream.Marshaler = IQ{}
	_ xmlstream.WriterTo  = IQ{}
	_ xml.Marshaler       = IQ{}
)

// TokenReader implements xmlstream.Marshaler: the XML of j, written
// strictly (every attribute XEP-0166 requires, senders always, Conversations'
// ICE options in NSICEOption). A j that Validate refuses, or a kept element
// with malformed inner XML, makes the reader return the error. The output can
// be longer than what was read: a namespace the input declared once with a
// prefix is declared on each element that uses it.
func (j *Jingle) TokenReader() xml.TokenReader {
	if err := j.Validate(); err != nil {
		return errReader{err}
	}
	var b builder
	if err := b.jingle(j); err != nil {
		return errReader{err}
	}
	if err := b.checkText(); err != nil {
		return errReader{err}
	}
	return &b
}

// WriteXML implements xmlstream.WriterTo.
func (j *Jingle) WriteXML(w xmlstream.TokenWriter) (int, error) {
	return xmlstream.Copy(w, j.TokenReader())
}

// MarshalXML implements xml.Marshaler.
func (j *Jingle) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	return encodeTo(enc, j.TokenReader())
}

// TokenReader implements xmlstream.Marshaler: the <iq/> with its payload.
// The iq is in no namespace, so it takes the stream's (jabber:client).
func (iq IQ) TokenReader() xml.TokenReader {
	if err := iq.Validate(); err != nil {
		return errReader{err}
	}
	var b builder
	var attrs []xml.Attr
	if iq.From != "" {
		attrs = append(attrs, attr1("from", iq.From))
	}
	if iq.To != "" {
		attrs = append(attrs, attr1("to", iq.To))
	}
	attrs = append(attrs, attr1("type", iq.Type), attr1("id", iq.ID))
	b.open("", "iq", attrs...)
	if iq.Jingle != nil {
		if err := b.jingle(iq.Jingle); err != nil {
			return errReader{err}
		}
	}
	if e := iq.Error; e != nil {
		var attrs []xml.Attr
		if e.Type != "" {
			attrs = append(attrs, attr1("type", e.Type))
		}
		b.open("", "error", attrs...)
		if e.Condition != "" {
			b.leaf(NSStanzas, e.Condition)
		}
		if e.JingleCondition != "" {
			b.leaf(NSErrors, e.JingleCondition)
		}
		if e.Text != "" {
			b.open(NSStanzas, "text")
			b.text(e.Text)
			b.close()
		}
		b.close()
	}
	b.close()
	if err := b.checkText(); err != nil {
		return errReader{err}
	}
	return &b
}

// WriteXML implements xmlstream.WriterTo.
func (iq IQ) WriteXML(w xmlstream.TokenWriter) (int, error) {
	return xmlstream.Copy(w, iq.TokenReader())
}

// MarshalXML implements xml.Marshaler.
func (iq IQ) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	return encodeTo(enc, iq.TokenReader())
}

func encodeTo(enc *xml.Encoder, r xml.TokenReader) error {
	if _, err := xmlstream.Copy(enc, r); err != nil {
		return err
	}
	return enc.Flush()
}

type errReader struct{ err error }

func (r errReader) Token() (xml.Token, error) { return nil, r.err }

func attr1(local, value string) xml.Attr {
	return xml.Attr{Name: xml.Name{Local: local}, Value: value}
}

func uattr(local string, n uint64) xml.Attr { return attr1(local, strconv.FormatUint(n, 10)) }

// builder collects the tokens of an element, then reads them back. It
// leaves an element's namespace implicit when it is its parent's, so that
// output stays short.
type builder struct {
	toks []xml.Token
	pos  int
	// stack holds the elements begun and not ended: the name written in
	// the token and the namespace the element is in.
	stack []openElement
}

// checkText refuses a value that XML cannot carry as it is (see
// internal/xmltext): every attribute and text goes through here, whatever
// field it came from.
func (b *builder) checkText() error { return xmltext.Check(b.toks, ErrNotXMLText) }

type openElement struct {
	written xml.Name
	space   string
}

func (b *builder) Token() (xml.Token, error) {
	if b.pos >= len(b.toks) {
		return nil, io.EOF
	}
	t := b.toks[b.pos]
	b.pos++
	return t, nil
}

func (b *builder) parentSpace() (string, bool) {
	if len(b.stack) == 0 {
		return "", false
	}
	return b.stack[len(b.stack)-1].space, true
}

// open begins an element in namespace space; "" with no parent is the
// stream's namespace.
func (b *builder) open(space, local string, attrs ...xml.Attr) {
	name := xml.Name{Space: space, Local: local}
	parent, ok := b.parentSpace()
	switch {
	case ok && space == parent:
		name.Space = ""
	case ok && space == "":
		attrs = append(attrs, xmlread.NoNamespace)
	}
	b.toks = append(b.toks, xml.StartElement{Name: name, Attr: attrs})
	b.stack = append(b.stack, openElement{written: name, space: space})
}

func (b *builder) close() {
	top := b.stack[len(b.stack)-1]
	b.stack = b.stack[:len(b.stack)-1]
	b.toks = append(b.toks, xml.EndElement{Name: top.written})
}

func (b *builder) leaf(space, local string, attrs ...xml.Attr) {
	b.open(space, local, attrs...)
	b.close()
}

func (b *builder) text(s string) { b.toks = append(b.toks, xml.CharData(s)) }

// raw writes an element kept whole.
func (b *builder) raw(x jmi.RawElement) error {
	if !xmlread.IsNCName(x.XMLName.Local) {
		return fmt.Errorf("jingle: encoding: invalid element name %q", truncate(x.XMLName.Local))
	}
	b.open(x.XMLName.Space, x.XMLName.Local, xmlread.CleanAttrs(x.Attrs)...)
	if x.InnerXML != "" {
		d := xml.NewDecoder(strings.NewReader(x.InnerXML))
		depth := 0
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("jingle: encoding the inner XML of <%s>: %w", x.XMLName.Local, err)
			}
			switch t := tok.(type) {
			case xml.StartElement:
				explicit := false
				for _, a := range t.Attr {
					explicit = explicit || (a.Name.Space == "" && a.Name.Local == "xmlns")
				}
				space := t.Name.Space
				if space == "" && !explicit {
					// Written without a namespace (by hand): it inherits its
					// parent's, as it would in the document.
					space, _ = b.parentSpace()
				}
				b.open(space, t.Name.Local, xmlread.CleanAttrs(t.Attr)...)
				depth++
			case xml.EndElement:
				b.close()
				depth--
			case xml.CharData:
				b.text(string(t))
			case xml.Directive:
				return fmt.Errorf("jingle: encoding the inner XML of <%s>: %w", x.XMLName.Local, ErrDTD)
			}
		}
		if depth != 0 {
			return fmt.Errorf("jingle: encoding the inner XML of <%s>: unbalanced", x.XMLName.Local)
		}
	}
	b.close()
	return nil
}

func (b *builder) raws(xs []jmi.RawElement) error {
	for _, x := range xs {
		if err := b.raw(x); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) jingle(j *Jingle) error {
	attrs := []xml.Attr{attr1("action", j.Action.String())}
	if j.Initiator != "" {
		attrs = append(attrs, attr1("initiator", j.Initiator))
	}
	if j.Responder != "" {
		attrs = append(attrs, attr1("responder", j.Responder))
	}
	attrs = append(attrs, attr1("sid", j.SID))
	b.open(NS, "jingle", attrs...)
	if g := j.Group; g != nil {
		b.open(NSGrouping, "group", attr1("semantics", g.Semantics))
		for _, name := range g.Contents {
			b.leaf(NSGrouping, "content", attr1("name", name))
		}
		b.close()
	}
	for i := range j.Contents {
		if err := b.content(&j.Contents[i]); err != nil {
			return err
		}
	}
	if r := j.Reason; r != nil {
		b.open(NS, "reason")
		if r.Condition != "" {
			b.open(NS, string(r.Condition))
			if r.SID != "" {
				b.open(NS, "sid")
				b.text(r.SID)
				b.close()
			}
			b.close()
		}
		if r.Text != "" {
			b.open(NS, "text")
			b.text(r.Text)
			b.close()
		}
		if err := b.raws(r.Extra); err != nil {
			return err
		}
		b.close()
	}
	if err := b.raws(j.Extra); err != nil {
		return err
	}
	b.close()
	return nil
}

func (b *builder) content(c *Content) error {
	attrs := []xml.Attr{attr1("creator", c.Creator.String())}
	if c.Disposition != "" {
		attrs = append(attrs, attr1("disposition", c.Disposition))
	}
	attrs = append(attrs, attr1("name", c.Name), attr1("senders", c.Senders.String()))
	b.open(NS, "content", attrs...)
	if d := c.Description; d != nil {
		if err := b.description(d); err != nil {
			return err
		}
	}
	if t := c.Transport; t != nil {
		if err := b.transport(t); err != nil {
			return err
		}
	}
	if err := b.raws(c.Extra); err != nil {
		return err
	}
	b.close()
	return nil
}

func (b *builder) description(d *Description) error {
	var attrs []xml.Attr
	if d.Media != "" {
		attrs = append(attrs, attr1("media", d.Media))
	}
	if d.SSRC != "" {
		attrs = append(attrs, attr1("ssrc", d.SSRC))
	}
	b.open(NSRTP, "description", attrs...)
	for _, p := range d.Payloads {
		attrs := []xml.Attr{uattr("id", uint64(p.ID))}
		if p.Name != "" {
			attrs = append(attrs, attr1("name", p.Name))
		}
		if p.Clockrate != 0 {
			attrs = append(attrs, uattr("clockrate", uint64(p.Clockrate)))
		}
		if p.Channels != 0 {
			attrs = append(attrs, uattr("channels", uint64(p.Channels)))
		}
		if p.PTime != 0 {
			attrs = append(attrs, uattr("ptime", uint64(p.PTime)))
		}
		if p.MaxPTime != 0 {
			attrs = append(attrs, uattr("maxptime", uint64(p.MaxPTime)))
		}
		b.open(NSRTP, "payload-type", attrs...)
		for _, prm := range p.Parameters {
			b.leaf(NSRTP, "parameter", attr1("name", prm.Name), attr1("value", prm.Value))
		}
		if err := b.feedback(p.Feedback); err != nil {
			return err
		}
		if err := b.raws(p.Extra); err != nil {
			return err
		}
		b.close()
	}
	if err := b.feedback(d.Feedback); err != nil {
		return err
	}
	for _, h := range d.HeaderExtensions {
		attrs := []xml.Attr{uattr("id", uint64(h.ID)), attr1("uri", h.URI)}
		if h.Senders != SendersBoth {
			attrs = append(attrs, attr1("senders", h.Senders.String()))
		}
		b.open(NSRTPHdrExt, "rtp-hdrext", attrs...)
		if err := b.raws(h.Extra); err != nil {
			return err
		}
		b.close()
	}
	if d.ExtmapAllowMixed {
		b.leaf(NSRTPHdrExt, "extmap-allow-mixed")
	}
	for _, s := range d.Sources {
		b.open(NSSSMA, "source", uattr("ssrc", uint64(s.SSRC)))
		for _, prm := range s.Parameters {
			b.leaf(NSSSMA, "parameter", attr1("name", prm.Name), attr1("value", prm.Value))
		}
		b.close()
	}
	for _, g := range d.SourceGroups {
		b.open(NSSSMA, "ssrc-group", attr1("semantics", g.Semantics))
		for _, ssrc := range g.SSRCs {
			b.leaf(NSSSMA, "source", uattr("ssrc", uint64(ssrc)))
		}
		b.close()
	}
	if d.RTCPMux {
		b.leaf(NSRTP, "rtcp-mux")
	}
	if d.Encryption != nil {
		if err := b.raw(*d.Encryption); err != nil {
			return err
		}
	}
	if err := b.raws(d.Extra); err != nil {
		return err
	}
	b.close()
	return nil
}

func (b *builder) feedback(fbs []RTCPFeedback) error {
	for _, fb := range fbs {
		attrs := []xml.Attr{attr1("type", fb.Type)}
		if fb.Subtype != "" {
			attrs = append(attrs, attr1("subtype", fb.Subtype))
		}
		b.open(NSRTCPFB, "rtcp-fb", attrs...)
		if err := b.raws(fb.Extra); err != nil {
			return err
		}
		b.close()
	}
	return nil
}

func (b *builder) transport(t *Transport) error {
	var attrs []xml.Attr
	if t.Pwd != "" {
		attrs = append(attrs, attr1("pwd", t.Pwd))
	}
	if t.Ufrag != "" {
		attrs = append(attrs, attr1("ufrag", t.Ufrag))
	}
	b.open(NSICEUDP, "transport", attrs...)
	if f := t.Fingerprint; f != nil {
		attrs := []xml.Attr{attr1("hash", f.Hash)}
		if f.Setup != SetupNone {
			attrs = append(attrs, attr1("setup", f.Setup.String()))
		}
		b.open(NSDTLS, "fingerprint", attrs...)
		b.text(f.Value)
		b.close()
	}
	for _, opt := range t.ICEOptions {
		b.leaf(NSICEOption, opt)
	}
	for _, c := range t.Candidates {
		attrs := []xml.Attr{
			uattr("component", uint64(c.Component)),
			attr1("foundation", c.Foundation),
			uattr("generation", uint64(c.Generation)),
		}
		if c.ID != "" {
			attrs = append(attrs, attr1("id", c.ID))
		}
		attrs = append(attrs,
			attr1("ip", c.IP),
			uattr("network", uint64(c.Network)),
			uattr("port", uint64(c.Port)),
			uattr("priority", uint64(c.Priority)),
			attr1("protocol", c.Protocol),
		)
		if c.RelAddr != "" {
			attrs = append(attrs, attr1("rel-addr", c.RelAddr))
		}
		if c.RelAddr != "" || c.RelPort != 0 {
			attrs = append(attrs, uattr("rel-port", uint64(c.RelPort)))
		}
		attrs = append(attrs, attr1("type", c.Type))
		attrs = append(attrs, c.Attrs...)
		b.leaf(NSICEUDP, "candidate", attrs...)
	}
	if err := b.raws(t.Extra); err != nil {
		return err
	}
	b.close()
	return nil
}
