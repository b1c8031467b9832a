package jingle

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/internal/xmlread"
)

// Decode reads the <jingle/> element whose start element is start from d,
// through its end element. d must resolve namespaces (an *xml.Decoder, or a
// mellium token stream), so that prefixed namespaces read as default ones.
//
// Decoding is lenient where deployed clients need it: no initiator
// (Conversations, Monal), no senders (both), no creator (initiator),
// Conversations' ICE options, candidates of any component and protocol (Dino's
// component 2, Monal's tcp), a fingerprint without setup, and unknown children,
// which are kept in the Extra fields. It refuses what Validate refuses, and
// input beyond MaxDepth or MaxTokens.
func Decode(d xml.TokenReader, start xml.StartElement) (*Jingle, error) {
	r := xmlread.New(d, &readConfig, 1)
	j, err := decodeJingle(r, start)
	if err != nil {
		return nil, err
	}
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return j, nil
}

// DecodeIQ reads the <iq/> whose start element is start from d, with the
// <jingle/> it carries (a set) or its <error/> (an error). Other children
// are skipped.
func DecodeIQ(d xml.TokenReader, start xml.StartElement) (IQ, error) {
	r := xmlread.New(d, &readConfig, 1)
	iq, err := decodeIQ(r, start)
	if err != nil {
		return IQ{}, err
	}
	if err := iq.Validate(); err != nil {
		return IQ{}, err
	}
	return iq, nil
}

// Parse reads one <iq/> stanza, or a bare <jingle/> element, from b. For a
// bare element only the Jingle of the IQ is set.
func Parse(b []byte) (IQ, error) {
	if len(b) > MaxStanzaSize {
		return IQ{}, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(b), MaxStanzaSize)
	}
	r := xmlread.New(xml.NewDecoder(bytes.NewReader(b)), &readConfig, 0)
	var iq IQ
	bare := false
	for {
		tok, err := r.Next()
		if errors.Is(err, xmlread.ErrEOF) {
			return IQ{}, fmt.Errorf("%w: the input holds no element", ErrNoJingle)
		}
		if err != nil {
			return IQ{}, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case isStanza(start.Name, "iq"):
			iq, err = decodeIQ(r, start)
		case start.Name.Space == NS && start.Name.Local == "jingle":
			bare = true
			iq.Jingle, err = decodeJingle(r, start)
		default:
			return IQ{}, fmt.Errorf("%w: the root element is <%s xmlns='%s'>, neither an iq nor a jingle element", ErrNoJingle, start.Name.Local, start.Name.Space)
		}
		if err != nil {
			return IQ{}, err
		}
		break
	}
	// Nothing but white space, comments and processing instructions may
	// follow the root element.
	for {
		tok, err := r.Next()
		if errors.Is(err, xmlread.ErrEOF) {
			break
		}
		if err != nil {
			return IQ{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return IQ{}, fmt.Errorf("%w: element <%s> after the end of the stanza", ErrMalformed, t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return IQ{}, fmt.Errorf("%w: text after the end of the stanza", ErrMalformed)
			}
		}
	}
	if bare {
		return iq, iq.Jingle.Validate()
	}
	return iq, iq.Validate()
}

// ReadIQ reads r to its end and parses it as Parse does. It reads at most
// MaxStanzaSize+1 bytes.
func ReadIQ(r io.Reader) (IQ, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxStanzaSize+1))
	if err != nil {
		return IQ{}, fmt.Errorf("jingle: reading: %w", err)
	}
	return Parse(b)
}

// UnmarshalXML implements xml.Unmarshaler with Decode.
func (j *Jingle) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	v, err := Decode(d, start)
	if err != nil {
		return err
	}
	*j = *v
	return nil
}

// isStanza reports whether name is the stanza local in a client or server
// stream's namespace, or in none (a stanza pasted from a log).
func isStanza(name xml.Name, local string) bool {
	return name.Local == local && (name.Space == "" || name.Space == "jabber:client" || name.Space == "jabber:server")
}

// readConfig holds the package's limits and errors for the shared reader.
var readConfig = xmlread.Config{
	MaxTokens: MaxTokens,
	MaxDepth:  MaxDepth,
	Malformed: ErrMalformed,
	TooLarge:  ErrTooLarge,
	DTD:       ErrDTD,
}

// reader is the shared bounded reader with the package's limits.
type reader = xmlread.Reader

