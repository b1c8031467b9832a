package jingle

import "errors"

// Limits on what a decoder accepts. They bound the memory one hostile stanza
// can take; no deployed client comes near them (Conversations' audio and
// video offer has about 30 payload types, a transport-info one candidate).
const (
	// MaxSIDLength is the longest sid, IQ id or content name accepted, in
	// bytes.
	MaxSIDLength = 1024
	// MaxContents is the most <content/> children of a <jingle/>.
	MaxContents = 16
	// MaxPayloadTypes is the most <payload-type/> children of a description.
	MaxPayloadTypes = 128
	// MaxCandidates is the most <candidate/> children of a transport.
	MaxCandidates = 64
	// MaxItems is the most children of any other repeated kind in one
	// parent: parameters, rtcp-fb, rtp-hdrext, sources, source groups and
	// their members, grouped contents, kept unknown elements.
	MaxItems = 64
	// MaxDepth is the deepest nesting of elements accepted, counted from
	// the <iq/>.
	MaxDepth = 32
	// MaxTokens is the most XML tokens one stanza may consist of.
	MaxTokens = 32768
	// MaxStanzaSize is the largest input Parse and ReadIQ accept, in bytes:
	// Prosody's default stanza size limit.
	MaxStanzaSize = 256 << 10
)

// Errors returned by the decoders and encoders; match them with errors.Is.
// Each is wrapped with the detail that names the problem.
var (
	// ErrNoJingle: the input holds no <jingle/> element where one is
	// needed (an iq set or get), or the root is neither an <iq/> nor a
	// <jingle/>.
	ErrNoJingle = errors.New("jingle: no Jingle element")
	// ErrMultipleJingle: an IQ carries more than one <jingle/>.
	ErrMultipleJingle = errors.New("jingle: more than one Jingle element in an IQ")
	// ErrMissingSID: a <jingle/> without a sid, or with an empty one.
	ErrMissingSID = errors.New("jingle: missing or empty sid")
	// ErrMissingAction: a <jingle/> without an action, or with an empty one.
	ErrMissingAction = errors.New("jingle: missing or empty action")
	// ErrUnknownAction: an action that XEP-0166 §7.2 does not define.
	ErrUnknownAction = errors.New("jingle: unknown action")
	// ErrTooLong: a sid, id or name longer than MaxSIDLength.
	ErrTooLong = errors.New("jingle: value too long")
	// ErrBadIQ: an <iq/> whose type is missing or not one of get, set,
	// result and error, or a set without a payload.
	ErrBadIQ = errors.New("jingle: invalid IQ")
	// ErrBadAddress: a from, to, initiator or responder attribute that is
	// not a valid JID.
	ErrBadAddress = errors.New("jingle: invalid address")
	// ErrBadContent: a <content/> without a name, or with a creator or
	// senders value that XEP-0166 does not define.
	ErrBadContent = errors.New("jingle: invalid content")
	// ErrBadPayloadType: a <payload-type/> whose id is missing or outside
	// 0–127, or whose clockrate, channels, ptime or maxptime is not a
	// number in range.
	ErrBadPayloadType = errors.New("jingle: invalid payload type")
	// ErrBadCandidate: a <candidate/> that lacks a required attribute
	// (component, foundation, ip, port, priority, protocol, type) or has
	// a number out of range or an unknown type.
	ErrBadCandidate = errors.New("jingle: invalid candidate")
	// ErrBadPort: a port or rel-port outside 0–65535.
	ErrBadPort = errors.New("jingle: port out of range")
	// ErrBadSetup: a fingerprint setup other than actpass, active, passive
	// and holdconn.
	ErrBadSetup = errors.New("jingle: invalid DTLS setup")
	// ErrBadFingerprint: a fingerprint without hash or value.
	ErrBadFingerprint = errors.New("jingle: invalid fingerprint")
	// ErrBadElement: an rtp-hdrext, rtcp-fb, source, source group, group or
	// parameter without a required attribute or with a number out of range.
	ErrBadElement = errors.New("jingle: invalid element")
	// ErrTooManyContents: more than MaxContents contents.
	ErrTooManyContents = errors.New("jingle: too many contents")
	// ErrTooManyPayloadTypes: more than MaxPayloadTypes payload types in a
	// description.
	ErrTooManyPayloadTypes = errors.New("jingle: too many payload types")
	// ErrTooManyCandidates: more than MaxCandidates candidates in a
	// transport.
	ErrTooManyCandidates = errors.New("jingle: too many candidates")
	// ErrTooManyItems: more than MaxItems children of another kind.
	ErrTooManyItems = errors.New("jingle: too many elements")
	// ErrTooLarge: the input exceeds MaxStanzaSize, MaxDepth or MaxTokens.
	ErrTooLarge = errors.New("jingle: input too large")
	// ErrMalformed: the input is not well-formed XML.
	ErrMalformed = errors.New("jingle: malformed XML")
	// ErrNotXMLText: a value to write is not valid UTF-8 or holds a
	// character XML cannot carry (RFC 6120 §11.6; XML 1.0 §2.2), which the
	// encoder would otherwise replace and the reader would then see changed.
	ErrNotXMLText = errors.New("jingle: value is not XML text")
	// ErrDTD: the input holds a DTD, an entity declaration or another
	// directive, which XMPP forbids (RFC 6120 §11.1).
	ErrDTD = errors.New("jingle: DTD or entity declaration not allowed")
)
