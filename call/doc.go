// Package call is the engine of XEP-0353 Jingle Message Initiation: the
// behaviour of every call of one device (an account and a resource) as a
// deterministic state machine.
//
// # The model
//
// A Machine does no I/O, reads no clock and draws no random numbers. Its
// owner (package client, or a test) feeds it Inputs, each with the current
// time, and carries out the Effects it returns, in order:
//
//	effects, err := m.Handle(now, input)
//
// Inputs are a Signal (a JMI element seen by this device, with its message's
// from and to, how it arrived — live, sent or received carbon, archive,
// offline storage — and its original time), a user action (UserPropose,
// UserProceed, UserReject, UserRetract, UserFinish), CatchUpStarted and
// CatchUpEnded around an archive catch-up, Tick when time has passed, and
// Bounced when a message this device sent came back as an error.
// Effects are Send (a JMI element to put in a chat message with a <store/>
// hint), SendPresence (directed presence) and Notify (an Event for the
// application). NextDeadline says when the next Tick is due. The same inputs
// always give the same effects; Handle returns an error only for local
// misuse, such as answering a call that does not ring. Bad input from the
// network never changes state: it is answered with an EventIgnored that says
// why, in words (Reason) and as a class to count and branch on (Ignored: an
// unknown call, the wrong party, a session id reused, a state that does not
// allow it, a lost tie-break, malformed input), for the client to log, except what the limits on untrusted calls
// drop, which is counted into one summary (see Limits below).
//
// Session ids come in with the inputs: the client makes them (UUIDv4, as
// §3.1 recommends).
//
// # The rules
//
// Addressing (§3.1–§3.7, version 0.8.0): propose and retract go to the
// callee's bare JID; ringing, proceed and reject to the initiator's full JID;
// finish to the other party's full JID. Config.BareJIDResponses sends them
// to bare JIDs as versions 0.6 and 0.7 did. With every proceed goes the
// legacy <accept/> to our own bare JID, so that Dino and Tigase on our other
// devices stop ringing (Config.NoLegacyAccept turns it off); both forms are
// understood on receipt.
//
// Ring everywhere, answer once (§3.2, §3.4, §3.5): a propose rings on every
// device; the proceed or reject of one device reaches the others by carbon
// (or as <accept/>) and they stop ringing, reporting the call answered or
// declined elsewhere (Event.Elsewhere). The caller's other devices learn of
// the call from the sent carbon and never ring for it.
//
// Privacy (§6): nothing is sent in answer to a propose unless the caller is
// trusted (Signal.Trusted, from the roster by default) or the user acts. An
// untrusted call is recorded silently (StatePending, no event) and, when its
// ring window ends, reported as missed with the reason "untrusted". Directed
// presence follows a proceed only when presence is not already shared.
//
// Limits (§6): anyone can send proposes, so untrusted calls are bounded:
// at most Config.MaxUntrustedPerPeer per sender (DefaultMaxUntrustedPerPeer,
// 16) and Config.MaxUntrusted in all (DefaultMaxUntrusted, 1024) are
// remembered, pending or ended. At a limit the oldest that ended is
// forgotten first; when none has, the new propose is dropped: not stored,
// no effect. What was dropped is summed up in one EventIgnored with Count,
// at most one per RingWindow, for the client to log once and record once.
// Calls from trusted callers never count, so a flood cannot crowd them out,
// and memory stays within about 1 KiB per call of the limits.
//
// Catch-up (§3.3, §5): nothing rings and nothing is answered automatically
// during catch-up. When it ends, a propose with no retract, finish, proceed
// or reject is still active: it rings if it is within the ring window of its
// original time and is otherwise reported missed ("stale"). Signals may come
// in any order, and the same message live, by carbon and from the archive
// has one effect.
//
// Crossed calls (§4.1): TieBreak decides, comparing ids bytewise (i;octet),
// never as UUIDs, then bare JIDs. The device that receives the lower id
// retracts its own call with <tie-break/> and <expired/> and then proceeds
// the received one by itself: its user already asked for a call with this
// peer. The retracted event names the surviving call in MigratedTo. The device that receives the higher id rejects it the same way.
// Other devices of the account leave the decision to the device that
// proposed. Calling back a peer whose call already rings on this device is
// the same crossing seen in the other order, and is resolved the same way
// at once: whichever order the proposes meet in, the lower id survives.
//
// Migration (§4.2): a propose from a party with whom this device is in an
// answered call finishes the old call with <expired/> and <migrated to/>,
// then proceeds the new one without ringing.
//
// Who may say what: a retract only from the caller's account, ringing,
// proceed and reject only from the callee's account (or our own, for
// "elsewhere"), finish only from a party; a propose reusing the id of a call
// with another peer is ignored; a sent carbon must come from our account.
//
// Strangers' noise: a call is recorded (its events reach the application)
// only once its propose was seen or a device of this account acted on it.
// Signals of this account may come first (a sent carbon of another device's
// answer when we missed the propose, the legacy <accept/>): they make the
// call at once. Someone else's proceed, reject or retract for an id this
// device does not know is ignored with a reason, except where it may
// legitimately come before the propose: the callee's answer to a call
// another device of ours placed, seen by received carbon, in the archive or
// to our bare JID before the sent carbon of the propose; a caller's retract
// during catch-up, before the archive gives its propose. Such a call is kept
// silently, its events held until the propose is seen or our account acts,
// and counts as untrusted until then; if neither happens it is forgotten
// with nothing told.
//
// Finish (§3.7): both sides send finish, success by default; the other
// side's finish ends the call on every device, and the device in the call
// answers with its own. Hanging up at the moment the other side does is
// success: UserFinish on a call this device was in that the other side's
// finish has just ended returns nil and sends nothing more. A device that
// finds its own answer in the archive after a restart was in the call: it
// may hang it up, and answers the other side's finish.
//
// Errors: a message of type error is never a signal (the spec has no
// element for "not delivered"). The bounce of the propose of a call placed
// here, or of the proceed of a call answered here, ends it on this device as
// failed: EventFinished with Failed set, never answered, the stanza error
// condition as its reason.
//
// # When messages cross
//
// The multi-device simulator (internal/sim) found that devices disagreed
// when messages crossed in flight. These rules make every device of both
// accounts reach the same outcome whatever the delivery order:
//   - an answer beats a decline that crossed it (two devices of the callee
//     deciding at once); two answers yield to the lower full JID;
//   - the caller's withdrawal beats an answer it never saw;
//   - a finish means the call happened, even when seen before its proceed;
//   - a tie-break beats an answer that crossed it.
//
// # Time
//
// DefaultRingTimeout (45 s) is how long the caller waits before it withdraws
// with <timeout/>: Monal's caller gives up 45 s after ringing, Conversations'
// callee after 30 s, Dino after 30 s; 45 s lets a person find the phone.
// DefaultRingWindow (60 s) is how long a device rings, counted from the
// propose's original time; longer than the caller's timeout so that the
// caller's retract, not a local guess, normally ends the ringing, and it is
// also the freshness limit for proposes found in catch-up (Monal ignores
// delayed proposes older than 60 s). DefaultSessionTimeout (24 h, the
// example of §5) ends an answered call with no finish from either side, and
// is how long an ended call is remembered so that late copies of its
// messages have no effect; then it is forgotten, which bounds memory (about
// 700 bytes per remembered call).
//
// # Cost
//
// Every input costs O(log n) in the number of calls remembered: deadlines
// are kept in heaps, and the calls a propose from a peer must look at (one
// of ours that waits for that peer's answer or is in a call with it, §4.1
// and §4.2) and those a call to a peer crosses (the peer's call ringing
// here) in heaps per peer, ordered by start. A Tick or the end of a
// catch-up costs O(k log n) for the k calls it decides.
package call
