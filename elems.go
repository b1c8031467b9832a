package jmi

import (
	"encoding/xml"

	"mellium.im/xmpp/jid"
)

// Namespaces that jmi reads or writes.
const (
	// NS is the namespace of Jingle Message Initiation since version 0.6.0,
	// the only one jmi writes.
	NS = `urn:xmpp:jingle-message:0`
	// NSLegacy is the namespace of versions 0.4 and 0.5 of XEP-0353. jmi reads
	// it (Message.Namespace says so) and never writes it.
	NSLegacy = `urn:xmpp:jingle-message:1`
	// NSJingle is the namespace of XEP-0166 Jingle, home of <reason/>.
	NSJingle = `urn:xmpp:jingle:1`
	// NSRTP is the namespace of the XEP-0167 RTP description.
	NSRTP = `urn:xmpp:jingle:apps:rtp:1`
	// NSHints is the namespace of the XEP-0334 <store/> hint.
	NSHints = `urn:xmpp:hints`
)

// Kind names the JMI element a signal carries.
type Kind uint8

// The kinds of JMI element. The zero Kind is KindUnknown and is never the kind
// of a decoded element.
const (
	KindUnknown Kind = iota
	KindPropose
	KindRinging
	KindRetract
	KindProceed
	KindReject
	KindFinish
	KindAccept // legacy: sent by older clients to their own account on answer
)

var kindNames = [...]string{
	KindUnknown: "unknown",
	KindPropose: "propose",
	KindRinging: "ringing",
	KindRetract: "retract",
	KindProceed: "proceed",
	KindReject:  "reject",
	KindFinish:  "finish",
	KindAccept:  "accept",
}

// String returns the element's local name ("propose", "ringing", …).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Element is one JMI element: *Propose, *Ringing, *Retract, *Proceed, *Reject,
// *Finish or *Accept. The set is closed.
type Element interface {
	// Kind reports which element this is.
	Kind() Kind
	// SessionID returns the element's id attribute, the JMI session id that is
	// also the Jingle sid.
	SessionID() string
	isElement()
}

// RawElement is an XML element jmi does not interpret, kept whole so that it
// can be written back unchanged: its name with namespace, its attributes (xmlns
// declarations removed) and its inner XML as read.
type RawElement struct {
	XMLName  xml.Name
	Attrs    []xml.Attr
	InnerXML string
}

// Description is one media description of a propose, normally an XEP-0167
// <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>. It is kept
// whole so that it can be handed unchanged to a Jingle session.
type Description struct {
	// Namespace is the description's namespace (NSRTP for RTP sessions).
	Namespace string
	// Media is the value of the media attribute ("audio", "video"), if any.
	Media string
	// Attrs are the other attributes in document order, xmlns declarations
	// removed.
	Attrs []xml.Attr
	// InnerXML is the description's content as read (payload types, …).
	InnerXML string
}

// Condition is the condition of a XEP-0166 <reason/>: the local name of its
// condition element. A condition that is not one of the 17 defined ones is
// kept as it was read; Known reports which it is.
type Condition string

// The conditions of XEP-0166 §7.4.
const (
	AlternativeSession      Condition = "alternative-session"
	Busy                    Condition = "busy"
	Cancel                  Condition = "cancel"
	ConnectivityError       Condition = "connectivity-error"
	Decline                 Condition = "decline"
	Expired                 Condition = "expired"
	FailedApplication       Condition = "failed-application"
	FailedTransport         Condition = "failed-transport"
	GeneralError            Condition = "general-error"
	Gone                    Condition = "gone"
	IncompatibleParameters  Condition = "incompatible-parameters"
	MediaError              Condition = "media-error"
	SecurityError           Condition = "security-error"
	Success                 Condition = "success"
	Timeout                 Condition = "timeout"
	UnsupportedApplications Condition = "unsupported-applications"
	UnsupportedTransports   Condition = "unsupported-transports"
)