// raw keeps an element whole: its name, attributes and inner XML, with
// comments and processing instructions dropped.
func raw(r *reader, start xml.StartElement) (jmi.RawElement, error) {
	x := jmi.RawElement{XMLName: start.Name, Attrs: xmlread.CleanAttrs(start.Attr)}
	var err error
	x.InnerXML, err = r.InnerXML()
	return x, err
}

// attr returns the value of the attribute local in no namespace and whether
// it is present. With duplicates, the last wins.
func attr(start xml.StartElement, local string) (string, bool) {
	v, ok := "", false
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			v, ok = a.Value, true
		}
	}
	return v, ok
}

// number parses an unsigned decimal attribute of at most bits bits.
func number(s string, bits int) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, bits)
	return n, err == nil
}

// optNumber reads an optional unsigned attribute; errBad wraps a value that
// is not a number of bits bits.
func optNumber(start xml.StartElement, local string, bits int, errBad error, what string) (uint64, error) {
	s, ok := attr(start, local)
	if !ok {
		return 0, nil
	}
	n, ok := number(s, bits)
	if !ok {
		return 0, fmt.Errorf("%w: %s %s=%q is not a number of %d bits", errBad, what, local, s, bits)
	}
	return n, nil
}

// reqNumber reads a required unsigned attribute.
func reqNumber(start xml.StartElement, local string, bits int, errBad error, what string) (uint64, error) {
	if _, ok := attr(start, local); !ok {
		return 0, fmt.Errorf("%w: %s without %s", errBad, what, local)
	}
	return optNumber(start, local, bits, errBad, what)
}

// port reads a port attribute: 0–65535, or ErrBadPort.
func port(start xml.StartElement, local string, required bool) (uint16, error) {
	s, ok := attr(start, local)
	if !ok {
		if required {
			return 0, fmt.Errorf("%w: candidate without %s", ErrBadCandidate, local)
		}
		return 0, nil
	}
	n, ok := number(s, 16)
	if !ok {
		return 0, fmt.Errorf("%w: %s=%q", ErrBadPort, local, s)
	}
	return uint16(n), nil
}

// limit returns an error once n items of what are already held.
func limit(n, max int, err error, what string) error {
	if n >= max {
		return fmt.Errorf("%w: more than %d %s", err, max, what)
	}
	return nil
}

func decodeIQ(r *reader, start xml.StartElement) (IQ, error) {
	var iq IQ
	if !isStanza(start.Name, "iq") {
		return iq, fmt.Errorf("%w: <%s> is not an iq", ErrNoJingle, start.Name.Local)
	}
	iq.ID, _ = attr(start, "id")
	iq.Type, _ = attr(start, "type")
	iq.From, _ = attr(start, "from")
	iq.To, _ = attr(start, "to")
	err := r.Children(func(child xml.StartElement) error {
		switch {
		case child.Name.Space == NS && child.Name.Local == "jingle":
			if iq.Jingle != nil {
				return fmt.Errorf("%w: sid %q and another", ErrMultipleJingle, iq.Jingle.SID)
			}
			var err error
			iq.Jingle, err = decodeJingle(r, child)
			return err
		case isStanza(child.Name, "error") && iq.Error == nil:
			var err error
			iq.Error, err = decodeStanzaError(r, child)
			return err
		default:
			return r.Skip()
		}
	})
	if err != nil {
		return IQ{}, err
	}
	if (iq.Type == "set" || iq.Type == "get") && iq.Jingle == nil {
		return IQ{}, fmt.Errorf("%w: the iq %s carries none", ErrNoJingle, iq.Type)
	}
	return iq, nil
}

func decodeStanzaError(r *reader, start xml.StartElement) (*StanzaError, error) {
	e := &StanzaError{}
	e.Type, _ = attr(start, "type")
	err := r.Children(func(child xml.StartElement) error {
		switch {
		case child.Name.Space == NSStanzas && child.Name.Local == "text":
			var err error
			e.Text, err = r.Text()
			return err
		case child.Name.Space == NSStanzas && e.Condition == "":
			e.Condition = child.Name.Local
		case child.Name.Space == NSErrors && e.JingleCondition == "":
			e.JingleCondition = child.Name.Local
		}
		return r.Skip()
	})
	return e, err
}

