package jmi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jmi-xmpp/jmi/internal/xmlread"
	"mellium.im/xmpp/jid"
)

// kinds maps the local names of JMI elements to their kinds: the dispatch
// table of the decoder.
var kinds = map[string]Kind{
	"propose": KindPropose,
	"ringing": KindRinging,
	"retract": KindRetract,
	"proceed": KindProceed,
	"reject":  KindReject,
	"finish":  KindFinish,
	"accept":  KindAccept,
}

// IsNamespace reports whether space is a namespace jmi reads JMI elements in:
// NS, or NSLegacy of versions 0.4 and 0.5.
func IsNamespace(space string) bool { return space == NS || space == NSLegacy }

// Decode reads the JMI element whose start element is start from d, through
// its end element. d must resolve namespaces (an *xml.Decoder, or a mellium
// token stream), so that prefixed namespaces read the same as default ones.
//
// Decoding is lenient where deployed clients need it: both NS and NSLegacy,
// an absent <reason/>, <tie-break/> in a retract, <migrated/> in the Jingle
// namespace (Monal), ids that are not UUIDs, and unknown children, which are
// kept in Extra. It refuses what no client sends: an id that is missing,
// empty or longer than MaxIDLength, a propose without a description or with
// more than MaxDescriptions, and input beyond MaxDepth or MaxTokens.
func Decode(d xml.TokenReader, start xml.StartElement) (Element, error) {
	r := xmlread.New(d, &readConfig, 1)
	return decodeElement(r, start)
}

// DecodeMessage reads a <message/> whose start element is start from d and
// returns the JMI element it carries with the message's envelope. A message
// without a JMI element gives ErrNoElement; other children are skipped.
func DecodeMessage(d xml.TokenReader, start xml.StartElement) (Message, error) {
	r := xmlread.New(d, &readConfig, 1)
	return decodeMessage(r, start)
}

// Parse reads one <message/> stanza, or a bare JMI element, from b. For a
// bare element only Namespace and Element of the Message are set.
func Parse(b []byte) (Message, error) {
	if len(b) > MaxStanzaSize {
		return Message{}, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(b), MaxStanzaSize)
	}
	r := xmlread.New(xml.NewDecoder(bytes.NewReader(b)), &readConfig, 0)
	var m Message
	for {
		tok, err := r.Next()
		if errors.Is(err, xmlread.ErrEOF) {
			return Message{}, fmt.Errorf("%w: the input holds no element", ErrNoElement)
		}
		if err != nil {
			return Message{}, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case start.Name.Local == "message":
			m, err = decodeMessage(r, start)
		case IsNamespace(start.Name.Space):
			m.Namespace = start.Name.Space
			m.Element, err = decodeElement(r, start)
		default:
			return Message{}, fmt.Errorf("%w: the root element is <%s xmlns='%s'>, neither a message nor a JMI element", ErrNoElement, start.Name.Local, start.Name.Space)
		}
		if err != nil {
			return Message{}, err
		}
		break
	}
	// Nothing but white space, comments and processing instructions may
	// follow the root element.
	for {
		tok, err := r.Next()
		if errors.Is(err, xmlread.ErrEOF) {
			return m, nil
		}
		if err != nil {
			return Message{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return Message{}, fmt.Errorf("%w: element <%s> after the end of the stanza", ErrMalformed, t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return Message{}, fmt.Errorf("%w: text after the end of the stanza", ErrMalformed)
			}
		}
	}
}

// ReadMessage reads r to its end and parses it as Parse does. It reads at
// most MaxStanzaSize+1 bytes.
func ReadMessage(r io.Reader) (Message, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxStanzaSize+1))
	if err != nil {
		return Message{}, fmt.Errorf("jmi: reading: %w", err)
	}
	return Parse(b)
}

// readConfig holds the package's limits and errors for the shared reader.
// The text limit and the kept comments are as the decoder has always read
// them.
var readConfig = xmlread.Config{
	MaxTokens:    MaxTokens,
	MaxDepth:     MaxDepth,
	MaxText:      MaxStanzaSize,
	KeepComments: true,
	Malformed:    ErrMalformed,
	TooLarge:     ErrTooLarge,
	DTD:          ErrDTD,
}

