package jingle

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/jmi-xmpp/jmi/internal/xmlread"
	"mellium.im/xmpp/jid"
)

// candidateTypes are the candidate types of XEP-0176 §5.1 (RFC 8445 §5.1.1).
var candidateTypes = map[string]bool{"host": true, "srflx": true, "prflx": true, "relay": true}

// iqTypes are the IQ types of RFC 6120 §8.2.3.
var iqTypes = map[string]bool{"get": true, "set": true, "result": true, "error": true}

// Validate reports the first reason j cannot go on the wire, with the errors
// the decoder returns for the same problem: an unknown or zero Action, an
// empty SID, an initiator or responder that is not a JID, too many contents,
// payload types or candidates, a content without a name, a candidate without
// foundation, ip, protocol or a known type, a fingerprint without hash or
// value, and so on. Decode returns only values that Validate accepts, and
// the encoders refuse values it does not.
func (j *Jingle) Validate() error {
	if j == nil {
		return fmt.Errorf("%w: a nil element", ErrNoJingle)
	}
	switch {
	case j.Action == ActionUnknown:
		return ErrMissingAction
	case int(j.Action) >= len(actionNames):
		return fmt.Errorf("%w: %d", ErrUnknownAction, j.Action)
	case j.SID == "":
		return fmt.Errorf("%w in %s", ErrMissingSID, j.Action)
	case len(j.SID) > MaxSIDLength:
		return fmt.Errorf("%w: sid of %d bytes, the limit is %d", ErrTooLong, len(j.SID), MaxSIDLength)
	case len(j.Contents) > MaxContents:
		return fmt.Errorf("%w: %d, the limit is %d", ErrTooManyContents, len(j.Contents), MaxContents)
	}
	if err := checkAddress("initiator", j.Initiator); err != nil {
		return err
	}
	if err := checkAddress("responder", j.Responder); err != nil {
		return err
	}
	for i := range j.Contents {
		if err := j.Contents[i].validate(); err != nil {
			return err
		}
	}
	if g := j.Group; g != nil {
		if g.Semantics == "" {
			return fmt.Errorf("%w: group without semantics", ErrBadElement)
		}
		if len(g.Contents) > MaxItems {
			return fmt.Errorf("%w: %d contents in the group, the limit is %d", ErrTooManyItems, len(g.Contents), MaxItems)
		}
		for _, name := range g.Contents {
			if name == "" {
				return fmt.Errorf("%w: group member without a name", ErrBadElement)
			}
		}
	}
	if r := j.Reason; r != nil {
		if r.Condition != "" && !xmlread.IsNCName(string(r.Condition)) {
			return fmt.Errorf("%w: reason condition %q is not an element name", ErrBadElement, truncate(string(r.Condition)))
		}
		if len(r.Extra) > MaxItems {
			return fmt.Errorf("%w: %d children of the reason", ErrTooManyItems, len(r.Extra))
		}
	}
	if len(j.Extra) > MaxItems {
		return fmt.Errorf("%w: %d unknown children of <jingle>", ErrTooManyItems, len(j.Extra))
	}
	return nil
}

// Validate reports the first reason iq cannot go on the wire: a type that is
// not get, set, result or error, an empty or too long id, an address that is
// not a JID, a set (or get) without a Jingle element, or what Jingle.Validate
// finds.
func (iq IQ) Validate() error {
	switch {
	case !iqTypes[iq.Type]:
		return fmt.Errorf("%w: type %q", ErrBadIQ, truncate(iq.Type))
	case iq.ID == "":
		return fmt.Errorf("%w: no id", ErrBadIQ)
	case len(iq.ID) > MaxSIDLength:
		return fmt.Errorf("%w: id of %d bytes, the limit is %d", ErrTooLong, len(iq.ID), MaxSIDLength)
	case (iq.Type == "set" || iq.Type == "get") && iq.Jingle == nil:
		return fmt.Errorf("%w: an iq %s without one", ErrNoJingle, iq.Type)
	}
	if err := checkAddress("from", iq.From); err != nil {
		return err
	}
	if err := checkAddress("to", iq.To); err != nil {
		return err
	}
	if e := iq.Error; e != nil {
		for _, name := range []string{e.Condition, e.JingleCondition} {
			if name != "" && !xmlread.IsNCName(name) {
				return fmt.Errorf("%w: error condition %q is not an element name", ErrBadElement, truncate(name))
			}
		}
	}
	if iq.Jingle != nil {
		return iq.Jingle.Validate()
	}
	return nil
}

// checkAddress refuses an address mellium cannot parse; "" is absent.
func checkAddress(attr, s string) error {
	if s == "" {
		return nil
	}
	if _, err := jid.Parse(s); err != nil {
		return fmt.Errorf("%w: %s=%q: %v", ErrBadAddress, attr, truncate(s), err)
	}
	return nil
}

func (c *Content) validate() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: a content without a name", ErrBadContent)
	case len(c.Name) > MaxSIDLength:
		return fmt.Errorf("%w: content name of %d bytes, the limit is %d", ErrTooLong, len(c.Name), MaxSIDLength)
	case c.Creator > CreatorResponder:
		return fmt.Errorf("%w: creator %d in content %q", ErrBadContent, c.Creator, c.Name)
	case c.Senders > SendersNone:
		return fmt.Errorf("%w: senders %d in content %q", ErrBadContent, c.Senders, c.Name)
	case len(c.Extra) > MaxItems:
		return fmt.Errorf("%w: %d unknown children of content %q", ErrTooManyItems, len(c.Extra), c.Name)
	}
	if d := c.Description; d != nil {
		if err := d.validate(c.Name); err != nil {
			return err
		}
	}
	if t := c.Transport; t != nil {
		if err := t.validate(c.Name); err != nil {
			return err
		}
	}
	return nil
}

