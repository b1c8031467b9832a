// Package sdp translates between Jingle RTP sessions (XEP-0166, XEP-0167,
// XEP-0176, XEP-0320, XEP-0338, XEP-0339, XEP-0293, XEP-0294) and the SDP of
// a WebRTC stack, pion/webrtc v4, the way deployed clients (Conversations,
// Monal, Dino) translate them, so that a call placed through XEP-0353 can
// carry media.
//
// FromJingle turns the contents of a session-initiate (or session-accept)
// into an SDP offer (or answer) for PeerConnection.SetRemoteDescription;
// ToJingle turns the SDP that pion produced (CreateOffer, CreateAnswer) into
// the contents and group of the session-initiate (or session-accept) to
// send. CandidateFromJingle and CandidateToJingle translate one ICE candidate
// of a transport-info to and from an SDP "candidate:" line.
//
// # The shape of the SDP
//
// One m-line per content: "m=audio 9 UDP/TLS/RTP/SAVPF" with the payload
// types in the Jingle's order, the content name as a=mid, and at the media
// level everything of the transport (a=ice-ufrag, a=ice-pwd, a=fingerprint,
// a=setup). a=rtcp-mux is always written: pion multiplexes RTP and RTCP
// only. A BUNDLE group is written as the Jingle's <group/> says, or made up
// of every content when the Jingle has none (Dino sends none): to an offer
// without it pion answers with port 0 in every m-line.
//
// # Who sends: the author of a description
//
// A Jingle content says who sends media as the session's parties see it
// (senders='initiator'), an SDP says it from its author's side (a=sendonly).
// Both FromJingle and ToJingle therefore take the Party whose description
// it is: the initiator for a session-initiate, the responder for a
// session-accept (XEP-0167 §4).
//
// # What does not cross
//
// On the way to SDP: candidates of component 2 (Dino sends RTP and RTCP
// candidates; with rtcp-mux only component 1 is used) and candidates over
// anything but UDP (Monal may send tcp) are dropped, as are the SRTP-SDES
// <encryption/> (pion does DTLS-SRTP only) and children that SDP has no line
// for. On the way back: what Jingle cannot carry (a=cryptex, a=rtcp-rsize,
// the media-level a=msid and the session's a=msid-semantic that pion
// writes, m-lines that are not RTP such as a data channel) and the
// candidates of the SDP, which are trickled one by one in transport-info
// instead. The session-level a=fingerprint of pion's SDP goes into the
// transport of every content, where Conversations requires it. Each drop
// is reported in the result's Dropped, for the caller to log.
//
// Values are normalised on the way in both directions: white space around
// a value is removed, runs of white space inside a free-text value become
// one space, and a value that must be one token (a codec name, a ufrag, a
// fingerprint, a parameter) but holds white space or a control character is
// refused or dropped. A stray space in one SDP line made libwebrtc reject a
// whole call in the field; a line break in a Jingle attribute must never
// become a line of SDP.
//
// The package does no I/O: it builds and parses text with pion/sdp.
package sdp
