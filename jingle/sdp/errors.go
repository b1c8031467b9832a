package sdp

import "errors"

// Errors returned by the translations; match them with errors.Is. Each is
// wrapped with the detail that names the problem.
var (
	// ErrNoContents: a Jingle element or an SDP without any content that
	// can be translated.
	ErrNoContents = errors.New("jingle/sdp: no content to translate")
	// ErrUnsupportedContent: a content that is not an RTP session over
	// ICE-UDP (no RTP description, no ICE-UDP transport, a media other
	// than audio and video).
	ErrUnsupportedContent = errors.New("jingle/sdp: content is not RTP over ICE-UDP")
	// ErrBadName: a content name that cannot be an SDP mid: empty, longer
	// than MaxMidLength, or with white space or a character outside RFC
	// 4566's token.
	ErrBadName = errors.New("jingle/sdp: content name cannot be an SDP mid")
	// ErrDuplicateName: two contents of the same name.
	ErrDuplicateName = errors.New("jingle/sdp: two contents of the same name")
	// ErrNoCredentials: a transport without a usable ICE ufrag or pwd.
	ErrNoCredentials = errors.New("jingle/sdp: no ICE ufrag or pwd")
	// ErrNoFingerprint: a transport without a usable DTLS fingerprint;
	// pion does DTLS-SRTP only.
	ErrNoFingerprint = errors.New("jingle/sdp: no DTLS fingerprint")
	// ErrNoPayloadTypes: a description none of whose payload types can be
	// written as an rtpmap.
	ErrNoPayloadTypes = errors.New("jingle/sdp: no usable payload type")
	// ErrMalformedSDP: text that pion/sdp cannot parse.
	ErrMalformedSDP = errors.New("jingle/sdp: malformed SDP")
	// ErrBadCandidate: a candidate line or element that does not follow
	// RFC 8839 §5.1 or XEP-0176 §5.1, or with a value that cannot cross.
	ErrBadCandidate = errors.New("jingle/sdp: malformed candidate")
	// ErrUnusedCandidate: a well-formed candidate that pion does not use:
	// component other than 1 (RTCP, with rtcp-mux always on) or a
	// protocol other than UDP.
	ErrUnusedCandidate = errors.New("jingle/sdp: candidate not used")
)