func (d *Description) validate(content string) error {
	if len(d.Payloads) > MaxPayloadTypes {
		return fmt.Errorf("%w: %d in content %q, the limit is %d", ErrTooManyPayloadTypes, len(d.Payloads), content, MaxPayloadTypes)
	}
	for _, n := range []int{len(d.Feedback), len(d.HeaderExtensions), len(d.Sources), len(d.SourceGroups), len(d.Extra)} {
		if n > MaxItems {
			return fmt.Errorf("%w: %d children of one kind in the description of content %q", ErrTooManyItems, n, content)
		}
	}
	for _, p := range d.Payloads {
		if p.ID > 127 {
			return fmt.Errorf("%w: id %d is outside 0–127", ErrBadPayloadType, p.ID)
		}
		if len(p.Parameters) > MaxItems || len(p.Feedback) > MaxItems || len(p.Extra) > MaxItems {
			return fmt.Errorf("%w: in payload type %d", ErrTooManyItems, p.ID)
		}
		if err := checkParameters(p.Parameters, "payload type"); err != nil {
			return err
		}
		if err := checkFeedback(p.Feedback); err != nil {
			return err
		}
	}
	if err := checkFeedback(d.Feedback); err != nil {
		return err
	}
	for _, h := range d.HeaderExtensions {
		switch {
		case h.ID == 0:
			return fmt.Errorf("%w: rtp-hdrext id 0", ErrBadElement)
		case h.URI == "":
			return fmt.Errorf("%w: rtp-hdrext %d without uri", ErrBadElement, h.ID)
		case h.Senders > SendersNone:
			return fmt.Errorf("%w: rtp-hdrext %d senders %d", ErrBadElement, h.ID, h.Senders)
		case len(h.Extra) > MaxItems:
			return fmt.Errorf("%w: children of rtp-hdrext %d", ErrTooManyItems, h.ID)
		}
	}
	for _, s := range d.Sources {
		if len(s.Parameters) > MaxItems {
			return fmt.Errorf("%w: parameters of source %d", ErrTooManyItems, s.SSRC)
		}
		if err := checkParameters(s.Parameters, "source"); err != nil {
			return err
		}
	}
	for _, g := range d.SourceGroups {
		if g.Semantics == "" {
			return fmt.Errorf("%w: ssrc-group without semantics", ErrBadElement)
		}
		if len(g.SSRCs) > MaxItems {
			return fmt.Errorf("%w: sources of an ssrc-group", ErrTooManyItems)
		}
	}
	return nil
}

func checkParameters(ps []Parameter, of string) error {
	for _, p := range ps {
		if p.Name == "" {
			return fmt.Errorf("%w: %s parameter without a name", ErrBadElement, of)
		}
	}
	return nil
}

func checkFeedback(fbs []RTCPFeedback) error {
	for _, fb := range fbs {
		if fb.Type == "" {
			return fmt.Errorf("%w: rtcp-fb without type", ErrBadElement)
		}
		if len(fb.Extra) > MaxItems {
			return fmt.Errorf("%w: children of rtcp-fb", ErrTooManyItems)
		}
	}
	return nil
}

func (t *Transport) validate(content string) error {
	if len(t.Candidates) > MaxCandidates {
		return fmt.Errorf("%w: %d in content %q, the limit is %d", ErrTooManyCandidates, len(t.Candidates), content, MaxCandidates)
	}
	if len(t.ICEOptions) > MaxItems || len(t.Extra) > MaxItems {
		return fmt.Errorf("%w: in the transport of content %q", ErrTooManyItems, content)
	}
	for _, opt := range t.ICEOptions {
		if !xmlread.IsNCName(opt) {
			return fmt.Errorf("%w: ICE option %q is not an element name", ErrBadElement, truncate(opt))
		}
	}
	for i, c := range t.Candidates {
		if err := c.validate(); err != nil {
			return fmt.Errorf("%w (candidate %d of content %q)", err, i+1, content)
		}
	}
	if f := t.Fingerprint; f != nil {
		switch {
		case f.Hash == "":
			return fmt.Errorf("%w: no hash (content %q)", ErrBadFingerprint, content)
		case strings.TrimSpace(f.Value) == "": // the decoder trims it
			return fmt.Errorf("%w: no value (content %q)", ErrBadFingerprint, content)
		case int(f.Setup) >= len(setupNames):
			return fmt.Errorf("%w: %d (content %q)", ErrBadSetup, f.Setup, content)
		}
	}
	return nil
}

func (c Candidate) validate() error {
	switch {
	case c.Component == 0:
		return fmt.Errorf("%w: component 0", ErrBadCandidate)
	case c.Foundation == "":
		return fmt.Errorf("%w: no foundation", ErrBadCandidate)
	case c.IP == "":
		return fmt.Errorf("%w: no ip", ErrBadCandidate)
	case c.Protocol == "":
		return fmt.Errorf("%w: no protocol", ErrBadCandidate)
	case !candidateTypes[c.Type]:
		return fmt.Errorf("%w: type %q", ErrBadCandidate, truncate(c.Type))
	case len(c.Attrs) > MaxItems:
		return fmt.Errorf("%w: unknown attributes of a candidate", ErrTooManyItems)
	}
	for _, a := range c.Attrs {
		if a.Name.Space != "" || !xmlread.IsNCName(a.Name.Local) || candidateAttrs[a.Name.Local] || xmlread.IsXMLNS(a) {
			return fmt.Errorf("%w: attribute %q cannot be kept", ErrBadCandidate, truncate(xmlName(a.Name)))
		}
	}
	return nil
}

func xmlName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + " " + n.Local
}