// reader is the shared bounded reader with the package's limits.
type reader = xmlread.Reader

func decodeMessage(r *reader, start xml.StartElement) (Message, error) {
	m := Message{Type: "normal"}
	if start.Name.Local != "message" {
		return m, fmt.Errorf("%w: <%s> is not a message", ErrNoElement, start.Name.Local)
	}
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		var err error
		switch a.Name.Local {
		case "id":
			m.ID = a.Value
		case "type":
			m.Type = a.Value
		case "from":
			m.From, err = parseJID("from", a.Value)
		case "to":
			m.To, err = parseJID("to", a.Value)
		}
		if err != nil {
			return Message{}, err
		}
	}
	for {
		tok, err := r.Inside()
		if err != nil {
			return Message{}, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if m.Element == nil {
				return Message{}, fmt.Errorf("%w: the message carries none", ErrNoElement)
			}
			return m, nil
		case xml.StartElement:
			switch {
			case IsNamespace(t.Name.Space):
				if m.Element != nil {
					return Message{}, fmt.Errorf("%w: <%s> after <%s>", ErrMultipleElements, t.Name.Local, m.Element.Kind())
				}
				m.Namespace = t.Name.Space
				// MaxDepth counts from the JMI element, not the message.
				outer := r.Depth()
				r.SetDepth(1)
				if m.Element, err = decodeElement(r, t); err != nil {
					return Message{}, err
				}
				r.SetDepth(outer - 1)
			case t.Name.Space == NSHints && t.Name.Local == "store":
				m.Store = true
				err = r.Skip()
			default:
				err = r.Skip()
			}
			if err != nil {
				return Message{}, err
			}
		}
	}
}

func parseJID(attr, s string) (jid.JID, error) {
	if s == "" {
		// An empty address is an absent one (RFC 6120 §8.1.1, §8.1.2).
		return jid.JID{}, nil
	}
	j, err := jid.Parse(s)
	if err != nil {
		return jid.JID{}, fmt.Errorf("%w: %s=%q: %v", ErrBadAddress, attr, s, err)
	}
	if strings.HasSuffix(j.Domainpart(), ".") {
		// "capulet.example..": RFC 7622 §3.2 strips one final dot and
		// leaves an empty label, which the next parse would strip again.
		return jid.JID{}, fmt.Errorf("%w: %s=%q: empty label in the domain", ErrBadAddress, attr, s)
	}
	return j, nil
}

func decodeElement(r *reader, start xml.StartElement) (Element, error) {
	kind, ok := kinds[start.Name.Local]
	if !ok || !IsNamespace(start.Name.Space) {
		return nil, fmt.Errorf("%w: <%s xmlns='%s'>", ErrUnknownElement, start.Name.Local, start.Name.Space)
	}
	var id string
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "id" {
			id = a.Value
		}
	}
	if id == "" {
		return nil, fmt.Errorf("%w in <%s>", ErrMissingID, kind)
	}
	if len(id) > MaxIDLength {
		return nil, fmt.Errorf("%w in <%s>: %d bytes, the limit is %d", ErrIDTooLong, kind, len(id), MaxIDLength)
	}
	var (
		descs    []Description
		extra    []RawElement
		reason   *Reason
		tieBreak bool
		migrated string
	)
	err := r.Children(func(child xml.StartElement) error {
		switch {
		case kind == KindPropose && child.Name.Local == "description" && child.Name.Space != "" && !IsNamespace(child.Name.Space):
			if len(descs) == MaxDescriptions {
				return fmt.Errorf("%w: more than %d in <propose>", ErrTooManyDescriptions, MaxDescriptions)
			}
			raw, err := readRaw(r, child)
			if err != nil {
				return err
			}
			d := descriptionOf(raw)
			if d.Media != "" && !isToken(d.Media) {
				return fmt.Errorf("%w: media=%q", ErrBadMedia, d.Media)
			}
			descs = append(descs, d)
			return nil
		case child.Name.Space == NSJingle && child.Name.Local == "reason" && reason == nil && hasReason(kind):
			var err error
			reason, err = readReason(r)
			return err
		case IsNamespace(child.Name.Space) && child.Name.Local == "tie-break" && (kind == KindReject || kind == KindRetract):
			tieBreak = true
			return r.Skip()
		case (IsNamespace(child.Name.Space) || child.Name.Space == NSJingle) && child.Name.Local == "migrated" &&
			kind == KindFinish && migrated == "" && attrValue(child, "to") != "":
			// Monal writes <migrated/> in the Jingle namespace.
			migrated = attrValue(child, "to")
			return r.Skip()
		default:
			raw, err := readRaw(r, child)
			extra = append(extra, raw)
			return err
		}
	})
	if err != nil {
		return nil, err
	}
	return build(kind, id, descs, extra, reason, tieBreak, migrated)
}

