// Package media runs the audio of one Jingle session: a pion/webrtc
// PeerConnection negotiated through the Jingle contents (by way of
// jingle/sdp), full ICE with candidates trickled one per transport-info,
// DTLS-SRTP with sha-256 fingerprints (the caller actpass, the callee
// active), rtcp-mux, one audio content, G.711 (PCMU first, then PCMA) in
// 20 ms frames.
//
// All the I/O of a call's media lives here: neither the call engine nor
// the Jingle session engine touches a socket. The client glues them: see
// Session for the order of the calls.
//
// Audio goes in through a Source (Tone, WAVReader, or ParseSource for the
// --play flag) and comes out through a Sink (WAVWriter for --record);
// LevelDBFS, ToneLevel and Frequency measure it, for the human output and
// for the tests that check a tone was heard.
//
// Anything from the network may be hostile: RTP packets of a payload type
// that was not negotiated, empty or larger than maxPayload, late or
// repeated are counted (Stats.PacketsDropped) and dropped, never a panic.
package media
