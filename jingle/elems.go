package jingle

import (
	"encoding/xml"

	"github.com/jmi-xmpp/jmi"
)

// Namespaces that the package reads or writes.
const (
	// NS is the namespace of XEP-0166 Jingle: <jingle/>, <content/>,
	// <reason/>.
	NS = jmi.NSJingle
	// NSRTP is the namespace of the XEP-0167 RTP description.
	NSRTP = jmi.NSRTP
	// NSRTPAudio is the disco#info feature of XEP-0167 audio sessions.
	NSRTPAudio = `urn:xmpp:jingle:apps:rtp:audio`
	// NSRTPVideo is the disco#info feature of XEP-0167 video sessions.
	NSRTPVideo = `urn:xmpp:jingle:apps:rtp:video`
	// NSICEUDP is the namespace of the XEP-0176 ICE-UDP transport.
	NSICEUDP = `urn:xmpp:jingle:transports:ice-udp:1`
	// NSDTLS is the namespace of the XEP-0320 DTLS-SRTP fingerprint.
	NSDTLS = `urn:xmpp:jingle:apps:dtls:0`
	// NSGrouping is the namespace of the XEP-0338 <group/> (BUNDLE).
	NSGrouping = `urn:xmpp:jingle:apps:grouping:0`
	// NSSSMA is the namespace of the XEP-0339 <source/> and <ssrc-group/>.
	NSSSMA = `urn:xmpp:jingle:apps:rtp:ssma:0`
	// NSRTCPFB is the namespace of the XEP-0293 <rtcp-fb/>.
	NSRTCPFB = `urn:xmpp:jingle:apps:rtp:rtcp-fb:0`
	// NSRTPHdrExt is the namespace of the XEP-0294 <rtp-hdrext/>.
	NSRTPHdrExt = `urn:xmpp:jingle:apps:rtp:rtp-hdrext:0`
	// NSICEOption is the namespace in which Conversations writes its ICE
	// options (<trickle/>, <renomination/>) inside the transport. It is no
	// XEP's; the package reads options only in it and writes them in it.
	NSICEOption = `http://gultsch.de/xmpp/drafts/jingle/transports/ice-udp/option`
	// NSErrors is the namespace of the XEP-0166 §10 error conditions
	// (<unknown-session/>, <out-of-order/>, <tie-break/>,
	// <unsupported-info/>) that go beside a stanza error.
	NSErrors = `urn:xmpp:jingle:errors:1`
	// NSStanzas is the namespace of the RFC 6120 stanza error conditions.
	NSStanzas = `urn:ietf:params:xml:ns:xmpp-stanzas`
)

// Action is the action attribute of <jingle/> (XEP-0166 §7.2). The zero
// Action is ActionUnknown and is never the action of a decoded element.
type Action uint8

// The actions of XEP-0166 §7.2.
const (
	ActionUnknown Action = iota
	ActionContentAccept
	ActionContentAdd
	ActionContentModify
	ActionContentReject
	ActionContentRemove
	ActionDescriptionInfo
	ActionSecurityInfo
	ActionSessionAccept
	ActionSessionInfo
	ActionSessionInitiate
	ActionSessionTerminate
	ActionTransportAccept
	ActionTransportInfo
	ActionTransportReject
	ActionTransportReplace
)

var actionNames = [...]string{
	ActionUnknown:          "unknown",
	ActionContentAccept:    "content-accept",
	ActionContentAdd:       "content-add",
	ActionContentModify:    "content-modify",
	ActionContentReject:    "content-reject",
	ActionContentRemove:    "content-remove",
	ActionDescriptionInfo:  "description-info",
	ActionSecurityInfo:     "security-info",
	ActionSessionAccept:    "session-accept",
	ActionSessionInfo:      "session-info",
	ActionSessionInitiate:  "session-initiate",
	ActionSessionTerminate: "session-terminate",
	ActionTransportAccept:  "transport-accept",
	ActionTransportInfo:    "transport-info",
	ActionTransportReject:  "transport-reject",
	ActionTransportReplace: "transport-replace",
}

