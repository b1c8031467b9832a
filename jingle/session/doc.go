// Package session is the engine of the XEP-0166 Jingle session that follows
// a XEP-0353 Jingle Message Initiation call: the life of each session of one
// device as a deterministic state machine, beside the JMI engine (package
// call) and built the same way.
//
// # The model
//
// A Machine does no I/O, reads no clock and draws no random numbers. Its
// owner feeds it Inputs, each with the current time, and carries out the
// Effects it returns, in order:
//
//	effects, err := m.Handle(now, input)
//
// Inputs are a Jingle IQ set received (IQReceived, with its raw addresses,
// id and type and the decoded jingle.Jingle), the answer to an IQ set it
// sent (ReplyReceived), what the JMI engine decided about the call
// (CallAnswered, CallEnded), the local side's Initiate, Accept, Terminate and
// LocalCandidates, Resumed when the connection is back, and Tick. Effects are SendIQ (a result, an error with its
// XEP-0166 condition, or a Jingle IQ set), StartMedia and MediaAnswered (the
// remote offer or answer for the media layer), AddRemoteCandidates,
// StopMedia, FinishCall (end the JMI call) and Ignored (for the log).
// NextDeadline says when the next Tick is due. Handle returns an error only
// for local misuse; bad input from the network is answered with an IQ error.
//
// # A session's life
//
// XEP-0166 §5 draws pending, active and ended; before pending there is the
// answered call (StateAwaiting):
//
//	awaiting -> session-initiate (initiator sends, responder acks) -> pending
//	pending  -> session-accept (responder sends, initiator acks)   -> active
//	any      -> session-terminate (either side), CallEnded          -> ended
//
// A session exists only for a JMI call answered with this device
// (CallAnswered with Self this device), so at most one per call on each side,
// on the devices in the call. Its sid is the propose id. The device that
// proposed is the initiator: it sends session-initiate to the full JID that
// proceeded (XEP-0353 §3.6); the device that answered is the responder and
// expects it from the full JID that proposed. An ended session is forgotten
// at once: whatever comes later for its sid is an unknown session.
//
// # Who may send what, and the answers (XEP-0166 §6, §7, §10)
//
//   - Any action for a sid with no session here, or from anyone but the
//     session's peer device (another device of the peer included: initiator
//     and sid identify a session, §7.1): item-not-found with
//     <unknown-session/>. A session-initiate too, when the call was not
//     answered here (or not yet, or elsewhere): jmi starts no Jingle call
//     without JMI.
//   - session-initiate on the device that proposed (both sides initiating):
//     conflict with <tie-break/> (§7.2.16); JMI already settled who
//     initiates. A second one: unexpected-request with <out-of-order/>.
//   - session-initiate or session-accept without contents, with a content
//     lacking an RTP description or an ICE-UDP transport, with senders
//     none, naming a content the offer lacks, or with media other than the
//     propose's (exactly one content per medium): bad-request (§6.3.2), and
//     the session and the call end.
//   - session-accept on the responder, before the initiate or twice;
//     transport-info to the initiator before it initiated; content-accept,
//     content-reject, transport-accept, transport-reject (answers to what
//     jmi never sends): out-of-order.
//   - session-info: acknowledged when empty or with XEP-0167 payloads,
//     unsupported-info otherwise. content-add: acknowledged, then
//     content-reject (a call carries its proposed media only);
//     transport-replace: acknowledged, then transport-reject. Other actions:
//     feature-not-implemented.
//
// # Early transport-info
//
// Candidates cannot be used before the remote description (pion's
// AddICECandidate fails before SetRemoteDescription): on the responder
// before the session-initiate, on the initiator before the session-accept.
// XEP-0166 §6.2 would answer <unknown-session/>, but Conversations and Monal
// keep such transport-info and replay it, and so does the Machine: it
// acknowledges and keeps up to Config.MaxEarlyTransportInfo of them per
// session (32 by default; Conversations trickles one candidate per
// transport-info and gathers about ten), refuses more with
// resource-constraint (type wait), and hands them over right after
// StartMedia or MediaAnswered. Only candidates of component 1 over UDP are
// handed over (Dino sends component 2, Monal TCP; jmi multiplexes RTCP over
// UDP).
//
// # session-terminate and JMI finish, both ways
//
// Conversations and Dino hang up only with session-terminate, and Dino sends
// no <finish/>; Monal turns a received session-terminate into a <finish/>.
// So a received session-terminate ends the JMI call (FinishCall), and a JMI
// call that ends (CallEnded: finished, withdrawn, timed out) terminates its
// session. Terminate does both. A session that fails ends its call too: a
// session-initiate or session-accept refused or not answered within
// Config.IQTimeout (60 s: Monal acknowledges a session-initiate only once
// its WebRTC stack has answered, so the wait must be generous), or any IQ
// answered with unknown-session or with the server's word that the peer's
// device is gone (service-unavailable, recipient-unavailable).
//
// # What a lost connection loses
//
// Dino's hang-up is a session-terminate and nothing else, and an IQ in
// flight when a connection drops is lost, unlike a message, which the
// archive keeps. Two rules, both found by the simulator, keep such a call
// from staying up for the 24 hours of XEP-0353 §5: a session whose
// session-initiate has not come within Config.IQTimeout of the answer ends
// its call (the initiator's offer, likewise), and after a reconnection
// (Resumed) every session under way pings its peer with an empty
// session-info (XEP-0166 §6.8), which a peer that no longer knows it answers
// with unknown-session.
//
// # Migration and crossed calls
//
// A call that moves (XEP-0353 §4.2) ends with a finish naming its successor,
// and the successor is a new call with a new propose: the old session is
// terminated with <alternative-session/> naming the new sid (CallEnded with
// MigratedTo), and the new call gets its own session, initiated by the
// device that proposed it. The session moves with the call. A crossed call
// (§4.1) is the same on a smaller scale: the call that lost the tie-break
// never gets a session (or loses the one it had, with <alternative-session/>
// naming the winner), the surviving call gets one. When two devices of the
// callee answered at once, the JMI engine moves the call to the lower full
// JID; CallAnswered with the new Remote terminates the session with the
// other and awaits one with it.
package session