// Reason is a XEP-0166 <reason/> in the namespace NSJingle.
type Reason struct {
	// Condition is the machine-readable condition; it may be empty when a
	// peer sent a <reason/> without one.
	Condition Condition
	// SID is the session id of an alternative-session condition.
	SID string
	// Text is the optional human-readable <text/>.
	Text string
	// Extra holds further children (an element of another namespace with
	// detail), kept whole.
	Extra []RawElement
}

// Propose is <propose/>: the initiator's intent to start a session.
type Propose struct {
	ID           string
	Descriptions []Description
	// Extra holds children other than descriptions, kept whole.
	Extra []RawElement
}

// Ringing is <ringing/>: a device of the responder rings.
type Ringing struct {
	ID    string
	Extra []RawElement
}

// Retract is <retract/>: the initiator withdraws the proposal.
type Retract struct {
	ID     string
	Reason *Reason
	// TieBreak is set when the retract resolves a crossed call (XEP-0353
	// §4.1). The schema does not allow it here but the text asks for it, so
	// jmi reads and writes it.
	TieBreak bool
	Extra    []RawElement
}

// Proceed is <proceed/>: a device of the responder accepts the call.
// Conversations and Monal put an OMEMO <device/> in it; it lands in Extra.
type Proceed struct {
	ID    string
	Extra []RawElement
}

// Reject is <reject/>: the responder declines the call.
type Reject struct {
	ID       string
	Reason   *Reason
	TieBreak bool
	Extra    []RawElement
}

// Finish is <finish/>: one party ends an answered session.
type Finish struct {
	ID     string
	Reason *Reason
	// MigratedTo is the id of the session that replaces this one (the
	// <migrated to='…'/> child, XEP-0353 §4.2), or empty.
	MigratedTo string
	Extra      []RawElement
}

// Accept is the legacy <accept/> of versions before 0.6.0 (and of 0.4/0.5 in
// NSLegacy). Dino and Tigase send it to their own account when they answer, so
// that their other devices stop ringing; jmi reads it as "answered elsewhere"
// and can send it for the same purpose.
type Accept struct {
	ID    string
	Extra []RawElement
}

// Message is a JMI element together with the <message/> that carried it.
type Message struct {
	// ID is the message's id attribute, if any.
	ID string
	// From and To are the message's addresses; zero when absent.
	From, To jid.JID
	// Type is the message type; "normal" when the attribute is absent.
	Type string
	// Store reports whether the message carried a XEP-0334 <store/> hint.
	Store bool
	// Namespace is the namespace the JMI element was read in: NS or NSLegacy.
	Namespace string
	// Element is the JMI element.
	Element Element
}

func (*Propose) isElement() {}
func (*Ringing) isElement() {}
func (*Retract) isElement() {}
func (*Proceed) isElement() {}
func (*Reject) isElement()  {}
func (*Finish) isElement()  {}
func (*Accept) isElement()  {}

// Kind implements Element.
func (*Propose) Kind() Kind { return KindPropose }

// Kind implements Element.
func (*Ringing) Kind() Kind { return KindRinging }

// Kind implements Element.
func (*Retract) Kind() Kind { return KindRetract }

// Kind implements Element.
func (*Proceed) Kind() Kind { return KindProceed }

// Kind implements Element.
func (*Reject) Kind() Kind { return KindReject }

// Kind implements Element.
func (*Finish) Kind() Kind { return KindFinish }

// Kind implements Element.
func (*Accept) Kind() Kind { return KindAccept }

// SessionID implements Element.
func (e *Propose) SessionID() string { return e.ID }

// SessionID implements Element.
func (e *Ringing) SessionID() string { return e.ID }

// SessionID implements Element.
func (e *Retract) SessionID() string { return e.ID }

// SessionID implements Element.
func (e *Proceed) SessionID() string { return e.ID }

// SessionID implements Element.
func (e *Reject) SessionID() string { return e.ID }

// SessionID implements Element.
func (e *Finish) SessionID() string { return e.ID }

// SessionID implements Element.
func (e *Accept) SessionID() string { return e.ID }