// String returns the action's name on the wire ("session-initiate", …).
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// ParseAction returns the Action named s, or ActionUnknown and false.
func ParseAction(s string) (Action, bool) {
	for a, name := range actionNames {
		if a != int(ActionUnknown) && name == s {
			return Action(a), true
		}
	}
	return ActionUnknown, false
}

// Creator is the creator attribute of a <content/>. The zero Creator is
// CreatorInitiator, which is also what an absent attribute reads as.
type Creator uint8

// The creators of XEP-0166 §7.3.
const (
	CreatorInitiator Creator = iota
	CreatorResponder
)

// String returns the creator's name on the wire.
func (c Creator) String() string {
	if c == CreatorResponder {
		return "responder"
	}
	return "initiator"
}

// Senders is the senders attribute of a <content/> or an <rtp-hdrext/>: who
// sends media. The zero Senders is SendersBoth, the meaning of an absent
// attribute (XEP-0166 §7.3; Conversations leaves it out).
type Senders uint8

// The senders of XEP-0166 §7.3.
const (
	SendersBoth Senders = iota
	SendersInitiator
	SendersResponder
	SendersNone
)

var sendersNames = [...]string{
	SendersBoth:      "both",
	SendersInitiator: "initiator",
	SendersResponder: "responder",
	SendersNone:      "none",
}

// String returns the senders' name on the wire.
func (s Senders) String() string {
	if int(s) < len(sendersNames) {
		return sendersNames[s]
	}
	return "both"
}

// Setup is the setup attribute of a XEP-0320 <fingerprint/>: the DTLS role
// (RFC 4145 §4). The zero Setup is SetupNone: the attribute was absent, which
// XEP-0320 does not allow but which is kept as read; an offer without it is
// best treated as actpass.
type Setup uint8

// The setup values of RFC 4145 §4.
const (
	SetupNone Setup = iota
	SetupActpass
	SetupActive
	SetupPassive
	SetupHoldconn
)

var setupNames = [...]string{
	SetupNone:     "",
	SetupActpass:  "actpass",
	SetupActive:   "active",
	SetupPassive:  "passive",
	SetupHoldconn: "holdconn",
}

// String returns the setup value on the wire, "" for SetupNone.
func (s Setup) String() string {
	if int(s) < len(setupNames) {
		return setupNames[s]
	}
	return ""
}

// IQ is the <iq/> stanza that carries a <jingle/> element, or the result or
// error that answers one. The addresses are kept as they were read, so that
// an address is never silently replaced by an empty one; FromJID and ToJID
// parse them, and Parse and DecodeIQ refuse an IQ whose addresses do not
// parse.
type IQ struct {
	// ID is the IQ's id attribute, which the answer repeats.
	ID string
	// Type is "set" for every Jingle action, "result" for the ack,
	// "error" for a refusal ("get" is never used by Jingle).
	Type string
	// From and To are the addresses as written, "" when absent.
	From, To string
	// Jingle is the payload of a set; nil in a result or error.
	Jingle *Jingle
	// Error is the <error/> of an IQ of type error, nil otherwise.
	Error *StanzaError
}

// StanzaError is the <error/> of an IQ of type error (RFC 6120 §8.3), with
// the Jingle-specific condition of XEP-0166 §10 when there is one.
type StanzaError struct {
	// Type is the error type: "cancel", "continue", "modify", "auth" or
	// "wait".
	Type string
	// Condition is the local name of the RFC 6120 condition
	// ("item-not-found", "bad-request", …).
	Condition string
	// JingleCondition is the local name of the element in NSErrors
	// ("unknown-session", "out-of-order", "tie-break",
	// "unsupported-info"), or "".
	JingleCondition string
	// Text is the optional human-readable <text/>.
	Text string
}

// Jingle is the <jingle/> element (XEP-0166 §7.1).
type Jingle struct {
	// Action is what the element does; never ActionUnknown once decoded.
	Action Action
	// SID is the session id: for a session started by JMI, the propose id
	// (XEP-0353 §3.6).
	SID string
	// Initiator and Responder are the attributes as written, "" when absent.
	// Dino writes initiator; Conversations and Monal never do, so a
	// receiver must not require it.
	Initiator, Responder string
	// Contents are the <content/> children in the order of the stanza.
	Contents []Content
	// Group is the XEP-0338 <group/> (BUNDLE), or nil.
	Group *Group
	// Reason is the XEP-0166 §7.4 <reason/>, or nil.
	Reason *jmi.Reason
	// Extra holds other children, kept whole: session-info payloads
	// (XEP-0167 <ringing/>, <mute/>, <active/>, <hold/>), a second <group/>,
	// unknown elements.
	Extra []jmi.RawElement
}

