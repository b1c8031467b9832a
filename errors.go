package jmi

import "errors"

// Limits on what a decoder accepts. They bound the memory one hostile stanza
// can take; no deployed client comes near them.
const (
	// MaxIDLength is the longest id attribute accepted, in bytes. UUIDs have
	// 36 bytes and Conversations' ids 22.
	MaxIDLength = 1024
	// MaxDescriptions is the most <description/> children a propose may
	// carry: one per media type, and there are few.
	MaxDescriptions = 16
	// MaxDepth is the deepest nesting of elements accepted inside a JMI
	// element (a propose's description and its payload types need 3).
	MaxDepth = 32
	// MaxTokens is the most XML tokens a JMI element may consist of.
	MaxTokens = 8192
	// MaxStanzaSize is the largest input Parse and ReadMessage accept, in
	// bytes.
	MaxStanzaSize = 64 << 10
	// MaxMediaLength is the longest media attribute of a description
	// accepted, in bytes: "audio", "video", "application" and their kin are
	// short.
	MaxMediaLength = 32
)

// Errors returned by the decoders; match them with errors.Is. Each is wrapped
// with the detail that names the problem.
var (
	// ErrNoElement: the input holds no JMI element.
	ErrNoElement = errors.New("jmi: no JMI element")
	// ErrMultipleElements: a message carries more than one JMI element, so
	// its meaning is ambiguous.
	ErrMultipleElements = errors.New("jmi: more than one JMI element in a message")
	// ErrUnknownElement: an element in the JMI namespace that the protocol
	// does not define.
	ErrUnknownElement = errors.New("jmi: unknown JMI element")
	// ErrMissingID: the element has no id attribute, or an empty one.
	ErrMissingID = errors.New("jmi: missing or empty id")
	// ErrIDTooLong: the id is longer than MaxIDLength bytes.
	ErrIDTooLong = errors.New("jmi: id too long")
	// ErrNoDescription: a propose without any <description/> (XEP-0353 §3.1
	// requires one per media type).
	ErrNoDescription = errors.New("jmi: propose without a description")
	// ErrTooManyDescriptions: a propose with more than MaxDescriptions.
	ErrTooManyDescriptions = errors.New("jmi: too many descriptions")
	// ErrMalformed: the input is not well-formed XML.
	ErrMalformed = errors.New("jmi: malformed XML")
	// ErrDTD: the input holds a DTD, an entity declaration or another
	// directive, which XMPP forbids (RFC 6120 §11.1).
	ErrDTD = errors.New("jmi: DTD or entity declaration not allowed")
	// ErrTooLarge: the input exceeds MaxStanzaSize, MaxDepth or MaxTokens.
	ErrTooLarge = errors.New("jmi: input too large")
	// ErrBadAddress: a from or to attribute is not a valid JID.
	ErrBadAddress = errors.New("jmi: invalid address")
	// ErrBadMedia: a description's media attribute is not a media type:
	// XEP-0167 takes it from SDP, where it is a token (RFC 4566 §9:
	// printable ASCII without spaces and without "(),/:;<=>?@[\]), of at
	// most MaxMediaLength bytes. What else it holds (a newline, an escape
	// sequence) would only reach a person's terminal or call history. The
	// encoders refuse such a media too.
	ErrBadMedia = errors.New("jmi: media is not a token")
)

// ErrNotXMLText is returned by the encoders (TokenReader, Marshal, Wrap,
// MarshalMessage) for a value that is not valid UTF-8 or holds a character
// XML cannot carry (RFC 6120 §11.6; XML 1.0 §2.2): encoding/xml would write
// U+FFFD instead, and the peer would read another id than the call's, or
// another reason text.
var ErrNotXMLText = errors.New("jmi: value is not XML text")