func hasReason(k Kind) bool { return k == KindRetract || k == KindReject || k == KindFinish }

func build(kind Kind, id string, descs []Description, extra []RawElement, reason *Reason, tieBreak bool, migrated string) (Element, error) {
	switch kind {
	case KindPropose:
		if len(descs) == 0 {
			return nil, fmt.Errorf("%w: id %q", ErrNoDescription, id)
		}
		return &Propose{ID: id, Descriptions: descs, Extra: extra}, nil
	case KindRinging:
		return &Ringing{ID: id, Extra: extra}, nil
	case KindRetract:
		return &Retract{ID: id, Reason: reason, TieBreak: tieBreak, Extra: extra}, nil
	case KindProceed:
		return &Proceed{ID: id, Extra: extra}, nil
	case KindReject:
		return &Reject{ID: id, Reason: reason, TieBreak: tieBreak, Extra: extra}, nil
	case KindFinish:
		return &Finish{ID: id, Reason: reason, MigratedTo: migrated, Extra: extra}, nil
	default:
		return &Accept{ID: id, Extra: extra}, nil
	}
}

func attrValue(start xml.StartElement, local string) string {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func descriptionOf(raw RawElement) Description {
	d := Description{Namespace: raw.XMLName.Space, InnerXML: raw.InnerXML}
	for _, a := range raw.Attrs {
		if a.Name.Space == "" && a.Name.Local == "media" && d.Media == "" {
			d.Media = a.Value
			continue
		}
		d.Attrs = append(d.Attrs, a)
	}
	return d
}

// readRaw keeps an element whole: its name, attributes and inner XML (see
// xmlread.Reader.InnerXML).
func readRaw(r *reader, start xml.StartElement) (RawElement, error) {
	raw := RawElement{XMLName: start.Name, Attrs: xmlread.CleanAttrs(start.Attr)}
	var err error
	raw.InnerXML, err = r.InnerXML()
	return raw, err
}

// readReason reads the children of a <reason/> (XEP-0166 §7.4): the first
// element in the Jingle namespace other than <text/> is the condition, kept
// even when it is not one of the 17 defined ones.
func readReason(r *reader) (*Reason, error) {
	reason := &Reason{}
	haveCondition := false
	err := r.Children(func(child xml.StartElement) error {
		var err error
		switch {
		case child.Name.Space == NSJingle && child.Name.Local == "text":
			reason.Text, err = r.Text()
		case child.Name.Space == NSJingle && !haveCondition:
			haveCondition = true
			reason.Condition = Condition(child.Name.Local)
			reason.SID, err = readSID(r)
		default:
			var raw RawElement
			raw, err = readRaw(r, child)
			reason.Extra = append(reason.Extra, raw)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return reason, nil
}

// readSID reads the content of a condition element: the <sid/> of an
// alternative-session, nothing for the others.
func readSID(r *reader) (string, error) {
	var sid string
	err := r.Children(func(child xml.StartElement) error {
		if child.Name.Local != "sid" || sid != "" {
			return r.Skip()
		}
		text, err := r.Text()
		sid = strings.TrimSpace(text)
		return err
	})
	return sid, err
}

// isToken reports whether s is an SDP token (RFC 4566 §9, token-char) of at
// most MaxMediaLength bytes, the form of XEP-0167's media attribute.
func isToken(s string) bool {
	if len(s) > MaxMediaLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]`, c) >= 0 {
			return false
		}
	}
	return true
}