// Content is one <content/> of a Jingle element (XEP-0166 §7.3).
type Content struct {
	// Creator is which party created the content.
	Creator Creator
	// Name identifies the content in the session; in an RTP session it is
	// also the SDP mid ("0" for Conversations and Monal, "audio" for Dino).
	Name string
	// Senders is who sends media; SendersBoth when absent.
	Senders Senders
	// Disposition is the optional disposition attribute ("session" when
	// absent).
	Disposition string
	// Description is the XEP-0167 RTP description, or nil (transport-info
	// carries none).
	Description *Description
	// Transport is the XEP-0176 ICE-UDP transport, or nil.
	Transport *Transport
	// Extra holds other children, kept whole: a description or transport
	// of another namespace, a XEP-0320 fingerprint placed in the content
	// instead of the transport, unknown elements.
	Extra []jmi.RawElement
}

// Description is the XEP-0167 RTP <description/> of a content.
type Description struct {
	// Media is the media type: "audio" or "video".
	Media string
	// SSRC is the optional ssrc attribute (XEP-0167 §5); newer clients use
	// Sources instead.
	SSRC string
	// Payloads are the payload types in order of preference, as written.
	Payloads []PayloadType
	// RTCPMux reports an <rtcp-mux/> child (XEP-0167 §5.1.1).
	RTCPMux bool
	// Encryption is the SRTP-SDES <encryption/> (XEP-0167 §7; Dino sends
	// one with <crypto/>), kept whole, or nil.
	Encryption *jmi.RawElement
	// Feedback are the XEP-0293 <rtcp-fb/> of the description, which apply
	// to every payload type.
	Feedback []RTCPFeedback
	// HeaderExtensions are the XEP-0294 <rtp-hdrext/>.
	HeaderExtensions []HeaderExtension
	// ExtmapAllowMixed reports the XEP-0294 <extmap-allow-mixed/>.
	ExtmapAllowMixed bool
	// Sources are the XEP-0339 <source/> elements.
	Sources []Source
	// SourceGroups are the XEP-0339 <ssrc-group/> elements.
	SourceGroups []SourceGroup
	// Extra holds other children, kept whole (<bandwidth/>, unknown).
	Extra []jmi.RawElement
}

// PayloadType is a XEP-0167 <payload-type/>: one codec offered or chosen.
// Zero numbers are attributes that were absent and are not written.
type PayloadType struct {
	// ID is the RTP payload type number, 0–127.
	ID uint8
	// Name is the codec's name ("opus", "PCMU"); optional for the static
	// payload types 0–95.
	Name string
	// Clockrate is the sampling rate in Hz; 0 when absent.
	Clockrate uint32
	// Channels is the number of channels; 0 when absent, which means 1.
	Channels uint8
	// PTime and MaxPTime are the packet times in milliseconds; 0 when
	// absent.
	PTime, MaxPTime uint32
	// Parameters are the <parameter/> children (the SDP fmtp), in order.
	Parameters []Parameter
	// Feedback are the XEP-0293 <rtcp-fb/> of this payload type.
	Feedback []RTCPFeedback
	// Extra holds other children, kept whole (<rtcp-fb-trr-int/>, unknown).
	Extra []jmi.RawElement
}

// Parameter is a <parameter name='…' value='…'/> of a payload type or a
// source.
type Parameter struct {
	Name, Value string
}

// RTCPFeedback is a XEP-0293 <rtcp-fb type='…' subtype='…'/> (SDP
// a=rtcp-fb), kept whole: Extra holds its children.
type RTCPFeedback struct {
	// Type is the feedback type ("nack", "transport-cc", "goog-remb").
	Type string
	// Subtype is the optional subtype ("pli" of nack).
	Subtype string
	// Extra holds the element's children, kept whole.
	Extra []jmi.RawElement
}