func decodeJingle(r *reader, start xml.StartElement) (*Jingle, error) {
	j := &Jingle{}
	if start.Name.Space != NS || start.Name.Local != "jingle" {
		return nil, fmt.Errorf("%w: <%s xmlns='%s'> is not one", ErrNoJingle, start.Name.Local, start.Name.Space)
	}
	action, ok := attr(start, "action")
	if !ok || action == "" {
		return nil, ErrMissingAction
	}
	if j.Action, ok = ParseAction(action); !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAction, truncate(action))
	}
	if j.SID, ok = attr(start, "sid"); !ok || j.SID == "" {
		return nil, fmt.Errorf("%w in %s", ErrMissingSID, j.Action)
	}
	j.Initiator, _ = attr(start, "initiator")
	j.Responder, _ = attr(start, "responder")
	err := r.Children(func(child xml.StartElement) error {
		switch {
		case child.Name.Space == NS && child.Name.Local == "content":
			if err := limit(len(j.Contents), MaxContents, ErrTooManyContents, "contents"); err != nil {
				return err
			}
			c, err := decodeContent(r, child)
			j.Contents = append(j.Contents, c)
			return err
		case child.Name.Space == NS && child.Name.Local == "reason" && j.Reason == nil:
			var err error
			j.Reason, err = decodeReason(r)
			return err
		case child.Name.Space == NSGrouping && child.Name.Local == "group" && j.Group == nil:
			var err error
			j.Group, err = decodeGroup(r, child)
			return err
		default:
			if err := limit(len(j.Extra), MaxItems, ErrTooManyItems, "unknown children of <jingle>"); err != nil {
				return err
			}
			x, err := raw(r, child)
			j.Extra = append(j.Extra, x)
			return err
		}
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// truncate shortens a peer's value for an error message.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// decodeReason reads the children of a <reason/> (XEP-0166 §7.4) as package
// jmi does: the first element in the Jingle namespace other than <text/> is
// the condition, kept even when it is not one of the 17 defined ones.
func decodeReason(r *reader) (*jmi.Reason, error) {
	reason := &jmi.Reason{}
	haveCondition := false
	err := r.Children(func(child xml.StartElement) error {
		var err error
		switch {
		case child.Name.Space == NS && child.Name.Local == "text":
			reason.Text, err = r.Text()
		case child.Name.Space == NS && !haveCondition:
			haveCondition = true
			reason.Condition = jmi.Condition(child.Name.Local)
			err = r.Children(func(sid xml.StartElement) error {
				if sid.Name.Local != "sid" || reason.SID != "" {
					return r.Skip()
				}
				text, err := r.Text()
				reason.SID = strings.TrimSpace(text)
				return err
			})
		default:
			if err := limit(len(reason.Extra), MaxItems, ErrTooManyItems, "unknown children of <reason>"); err != nil {
				return err
			}
			var x jmi.RawElement
			x, err = raw(r, child)
			reason.Extra = append(reason.Extra, x)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return reason, nil
}

func decodeGroup(r *reader, start xml.StartElement) (*Group, error) {
	g := &Group{}
	g.Semantics, _ = attr(start, "semantics")
	err := r.Children(func(child xml.StartElement) error {
		if child.Name.Local == "content" {
			if err := limit(len(g.Contents), MaxItems, ErrTooManyItems, "contents in <group>"); err != nil {
				return err
			}
			name, _ := attr(child, "name")
			g.Contents = append(g.Contents, name)
		}
		return r.Skip()
	})
	return g, err
}

func decodeContent(r *reader, start xml.StartElement) (Content, error) {
	var c Content
	switch creator, _ := attr(start, "creator"); creator {
	case "", "initiator":
	case "responder":
		c.Creator = CreatorResponder
	default:
		return c, fmt.Errorf("%w: creator=%q", ErrBadContent, truncate(creator))
	}
	c.Name, _ = attr(start, "name")
	if s, ok := attr(start, "senders"); ok {
		var known bool
		if c.Senders, known = parseSenders(s); !known {
			return c, fmt.Errorf("%w: senders=%q in content %q", ErrBadContent, truncate(s), truncate(c.Name))
		}
	}
	c.Disposition, _ = attr(start, "disposition")
	err := r.Children(func(child xml.StartElement) error {
		var err error
		switch {
		case child.Name.Space == NSRTP && child.Name.Local == "description" && c.Description == nil:
			c.Description, err = decodeDescription(r, child)
		case child.Name.Space == NSICEUDP && child.Name.Local == "transport" && c.Transport == nil:
			c.Transport, err = decodeTransport(r, child)
		default:
			if err := limit(len(c.Extra), MaxItems, ErrTooManyItems, "unknown children of <content>"); err != nil {
				return err
			}
			var x jmi.RawElement
			x, err = raw(r, child)
			c.Extra = append(c.Extra, x)
		}
		return err
	})
	return c, err
}

func parseSenders(s string) (Senders, bool) {
	for i, name := range sendersNames {
		if name == s {
			return Senders(i), true
		}
	}
	return SendersBoth, false
}

func decodeDescription(r *reader, start xml.StartElement) (*Description, error) {
	d := &Description{}
	d.Media, _ = attr(start, "media")
	d.SSRC, _ = attr(start, "ssrc")
	err := r.Children(func(child xml.StartElement) error {
		var err error
		switch n := child.Name; {
		case n.Space == NSRTP && n.Local == "payload-type":
			if err := limit(len(d.Payloads), MaxPayloadTypes, ErrTooManyPayloadTypes, "payload types in a description"); err != nil {
				return err
			}
			var p PayloadType
			p, err = decodePayloadType(r, child)
			d.Payloads = append(d.Payloads, p)
		case n.Space == NSRTP && n.Local == "rtcp-mux":
			d.RTCPMux = true
			err = r.Skip()
		case n.Space == NSRTP && n.Local == "encryption" && d.Encryption == nil:
			var x jmi.RawElement
			x, err = raw(r, child)
			d.Encryption = &x
		case n.Space == NSRTCPFB && n.Local == "rtcp-fb":
			if err := limit(len(d.Feedback), MaxItems, ErrTooManyItems, "rtcp-fb in a description"); err != nil {
				return err
			}
			var fb RTCPFeedback
			fb, err = decodeFeedback(r, child)
			d.Feedback = append(d.Feedback, fb)
		case n.Space == NSRTPHdrExt && n.Local == "rtp-hdrext":
			if err := limit(len(d.HeaderExtensions), MaxItems, ErrTooManyItems, "rtp-hdrext in a description"); err != nil {
				return err
			}
			var h HeaderExtension
			h, err = decodeHeaderExtension(r, child)
			d.HeaderExtensions = append(d.HeaderExtensions, h)
		case n.Space == NSRTPHdrExt && n.Local == "extmap-allow-mixed":
			d.ExtmapAllowMixed = true
			err = r.Skip()
		case n.Space == NSSSMA && n.Local == "source":
			if err := limit(len(d.Sources), MaxItems, ErrTooManyItems, "sources in a description"); err != nil {
				return err
			}
			var s Source
			s, err = decodeSource(r, child)
			d.Sources = append(d.Sources, s)
		case n.Space == NSSSMA && n.Local == "ssrc-group":
			if err := limit(len(d.SourceGroups), MaxItems, ErrTooManyItems, "ssrc-groups in a description"); err != nil {
				return err
			}
			var g SourceGroup
			g, err = decodeSourceGroup(r, child)
			d.SourceGroups = append(d.SourceGroups, g)
		default:
			if err := limit(len(d.Extra), MaxItems, ErrTooManyItems, "unknown children of <description>"); err != nil {
				return err
			}
			var x jmi.RawElement
			x, err = raw(r, child)
			d.Extra = append(d.Extra, x)
		}
		return err
	})
	return d, err
}

func decodePayloadType(r *reader, start xml.StartElement) (PayloadType, error) {
	var p PayloadType
	const what = "payload-type"
	id, err := reqNumber(start, "id", 8, ErrBadPayloadType, what)
	if err != nil {
		return p, err
	}
	if id > 127 {
		return p, fmt.Errorf("%w: id %d is outside 0–127", ErrBadPayloadType, id)
	}
	p.ID = uint8(id)
	p.Name, _ = attr(start, "name")
	clock, err := optNumber(start, "clockrate", 32, ErrBadPayloadType, what)
	if err != nil {
		return p, err
	}
	channels, err := optNumber(start, "channels", 8, ErrBadPayloadType, what)
	if err != nil {
		return p, err
	}
	ptime, err := optNumber(start, "ptime", 32, ErrBadPayloadType, what)
	if err != nil {
		return p, err
	}
	maxptime, err := optNumber(start, "maxptime", 32, ErrBadPayloadType, what)
	if err != nil {
		return p, err
	}
	p.Clockrate, p.Channels, p.PTime, p.MaxPTime = uint32(clock), uint8(channels), uint32(ptime), uint32(maxptime)
	err = r.Children(func(child xml.StartElement) error {
		switch n := child.Name; {
		case n.Space == NSRTP && n.Local == "parameter":
			if err := limit(len(p.Parameters), MaxItems, ErrTooManyItems, "parameters in a payload type"); err != nil {
				return err
			}
			p.Parameters = append(p.Parameters, parameterOf(child))
			return r.Skip()
		case n.Space == NSRTCPFB && n.Local == "rtcp-fb":
			if err := limit(len(p.Feedback), MaxItems, ErrTooManyItems, "rtcp-fb in a payload type"); err != nil {
				return err
			}
			fb, err := decodeFeedback(r, child)
			p.Feedback = append(p.Feedback, fb)
			return err
		default:
			if err := limit(len(p.Extra), MaxItems, ErrTooManyItems, "unknown children of <payload-type>"); err != nil {
				return err
			}
			x, err := raw(r, child)
			p.Extra = append(p.Extra, x)
			return err
		}
	})
	return p, err
}

func parameterOf(start xml.StartElement) Parameter {
	var p Parameter
	p.Name, _ = attr(start, "name")
	p.Value, _ = attr(start, "value")
	return p
}

func decodeFeedback(r *reader, start xml.StartElement) (RTCPFeedback, error) {
	var fb RTCPFeedback
	fb.Type, _ = attr(start, "type")
	fb.Subtype, _ = attr(start, "subtype")
	err := r.Children(func(child xml.StartElement) error {
		if err := limit(len(fb.Extra), MaxItems, ErrTooManyItems, "children of <rtcp-fb>"); err != nil {
			return err
		}
		x, err := raw(r, child)
		fb.Extra = append(fb.Extra, x)
		return err
	})
	return fb, err
}

func decodeHeaderExtension(r *reader, start xml.StartElement) (HeaderExtension, error) {
	var h HeaderExtension
	id, err := reqNumber(start, "id", 16, ErrBadElement, "rtp-hdrext")
	if err != nil {
		return h, err
	}
	h.ID = uint16(id)
	h.URI, _ = attr(start, "uri")
	if s, ok := attr(start, "senders"); ok {
		var known bool
		if h.Senders, known = parseSenders(s); !known {
			return h, fmt.Errorf("%w: rtp-hdrext senders=%q", ErrBadElement, truncate(s))
		}
	}
	err = r.Children(func(child xml.StartElement) error {
		if err := limit(len(h.Extra), MaxItems, ErrTooManyItems, "children of <rtp-hdrext>"); err != nil {
			return err
		}
		x, err := raw(r, child)
		h.Extra = append(h.Extra, x)
		return err
	})
	return h, err
}

func decodeSource(r *reader, start xml.StartElement) (Source, error) {
	var s Source
	ssrc, err := reqNumber(start, "ssrc", 32, ErrBadElement, "source")
	if err != nil {
		return s, err
	}
	s.SSRC = uint32(ssrc)
	err = r.Children(func(child xml.StartElement) error {
		// Older versions of XEP-0339 put the parameters in the RTP
		// namespace: read them in any.
		if child.Name.Local == "parameter" {
			if err := limit(len(s.Parameters), MaxItems, ErrTooManyItems, "parameters in a source"); err != nil {
				return err
			}
			s.Parameters = append(s.Parameters, parameterOf(child))
		}
		return r.Skip()
	})
	return s, err
}

func decodeSourceGroup(r *reader, start xml.StartElement) (SourceGroup, error) {
	var g SourceGroup
	g.Semantics, _ = attr(start, "semantics")
	err := r.Children(func(child xml.StartElement) error {
		if child.Name.Local == "source" {
			if err := limit(len(g.SSRCs), MaxItems, ErrTooManyItems, "sources in an ssrc-group"); err != nil {
				return err
			}
			ssrc, err := reqNumber(child, "ssrc", 32, ErrBadElement, "ssrc-group source")
			if err != nil {
				return err
			}
			g.SSRCs = append(g.SSRCs, uint32(ssrc))
		}
		return r.Skip()
	})
	return g, err
}

func decodeTransport(r *reader, start xml.StartElement) (*Transport, error) {
	t := &Transport{}
	t.Ufrag, _ = attr(start, "ufrag")
	t.Pwd, _ = attr(start, "pwd")
	err := r.Children(func(child xml.StartElement) error {
		var err error
		switch n := child.Name; {
		case n.Space == NSICEUDP && n.Local == "candidate":
			if err := limit(len(t.Candidates), MaxCandidates, ErrTooManyCandidates, "candidates in a transport"); err != nil {
				return err
			}
			var c Candidate
			if c, err = candidateOf(child); err != nil {
				return err
			}
			t.Candidates = append(t.Candidates, c)
			err = r.Skip()
		case n.Space == NSDTLS && n.Local == "fingerprint" && t.Fingerprint == nil:
			t.Fingerprint, err = decodeFingerprint(r, child)
		case n.Space == NSICEOption:
			if err := limit(len(t.ICEOptions), MaxItems, ErrTooManyItems, "ICE options"); err != nil {
				return err
			}
			t.ICEOptions = append(t.ICEOptions, n.Local)
			err = r.Skip()
		default:
			if err := limit(len(t.Extra), MaxItems, ErrTooManyItems, "unknown children of <transport>"); err != nil {
				return err
			}
			var x jmi.RawElement
			x, err = raw(r, child)
			t.Extra = append(t.Extra, x)
		}
		return err
	})
	return t, err
}

// candidateAttrs are the attributes of XEP-0176 §5.1 that Candidate has a
// field for.
var candidateAttrs = map[string]bool{
	"component": true, "foundation": true, "generation": true, "id": true, "ip": true, "network": true,
	"port": true, "priority": true, "protocol": true, "rel-addr": true, "rel-port": true, "type": true,
}

func candidateOf(start xml.StartElement) (Candidate, error) {
	var c Candidate
	const what = "candidate"
	component, err := reqNumber(start, "component", 8, ErrBadCandidate, what)
	if err != nil {
		return c, err
	}
	generation, err := optNumber(start, "generation", 8, ErrBadCandidate, what)
	if err != nil {
		return c, err
	}
	network, err := optNumber(start, "network", 8, ErrBadCandidate, what)
	if err != nil {
		return c, err
	}
	priority, err := reqNumber(start, "priority", 32, ErrBadCandidate, what)
	if err != nil {
		return c, err
	}
	if c.Port, err = port(start, "port", true); err != nil {
		return c, err
	}
	if c.RelPort, err = port(start, "rel-port", false); err != nil {
		return c, err
	}
	c.Component, c.Generation, c.Network, c.Priority = uint8(component), uint8(generation), uint8(network), uint32(priority)
	c.Foundation, _ = attr(start, "foundation")
	c.ID, _ = attr(start, "id")
	c.IP, _ = attr(start, "ip")
	c.Protocol, _ = attr(start, "protocol")
	c.Type, _ = attr(start, "type")
	c.RelAddr, _ = attr(start, "rel-addr")
	for _, a := range start.Attr {
		// Attributes in another namespace are dropped: nothing uses them,
		// and their prefixes would not survive a round trip.
		if a.Name.Space == "" && !xmlread.IsXMLNS(a) && !candidateAttrs[a.Name.Local] {
			if err := limit(len(c.Attrs), MaxItems, ErrTooManyItems, "unknown attributes of a candidate"); err != nil {
				return c, err
			}
			c.Attrs = append(c.Attrs, a)
		}
	}
	return c, nil
}

func decodeFingerprint(r *reader, start xml.StartElement) (*Fingerprint, error) {
	f := &Fingerprint{}
	f.Hash, _ = attr(start, "hash")
	if s, ok := attr(start, "setup"); ok {
		var known bool
		if f.Setup, known = parseSetup(s); !known {
			return nil, fmt.Errorf("%w: setup=%q", ErrBadSetup, truncate(s))
		}
	}
	value, err := r.Text()
	f.Value = strings.TrimSpace(value)
	return f, err
}

func parseSetup(s string) (Setup, bool) {
	for i, name := range setupNames {
		if i != int(SetupNone) && name == s {
			return Setup(i), true
		}
	}
	return SetupNone, false
}