// HeaderExtension is a XEP-0294 <rtp-hdrext id='…' uri='…'/> (SDP
// a=extmap), kept whole: Extra holds its children (its <parameter/>s).
type HeaderExtension struct {
	// ID is the extension's local identifier, 1–65535 (1–14 for the
	// one-byte header).
	ID uint16
	// URI names the extension.
	URI string
	// Senders is the direction; SendersBoth when absent.
	Senders Senders
	// Extra holds the element's children, kept whole.
	Extra []jmi.RawElement
}

// Source is a XEP-0339 <source ssrc='…'/> (SDP a=ssrc) with its parameters
// (cname, msid).
type Source struct {
	SSRC       uint32
	Parameters []Parameter
}

// SourceGroup is a XEP-0339 <ssrc-group semantics='…'/> (SDP a=ssrc-group):
// e.g. FID for a stream and its retransmissions.
type SourceGroup struct {
	Semantics string
	SSRCs     []uint32
}

// Transport is the XEP-0176 ICE-UDP <transport/> of a content, with the
// XEP-0320 DTLS fingerprint that rides in it.
type Transport struct {
	// Ufrag and Pwd are the ICE credentials; both empty in a transport-info
	// that only carries candidates. New values in a transport-info without
	// candidates are an ICE restart (Conversations restarts that way).
	Ufrag, Pwd string
	// Candidates are the ICE candidates in the order of the stanza, each
	// kept as read, whatever its component and protocol (Dino sends
	// component 2, Monal protocol tcp): dropping them is the receiver's
	// choice.
	Candidates []Candidate
	// Fingerprint is the XEP-0320 DTLS fingerprint, or nil (Dino may send
	// none: no DTLS). A second one is kept in Extra.
	Fingerprint *Fingerprint
	// ICEOptions are the local names of Conversations' ICE options in
	// NSICEOption ("trickle", "renomination"), in order.
	ICEOptions []string
	// Extra holds other children, kept whole (<remote-candidate/>,
	// unknown elements).
	Extra []jmi.RawElement
}

// Candidate is a XEP-0176 <candidate/>: one ICE candidate with every
// attribute of §5.1.
type Candidate struct {
	// Component is 1 for RTP, 2 for RTCP when not multiplexed.
	Component uint8
	// Foundation groups candidates of the same base and server.
	Foundation string
	// Generation is the ICE generation, 0 from the start and one more after
	// each restart.
	Generation uint8
	// ID is the candidate's unique identifier; "" when absent (XEP-0176
	// requires it, not every client writes it).
	ID string
	// IP is the address: IPv4, IPv6, or a host name (mDNS).
	IP string
	// Network is the network index; 0 when absent.
	Network uint8
	// Port is the candidate's port.
	Port uint16
	// Priority is the ICE priority (RFC 8445 §5.1.2).
	Priority uint32
	// Protocol is the transport protocol: "udp", or "tcp" (Monal).
	Protocol string
	// Type is the candidate type: "host", "srflx", "prflx" or "relay".
	Type string
	// RelAddr and RelPort are the related address and port of a
	// non-host candidate; empty and 0 when absent.
	RelAddr string
	RelPort uint16
	// Attrs are other attributes (tcptype, …), kept in document order.
	Attrs []xml.Attr
}

// Fingerprint is a XEP-0320 <fingerprint hash='…' setup='…'>…</fingerprint>:
// the hash of the DTLS certificate and the DTLS role.
type Fingerprint struct {
	// Hash names the hash function ("sha-256").
	Hash string
	// Setup is the DTLS role: actpass in an offer, active or passive in an
	// answer.
	Setup Setup
	// Value is the fingerprint, colon-separated hex, surrounding white
	// space removed.
	Value string
}

// Group is the XEP-0338 <group semantics='…'/> of a Jingle element (SDP
// a=group): BUNDLE lists the contents that share one transport.
type Group struct {
	// Semantics is "BUNDLE" (or "LS").
	Semantics string
	// Contents are the names of the grouped contents, in order.
	Contents []string
}
